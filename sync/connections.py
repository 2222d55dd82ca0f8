"""Which companies are connected, and in what state (state.sqlite ``qbo_connections``)."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from oodaloo.config import Settings
from sync import statedb

CONNECTED = "connected"
RECONNECT_NEEDED = "reconnect_needed"


@dataclass(frozen=True)
class Company:
    realm_id: str
    name: str | None
    state: str  # connected | reconnect_needed
    last_error: str | None
    last_error_kind: str | None = None
    last_attempt_at: str | None = None
    connected_at: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def list_companies(settings: Settings) -> list[Company]:
    """Every company we hold a connection for, ordered by name then realm."""
    with statedb.connect(settings) as con:
        rows = con.execute(
            "SELECT realm_id, name, state, last_error, last_error_kind, last_attempt_at, "
            "connected_at "
            "FROM qbo_connections ORDER BY coalesce(name, realm_id), realm_id"
        ).fetchall()
    return [Company(*row) for row in rows]


def get_company(settings: Settings, realm_id: str) -> Company | None:
    return next((c for c in list_companies(settings) if c.realm_id == realm_id), None)


def connected_realm_ids(settings: Settings) -> list[str]:
    return [c.realm_id for c in list_companies(settings) if c.state == CONNECTED]


def mark_connected(
    settings: Settings,
    realm_id: str,
    name: str | None = None,
    con: sqlite3.Connection | None = None,
) -> None:
    sql = (
        "INSERT INTO qbo_connections(realm_id, name, state, connected_at, updated_at) "
        "VALUES (?,?,?,?,?)\n"
        "             ON CONFLICT(realm_id) DO UPDATE SET "
        "name=coalesce(excluded.name, qbo_connections.name),\n"
        "               state=excluded.state, last_error=NULL, last_error_kind=NULL, "
        "connected_at=excluded.connected_at,\n"
        "               updated_at=excluded.updated_at"
    )
    args = (realm_id, name, CONNECTED, _now(), _now())
    if con is not None:
        con.execute(sql, args)
        return
    with statedb.immediate(settings) as own:
        own.execute(sql, args)


def mark_reconnect_needed(
    settings: Settings, realm_id: str, reason: str, con: sqlite3.Connection | None = None
) -> None:
    """The refresh token is dead: only this company stops; the others carry on."""
    sql = (
        "INSERT INTO qbo_connections(realm_id, state, last_error, last_error_kind, updated_at) "
        "VALUES (?,?,?,?,?)\n"
        "             ON CONFLICT(realm_id) DO UPDATE SET state=excluded.state, "
        "last_error=excluded.last_error,\n"
        "               last_error_kind=excluded.last_error_kind, updated_at=excluded.updated_at"
    )
    args = (realm_id, RECONNECT_NEEDED, reason, "reauth", _now())
    if con is not None:
        con.execute(sql, args)
        return
    with statedb.immediate(settings) as own:
        own.execute(sql, args)


def record_attempt(settings: Settings, realm_id: str, error: str | None, kind: str | None) -> None:
    """After each sync attempt: clear or set the last error.

    Transient errors mean 'unreachable'."""
    with statedb.immediate(settings) as con:
        con.execute(
            "UPDATE qbo_connections SET last_error=?, last_error_kind=?, last_attempt_at=?, "
            "updated_at=? "
            "WHERE realm_id=? AND (state=? OR ? IS NOT NULL)",
            (error, kind, _now(), _now(), realm_id, CONNECTED, error),
        )


def set_name(settings: Settings, realm_id: str, name: str) -> None:
    with statedb.immediate(settings) as con:
        con.execute("UPDATE qbo_connections SET name=? WHERE realm_id=?", (name, realm_id))
