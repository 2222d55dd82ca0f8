"""Sync requests ("Sync now", a follow-up after an action): stored in state.sqlite, never
blocking the caller; drained by the scheduler or the app's background worker."""

from __future__ import annotations

from datetime import UTC, datetime

from oodaloo.config import Settings
from sync import statedb


def _now() -> str:
    return datetime.now(UTC).isoformat()


def request_sync(settings: Settings, realm_id: str, reason: str = "") -> int:
    """Queue a sync of one company; returns its id.

    Duplicates of a still-pending request collapse."""
    if not realm_id:
        raise ValueError("realm_id is required")
    with statedb.immediate(settings) as con:
        row = con.execute(
            "SELECT request_id FROM sync_requests WHERE realm_id=? AND taken_at IS NULL",
            (realm_id,),
        ).fetchone()
        if row:
            return int(row[0])
        cur = con.execute(
            "INSERT INTO sync_requests(realm_id, reason, requested_at) VALUES (?,?,?)",
            (realm_id, reason, _now()),
        )
        return int(cur.lastrowid or 0)


def pending_requests(settings: Settings) -> list[dict[str, object]]:
    with statedb.connect(settings) as con:
        rows = con.execute(
            "SELECT request_id, realm_id, reason, requested_at FROM sync_requests "
            "WHERE taken_at IS NULL ORDER BY request_id"
        ).fetchall()
    return [
        dict(zip(("request_id", "realm_id", "reason", "requested_at"), r, strict=True))
        for r in rows
    ]


def take_requests(settings: Settings) -> list[tuple[int, str]]:
    """Claim every pending request (atomically, so two drainers never take the same one)."""
    with statedb.immediate(settings) as con:
        rows = con.execute(
            "SELECT request_id, realm_id FROM sync_requests "
            "WHERE taken_at IS NULL ORDER BY request_id"
        ).fetchall()
        con.executemany(
            "UPDATE sync_requests SET taken_at=? WHERE request_id=?", [(_now(), r[0]) for r in rows]
        )
    return [(int(r[0]), str(r[1])) for r in rows]


def complete_request(settings: Settings, request_id: int, outcome: str) -> None:
    with statedb.immediate(settings) as con:
        con.execute(
            "UPDATE sync_requests SET done_at=?, outcome=? WHERE request_id=?",
            (_now(), outcome, request_id),
        )


def drain(settings: Settings) -> list[object]:
    """Run the queued syncs (one per company) and record their outcomes."""
    from sync.engine import sync_all

    taken = take_requests(settings)
    if not taken:
        return []
    realms = list(dict.fromkeys(realm for _, realm in taken))
    results = sync_all(settings, realms)
    by_realm = {r.realm_id: r.outcome for r in results}
    for request_id, realm in taken:
        complete_request(settings, request_id, by_realm.get(realm, "skipped"))
    return list(results)
