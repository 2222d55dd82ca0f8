"""The sandbox's own store: one SQLite file (WAL) holding every company's documents, the clock,
OAuth apps/tokens and remembered request ids.

Several processes may open the same file at once (dashboard, scheduler, CLI each embed the
sandbox): every write runs in ``BEGIN IMMEDIATE`` so they serialise, and nothing is cached in
Python that another process could change (the clock is re-read on every call).

``SandboxDB`` is also the generator-facing API (see docs/ARCHITECTURE.md): ``create_company``,
``bulk_insert``, ``set_clock`` / ``now`` / ``advance_clock``, ``register_app``, ``companies``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from sandbox import timeutil
from sandbox.entities import require

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS companies (
    realm_id TEXT PRIMARY KEY, name TEXT NOT NULL, tz TEXT NOT NULL, next_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    realm_id TEXT NOT NULL, entity TEXT NOT NULL, id INTEGER NOT NULL,
    sync_token INTEGER NOT NULL, updated_at REAL NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS docs_key ON docs (realm_id, entity, id);
CREATE INDEX IF NOT EXISTS docs_updated ON docs (realm_id, entity, updated_at);
CREATE TABLE IF NOT EXISTS history (
    realm_id TEXT NOT NULL, entity TEXT NOT NULL, id INTEGER NOT NULL, sync_token INTEGER NOT NULL,
    updated_at REAL NOT NULL, deleted INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (realm_id, entity, id, sync_token));
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, redirect_uris TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, realm_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL, expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL, realm_id TEXT NOT NULL, expires_at REAL NOT NULL,
    superseded_at REAL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS tokens_grant ON tokens (grant_id);
CREATE TABLE IF NOT EXISTS requestids (
    realm_id TEXT NOT NULL, requestid TEXT NOT NULL, created_at REAL NOT NULL,
    status INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (realm_id, requestid));
CREATE TABLE IF NOT EXISTS fault_settings (scope TEXT PRIMARY KEY, settings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fault_scripts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, match TEXT NOT NULL,
    action TEXT NOT NULL, remaining INTEGER NOT NULL, params TEXT NOT NULL);
"""

BULK_CHUNK = 50_000


def _default_clock() -> datetime:
    """The demo's 'today' (from the product settings' default) at 09:00 Pacific."""
    from oodaloo.config import Settings

    today = Settings.model_fields["demo_today"].default
    return datetime(today.year, today.month, today.day, 17, 0, tzinfo=UTC)


def secret_hash(value: str) -> str:
    """Tokens, codes and client secrets are stored only as hashes."""
    return hashlib.sha256(value.encode()).hexdigest()


def dumps(doc: Any) -> str:
    return orjson.dumps(doc).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


class _Pool:
    """Connections shared by threads (one borrower at a time each); closed with the owner."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.idle: list[sqlite3.Connection] = []
        self.lock = threading.Lock()

    def acquire(self) -> sqlite3.Connection:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=60.0
        )
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "PRAGMA cache_size = -65536"
        )  # 64 MB: index inserts of big loads stay in memory
        return conn

    def release(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with self.lock:
            self.idle.append(conn)

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


class SandboxDB:
    """The sandbox's SQLite store. Thread-safe; safe to open from several processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pool = _Pool(self.path)
        self._local = threading.local()
        self._finalizer = weakref.finalize(self, _Pool.close, self._pool)
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)

    def close(self) -> None:
        self._finalizer()

    # ---- connections and transactions --------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        current = getattr(self._local, "conn", None)
        if current is not None:  # nested use inside a transaction of this thread
            yield current
            return
        conn = self._pool.acquire()
        self._local.conn = conn
        try:
            yield conn
        finally:
            self._local.conn = None
            self._pool.release(conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (nested calls join the outer one)."""
        with self._connection() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several statements (joins an open write transaction)."""
        with self._connection() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    # ---- clock -------------------------------------------------------------------------
    def now(self) -> datetime:
        """The sandbox clock (UTC, aware): frozen unless advanced or set to flow."""
        return timeutil.from_epoch(self.now_epoch())

    def now_epoch(self) -> float:
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
        if row is None:
            return _default_clock().timestamp()
        clock = json.loads(row[0])
        if clock.get("flowing"):
            return float(clock["at"]) + (time.time() - float(clock["wall"]))
        return float(clock["at"])

    def set_clock(self, now: datetime, *, flowing: bool = False) -> None:
        """Set the clock; ``flowing=True`` lets it run with real time from this point on."""
        if now.tzinfo is None:
            raise ValueError("set_clock needs an aware datetime (e.g. with tzinfo=timezone.utc)")
        value = {"at": now.timestamp(), "wall": time.time(), "flowing": flowing}
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?)", (json.dumps(value),)
            )

    def advance_clock(self, seconds: float) -> datetime:
        with self.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
            flowing = bool(row and json.loads(row[0]).get("flowing"))
            target = self.now() + timedelta(seconds=seconds)
            self.set_clock(target, flowing=flowing)
        return target

    # ---- companies ---------------------------------------------------------------------
    def create_company(self, realm_id: str, company_info: dict[str, Any]) -> None:
        """Create (or replace the CompanyInfo of) a company; CompanyInfo gets ``Id`` "1"."""
        realm_id = str(realm_id)
        if not realm_id.isdigit():
            raise ValueError(f"realm_id must be a numeric string, got {realm_id!r}")
        name = company_info.get("CompanyName")
        if not name:
            raise ValueError("company_info needs a CompanyName")
        tz = _company_tz(company_info)
        now = self.now_epoch()
        doc = {"domain": "QBO", "sparse": False, "SyncToken": "0", **company_info, "Id": "1"}
        doc.setdefault(
            "MetaData",
            {"CreateTime": timeutil.stamp(now, tz), "LastUpdatedTime": timeutil.stamp(now, tz)},
        )
        with self.write() as conn:
            conn.execute(
                "INSERT INTO companies (realm_id, name, tz, next_id) VALUES (?, ?, ?, 2) "
                "ON CONFLICT (realm_id) DO UPDATE SET name = excluded.name, tz = excluded.tz",
                (realm_id, name, tz),
            )
            self._insert_rows(conn, realm_id, "CompanyInfo", [doc])
            if docstore_get_live(conn, realm_id, "Preferences", "1") is None:
                self._insert_rows(conn, realm_id, "Preferences", [preferences_for(doc)])

    def companies(self) -> list[dict[str, str]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT realm_id, name FROM companies ORDER BY name, realm_id"
            ).fetchall()
        return [{"realm_id": realm_id, "name": name} for realm_id, name in rows]

    def company_tz(self, realm_id: str) -> str | None:
        """The company's time zone name, or None when the realm does not exist."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT tz FROM companies WHERE realm_id = ?", (realm_id,)
            ).fetchone()
        return None if row is None else row[0]

    # ---- documents ---------------------------------------------------------------------
    def bulk_insert(self, realm_id: str, entity: str, docs: Iterable[dict[str, Any]]) -> None:
        """Store complete documents as given (no business rules), in big transactions."""
        entity = require(entity)
        realm_id = str(realm_id)
        if self.company_tz(realm_id) is None:
            raise ValueError(f"unknown realm {realm_id!r}: create_company first")
        chunk: list[dict[str, Any]] = []
        for doc in docs:
            chunk.append(doc)
            if len(chunk) >= BULK_CHUNK:
                self._bulk_chunk(realm_id, entity, chunk)
                chunk = []
        if chunk:
            self._bulk_chunk(realm_id, entity, chunk)

    def _bulk_chunk(self, realm_id: str, entity: str, docs: list[dict[str, Any]]) -> None:
        with self.write() as conn:
            self._insert_rows(conn, realm_id, entity, docs)

    def _insert_rows(
        self, conn: sqlite3.Connection, realm_id: str, entity: str, docs: list[dict[str, Any]]
    ) -> None:
        rows = []
        max_id = 0
        for doc in docs:
            doc_id = _numeric_id(doc)
            max_id = max(max_id, doc_id)
            updated = (doc.get("MetaData") or {}).get("LastUpdatedTime")
            if not updated:
                raise ValueError(f"{entity} {doc_id}: MetaData.LastUpdatedTime is required")
            rows.append(
                (
                    realm_id,
                    entity,
                    doc_id,
                    int(doc.get("SyncToken", 0)),
                    _epoch(updated),
                    dumps(doc),
                )
            )
        conn.executemany(
            "INSERT OR REPLACE INTO docs "
            "(realm_id, entity, id, sync_token, updated_at, deleted, doc) "
            "VALUES (?, ?, ?, ?, ?, 0, ?)",
            rows,
        )
        conn.execute(
            "UPDATE companies SET next_id = max(next_id, ?) WHERE realm_id = ?",
            (max_id + 1, realm_id),
        )

    def allocate_id(self, conn: sqlite3.Connection, realm_id: str) -> str:
        """The next Id of a realm (call inside ``write()``)."""
        row = conn.execute(
            "UPDATE companies SET next_id = next_id + 1 WHERE realm_id = ? RETURNING next_id - 1",
            (realm_id,),
        ).fetchone()
        return str(row[0])

    # ---- OAuth apps --------------------------------------------------------------------
    def register_app(
        self, client_id: str, client_secret: str, redirect_uris: list[str] | None = None
    ) -> None:
        """Register (or update) an OAuth app; loopback redirect URIs are always accepted."""
        if not client_id or not client_secret:
            raise ValueError("register_app needs a non-empty client_id and client_secret")
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO apps (client_id, secret_hash, redirect_uris) "
                "VALUES (?, ?, ?)",
                (client_id, secret_hash(client_secret), json.dumps(list(redirect_uris or []))),
            )


@lru_cache(maxsize=65536)
def _epoch(stamp: str) -> float:
    """Parsed LastUpdatedTime (generated data repeats timestamps a lot, so this is cached)."""
    return timeutil.parse_timestamp(stamp, None)


def _numeric_id(doc: dict[str, Any]) -> int:
    value = doc.get("Id")
    if not isinstance(value, str) or not value.isdigit():
        raise ValueError(f"document Id must be a numeric string, got {value!r}")
    return int(value)


def preferences_for(company_info: dict[str, Any]) -> dict[str, Any]:
    """The company's Preferences document (Id "1"), its currency settings taken from the
    CompanyInfo name-value pairs QBO also shows there (HomeCurrency, MultiCurrencyEnabled)."""
    values = {
        str(pair.get("Name")): pair.get("Value")
        for pair in company_info.get("NameValue") or []
        if isinstance(pair, dict)
    }
    home = str(values.get("HomeCurrency") or "USD")
    multi = str(values.get("MultiCurrencyEnabled") or "false").lower() == "true"
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": multi,
            "HomeCurrency": {"value": home},
        },
        "SalesFormsPrefs": {"ETransactionEnabledStatus": "NotApplicable"},
        "MetaData": dict(company_info["MetaData"]),
    }


def docstore_get_live(
    conn: sqlite3.Connection, realm_id: str, entity: str, doc_id: str
) -> dict[str, Any] | None:
    """A live document by id (the docstore's reader, without importing it: it imports us)."""
    row = conn.execute(
        "SELECT doc FROM docs WHERE realm_id = ? AND entity = ? AND id = ? AND deleted = 0",
        (realm_id, entity, int(doc_id)),
    ).fetchone()
    return None if row is None else loads(row[0])


def _company_tz(company_info: dict[str, Any]) -> str:
    for pair in company_info.get("NameValue") or []:
        if isinstance(pair, dict) and pair.get("Name") == "TimeZone" and pair.get("Value"):
            return str(pair["Value"])
    return timeutil.DEFAULT_TZ
