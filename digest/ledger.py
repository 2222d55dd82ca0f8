"""Which digests exist and who got them: ``digests.sqlite`` under the data directory.

``digests`` has one row per (scope, week), claimed atomically *before* rendering, so a digest is
made once even when two schedulers, a restart and a button race for it. A claim that crashed
mid-way (status ``claimed`` older than ``STALE_CLAIM``) or failed may be claimed again; a made one
never is. ``deliveries`` records the e-mail outcome per digest and recipient. ``firm_settings``
holds the firm-level digest recipients and time zone (company recipients live in runway.settings).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from oodaloo.clock import DEFAULT_TZ
from oodaloo.config import Settings
from oodaloo.sqlite import open_store

STALE_CLAIM = timedelta(minutes=30)
CLAIMED, MADE, FAILED, EARLY = "claimed", "made", "failed", "early"
SENT, SEND_FAILED = "sent", "failed"
FIRM_SCOPE = "firm"

SCHEMA = """
CREATE TABLE IF NOT EXISTS digests (
    scope TEXT NOT NULL,              -- 'firm' or a realm id
    week TEXT NOT NULL,               -- ISO week, 2026-W47
    status TEXT NOT NULL,             -- claimed | made | failed | early
    claimed_at TEXT NOT NULL,
    made_at TEXT,
    data_as_of TEXT,
    pages INTEGER,
    attempts INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    UNIQUE (scope, week)
);
CREATE TABLE IF NOT EXISTS deliveries (
    scope TEXT NOT NULL,
    week TEXT NOT NULL,
    recipient TEXT NOT NULL,
    status TEXT NOT NULL,             -- sent | failed
    attempts INTEGER NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (scope, week, recipient)
);
CREATE TABLE IF NOT EXISTS firm_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class DigestRecord:
    scope: str
    week: str
    status: str
    claimed_at: str
    made_at: str | None
    data_as_of: str | None
    pages: int | None
    attempts: int
    error: str | None


@dataclass(frozen=True)
class Delivery:
    scope: str
    week: str
    recipient: str
    status: str
    attempts: int
    error: str | None
    updated_at: str


def ledger_path(settings: Settings) -> Path:
    return settings.data_dir / "digests.sqlite"


@contextlib.contextmanager
def connect(settings: Settings) -> Iterator[sqlite3.Connection]:
    """A short-lived connection (WAL, synchronous=FULL); commits on success."""
    con = open_store(ledger_path(settings))
    try:
        con.executescript(SCHEMA)
        yield con
    finally:
        con.close()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def claim(settings: Settings, scope: str, week: str, now: datetime, *, early: bool = False) -> bool:
    """Atomically take the right to make (scope, week). False when it is made or being made.

    ``early`` claims a preview made before the Friday cut-off: it is replaced at the cut-off."""
    reclaim_before = _iso(now - STALE_CLAIM)
    with connect(settings) as con:
        con.execute("BEGIN IMMEDIATE")
        row = con.execute(
            "SELECT status, claimed_at FROM digests WHERE scope=? AND week=?", (scope, week)
        ).fetchone()
        if row is None:
            con.execute(
                "INSERT INTO digests (scope, week, status, claimed_at) VALUES (?,?,?,?)",
                (scope, week, CLAIMED, _iso(now)),
            )
            con.execute("COMMIT")
            return True
        status, claimed_at = row
        takeable = status in (FAILED, EARLY) or (status == CLAIMED and claimed_at < reclaim_before)
        if early and status == MADE:
            takeable = False
        if not takeable:
            con.execute("ROLLBACK")
            return False
        con.execute(
            "UPDATE digests SET status=?, claimed_at=?, attempts=attempts+1, error=NULL "
            "WHERE scope=? AND week=?",
            (CLAIMED, _iso(now), scope, week),
        )
        con.execute("COMMIT")
        return True


def mark_made(
    settings: Settings,
    scope: str,
    week: str,
    *,
    made_at: datetime,
    data_as_of: datetime,
    pages: int,
    early: bool = False,
) -> None:
    with connect(settings) as con:
        con.execute(
            "INSERT INTO digests (scope, week, status, claimed_at, made_at, data_as_of, pages) "
            "VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT (scope, week) DO UPDATE SET status=excluded.status, "
            "made_at=excluded.made_at, "
            "data_as_of=excluded.data_as_of, pages=excluded.pages, error=NULL",
            (
                scope,
                week,
                EARLY if early else MADE,
                _iso(made_at),
                _iso(made_at),
                _iso(data_as_of),
                pages,
            ),
        )


def mark_failed(settings: Settings, scope: str, week: str, error: str) -> None:
    with connect(settings) as con:
        con.execute(
            "UPDATE digests SET status=?, error=? WHERE scope=? AND week=?",
            (FAILED, error[:500], scope, week),
        )


def records(settings: Settings, week: str | None = None) -> list[DigestRecord]:
    with connect(settings) as con:
        sql = (
            "SELECT scope, week, status, claimed_at, made_at, data_as_of, pages, attempts, error "
            "FROM digests"
        )
        rows = con.execute(
            sql + (" WHERE week=?" if week else "") + " ORDER BY week DESC, scope",
            (week,) if week else (),
        ).fetchall()
    return [DigestRecord(*row) for row in rows]


def record(settings: Settings, scope: str, week: str) -> DigestRecord | None:
    return next((r for r in records(settings, week) if r.scope == scope), None)


def record_delivery(
    settings: Settings,
    scope: str,
    week: str,
    recipient: str,
    *,
    ok: bool,
    attempts: int,
    error: str | None,
    at: datetime,
) -> None:
    with connect(settings) as con:
        con.execute(
            "INSERT INTO deliveries (scope, week, recipient, status, attempts, error, updated_at) "
            "VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT (scope, week, recipient) DO UPDATE SET status=excluded.status, "
            "attempts=deliveries.attempts+excluded.attempts, error=excluded.error, "
            "updated_at=excluded.updated_at",
            (
                scope,
                week,
                recipient,
                SENT if ok else SEND_FAILED,
                attempts,
                (error or None) and error[:500],
                _iso(at),
            ),
        )


def deliveries(settings: Settings, week: str | None = None) -> list[Delivery]:
    with connect(settings) as con:
        sql = "SELECT scope, week, recipient, status, attempts, error, updated_at FROM deliveries"
        rows = con.execute(
            sql + (" WHERE week=?" if week else "") + " ORDER BY week DESC, scope, recipient",
            (week,) if week else (),
        ).fetchall()
    return [Delivery(*row) for row in rows]


# ---- firm-level settings ------------------------------------------------------------------
def _get(settings: Settings, key: str) -> str | None:
    with connect(settings) as con:
        row = con.execute("SELECT value FROM firm_settings WHERE key=?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _put(settings: Settings, key: str, value: str) -> None:
    with connect(settings) as con:
        con.execute(
            "INSERT INTO firm_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value=excluded.value",
            (key, value),
        )


def firm_recipients(settings: Settings) -> list[str]:
    raw = _get(settings, "recipients")
    return list(json.loads(raw)) if raw else []


def set_firm_recipients(settings: Settings, recipients: list[str]) -> None:
    """Validated like company recipients: each must look like an e-mail address."""
    clean = sorted({r.strip().lower() for r in recipients if r.strip()})
    bad = [r for r in clean if "@" not in r or r.startswith("@") or r.endswith("@") or " " in r]
    if bad:
        raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
    _put(settings, "recipients", json.dumps(clean))


def firm_time_zone(settings: Settings) -> str:
    return _get(settings, "time_zone") or DEFAULT_TZ


def set_firm_time_zone(settings: Settings, tz: str) -> None:
    from digest.weeks import zone

    zone(tz)  # raises a clear error for a bad name
    _put(settings, "time_zone", tz)
