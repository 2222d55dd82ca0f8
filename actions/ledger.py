"""The durable intent ledger (``actions.sqlite``): intents, attempts, audit and the outbox.

SQLite in WAL mode with ``synchronous=FULL``; every state change is one ``BEGIN IMMEDIATE``
transaction, so threads and processes can share the file and a SIGKILL leaves either the old or
the new state. Leases use the wall clock (``lease_clock``) because they detect dead processes;
business timestamps (``qbo_now``) follow QBO's clock, which is what marker searches and the
reminder cooldown compare against.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actions.model import (
    CANCELLED,
    FAILED,
    IN_FLIGHT,
    PENDING,
    SUCCEEDED,
    UNKNOWN,
    Intent,
)
from oodaloo.sqlite import immediate, open_store

BUSY_TIMEOUT_S = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS intents (
    id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    realm_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    params TEXT NOT NULL,
    scope TEXT NOT NULL,
    approval_id TEXT,
    actor TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    requestid TEXT NOT NULL UNIQUE CHECK (length(requestid) <= 36),
    state TEXT NOT NULL CHECK (state IN ('pending','in_flight','unknown',\
'succeeded','failed','cancelled')),
    reason TEXT,
    reason_code TEXT,
    refused INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires REAL,
    not_before REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    phase TEXT,
    guard_snapshot TEXT,
    qbo_entity TEXT,
    qbo_id TEXT,
    result_doc TEXT,
    qbo_since TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    CHECK (state <> 'succeeded' OR (qbo_id IS NOT NULL OR action = 'delay_bill'))
);
CREATE INDEX IF NOT EXISTS intents_state ON intents(state, not_before);
CREATE INDEX IF NOT EXISTS intents_target ON intents(realm_id, target_type, target_id, state);
CREATE TABLE IF NOT EXISTS attempts (
    intent_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    owner TEXT NOT NULL,
    started_at TEXT NOT NULL,
    phase TEXT NOT NULL,
    outcome TEXT,
    error TEXT,
    finished_at TEXT,
    PRIMARY KEY (intent_id, n)
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    intent_id TEXT,
    approval_id TEXT,
    realm_id TEXT,
    actor TEXT,
    correlation_id TEXT,
    event TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_realm ON audit(realm_id, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    intent_id TEXT NOT NULL,
    realm_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    applied_at TEXT,
    tries INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(applied_at, seq);
CREATE TABLE IF NOT EXISTS proposals (
    approval_id TEXT PRIMARY KEY,
    realm_id TEXT NOT NULL,
    requests TEXT NOT NULL,
    cash_out TEXT NOT NULL,
    approvals_needed INTEGER NOT NULL CHECK (approvals_needed >= 1),
    state TEXT NOT NULL CHECK (state IN ('waiting','approved','cancelled')),
    proposed_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX IF NOT EXISTS proposals_waiting ON proposals(realm_id, state);
CREATE TABLE IF NOT EXISTS proposal_votes (
    approval_id TEXT NOT NULL,
    approver TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (approval_id, approver)
);
"""

_COLUMNS = (
    "id, dedupe_key, realm_id, action, target_type, target_id, params, scope, approval_id, actor, "
    "correlation_id, requestid, state, reason, reason_code, refused, lease_owner, lease_expires, "
    "not_before, attempts, phase, guard_snapshot, qbo_entity, qbo_id, result_doc, qbo_since, "
    "created_at, updated_at, finished_at"
)

# Another intent on the same document that may be mid-write: we never run two at once.
_TARGET_FREE = """NOT EXISTS (SELECT 1 FROM intents o WHERE o.realm_id = intents.realm_id
    AND o.target_type = intents.target_type AND o.target_id = intents.target_id \
AND o.id <> intents.id
    AND o.state IN ('in_flight', 'unknown'))"""


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def _row_to_intent(row: Sequence[Any]) -> Intent:
    values = list(row)
    values[6] = _loads(values[6])  # params
    values[15] = bool(values[15])  # refused
    values[21] = _loads(values[21])  # guard_snapshot
    values[24] = _loads(values[24])  # result_doc
    return Intent(*values)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class Ledger:
    """Every durable fact about actions. Safe across threads (a connection per thread) and
    processes."""

    def __init__(
        self,
        path: Path,
        *,
        qbo_now: Callable[[], datetime] | None = None,
        lease_clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.qbo_now = qbo_now or (lambda: datetime.now(UTC))
        self.lease_clock = lease_clock
        self._local = threading.local()
        self._con().executescript(SCHEMA)

    # ---- plumbing -------------------------------------------------------------------------
    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = open_store(self.path, busy_timeout_s=BUSY_TIMEOUT_S)
            self._local.con = con
        return con

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with immediate(self._con()) as con:
            yield con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def now_iso(self) -> str:
        return utc_iso(self.qbo_now())

    def _audit(
        self,
        con: sqlite3.Connection,
        intent: Intent | None,
        event: str,
        detail: dict[str, Any],
        **who: Any,
    ) -> None:
        con.execute(
            "INSERT INTO audit(at, intent_id, approval_id, realm_id, actor, correlation_id, event, "
            "detail) VALUES (?,?,?,?,?,?,?,?)",
            (
                self.now_iso(),
                intent.id if intent else who.get("intent_id"),
                who.get("approval_id", intent.approval_id if intent else None),
                intent.realm_id if intent else who.get("realm_id"),
                who.get("actor", intent.actor if intent else None),
                intent.correlation_id if intent else who.get("correlation_id"),
                event,
                _dumps(detail),
            ),
        )

    def _get(self, con: sqlite3.Connection, intent_id: str) -> Intent | None:
        row = con.execute(f"SELECT {_COLUMNS} FROM intents WHERE id=?", (intent_id,)).fetchone()
        return None if row is None else _row_to_intent(row)

    # ---- reads ----------------------------------------------------------------------------
    def get(self, intent_id: str) -> Intent | None:
        return self._get(self._con(), intent_id)

    def get_by_key(self, key: str) -> Intent | None:
        row = (
            self._con()
            .execute(f"SELECT {_COLUMNS} FROM intents WHERE dedupe_key=?", (key,))
            .fetchone()
        )
        return None if row is None else _row_to_intent(row)

    def list(
        self, realm_id: str | None = None, states: Sequence[str] | None = None
    ) -> list[Intent]:
        sql = f"SELECT {_COLUMNS} FROM intents WHERE (? IS NULL OR realm_id=?)"
        args: list[Any] = [realm_id, realm_id]
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        rows = self._con().execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [_row_to_intent(r) for r in rows]

    def recoverable_ids(self) -> builtins.list[str]:
        """Intents whose last owner died mid-way (expired lease) or whose outcome is unknown."""
        rows = (
            self._con()
            .execute(
                "SELECT id FROM intents WHERE state='unknown' "
                "OR (state='in_flight' AND lease_expires < ?) ORDER BY created_at, id",
                (self.lease_clock(),),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def runnable_ids(self, realm_id: str | None = None, limit: int = 1000) -> builtins.list[str]:
        rows = (
            self._con()
            .execute(
                "SELECT id FROM intents WHERE state='pending' AND not_before <= ? "
                "AND (? IS NULL OR realm_id=?) ORDER BY created_at, id LIMIT ?",
                (self.lease_clock(), realm_id, realm_id, limit),
            )
            .fetchall()
        )
        return [r[0] for r in rows]

    def next_wakeup(self) -> float | None:
        row = (
            self._con()
            .execute("SELECT min(not_before) FROM intents WHERE state='pending'")
            .fetchone()
        )
        return row[0]

    def count_open(self) -> int:
        row = (
            self._con()
            .execute(
                "SELECT count(*) FROM intents WHERE state IN ('pending','in_flight','unknown')"
            )
            .fetchone()
        )
        return int(row[0])

    def last_reminder_at(self, realm_id: str, invoice_id: str, exclude_id: str) -> str | None:
        """When we last reminded this invoice successfully (QBO clock), for the cooldown."""
        row = (
            self._con()
            .execute(
                "SELECT max(finished_at) FROM intents WHERE realm_id=? AND action='send_reminder' "
                "AND target_id=? AND state='succeeded' AND id<>?",
                (realm_id, invoice_id, exclude_id),
            )
            .fetchone()
        )
        return row[0]

    def attempts(self, intent_id: str) -> builtins.list[dict[str, Any]]:
        rows = (
            self._con()
            .execute(
                "SELECT n, owner, started_at, phase, outcome, error, finished_at FROM attempts "
                "WHERE intent_id=? ORDER BY n",
                (intent_id,),
            )
            .fetchall()
        )
        keys = ("n", "owner", "started_at", "phase", "outcome", "error", "finished_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def audit_entries(
        self, realm_id: str | None = None, intent_id: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        rows = (
            self._con()
            .execute(
                "SELECT seq, at, intent_id, approval_id, realm_id, actor, correlation_id, event, "
                "detail FROM audit WHERE (? IS NULL OR realm_id=?) "
                "AND (? IS NULL OR intent_id=?) ORDER BY seq",
                (realm_id, realm_id, intent_id, intent_id),
            )
            .fetchall()
        )
        keys = (
            "seq",
            "at",
            "intent_id",
            "approval_id",
            "realm_id",
            "actor",
            "correlation_id",
            "event",
        )
        return [{**dict(zip(keys, r[:8], strict=True)), "detail": json.loads(r[8])} for r in rows]

    # ---- writes ---------------------------------------------------------------------------
    def insert(
        self,
        *,
        dedupe_key: str,
        realm_id: str,
        action: str,
        target_type: str,
        target_id: str,
        params: dict[str, Any],
        scope: str,
        approval_id: str | None,
        actor: str,
        correlation_id: str,
    ) -> tuple[Intent, bool]:
        """The intent for this key: a new pending one, or the existing one (``created=False``)."""
        intent_id = uuid.uuid4().hex[:20]
        requestid = str(uuid.uuid4())
        now = self.now_iso()
        with self._tx() as con:
            existing = con.execute(
                f"SELECT {_COLUMNS} FROM intents WHERE dedupe_key=?", (dedupe_key,)
            ).fetchone()
            if existing is not None:
                found = _row_to_intent(existing)
                self._audit(
                    con,
                    found,
                    "duplicate_submission",
                    {"approval_id": approval_id},
                    actor=actor,
                    approval_id=approval_id,
                )
                return found, False
            con.execute(
                f"INSERT INTO intents({_COLUMNS}) VALUES ({','.join('?' * 29)})",
                (
                    intent_id,
                    dedupe_key,
                    realm_id,
                    action,
                    target_type,
                    target_id,
                    _dumps(params),
                    scope,
                    approval_id,
                    actor,
                    correlation_id,
                    requestid,
                    PENDING,
                    None,
                    None,
                    0,
                    None,
                    None,
                    0.0,
                    0,
                    None,
                    None,
                    None,
                    None,
                    None,
                    now,
                    now,
                    now,
                    None,
                ),
            )
            intent = self._get(con, intent_id)
            assert intent is not None
            self._audit(
                con,
                intent,
                "submitted",
                {"what": intent.describe(), "params": params, "scope": scope},
            )
        return intent, True

    def claim(self, intent_id: str, owner: str, lease_seconds: float) -> Intent | None:
        """Compare-and-set pending → in_flight with a lease, committed before any network call."""
        now = self.lease_clock()
        with self._tx() as con:
            cur = con.execute(
                "UPDATE intents SET state='in_flight', lease_owner=?, lease_expires=?, "
                "attempts=attempts+1, phase='guard', updated_at=? WHERE id=? AND state='pending' "
                f"AND not_before <= ? AND {_TARGET_FREE}",
                (owner, now + lease_seconds, self.now_iso(), intent_id, now),
            )
            if cur.rowcount != 1:
                return None
            intent = self._get(con, intent_id)
            assert intent is not None
            con.execute(
                "INSERT INTO attempts(intent_id, n, owner, started_at, phase) VALUES (?,?,?,?,?)",
                (intent_id, intent.attempts, owner, self.now_iso(), "guard"),
            )
            self._audit(
                con, intent, "attempt_started", {"attempt": intent.attempts, "owner": owner}
            )
        return intent

    def claim_for_recovery(self, intent_id: str, owner: str, lease_seconds: float) -> Intent | None:
        """Take over an intent whose owner died (expired lease) or whose outcome is unknown."""
        now = self.lease_clock()
        with self._tx() as con:
            before = self._get(con, intent_id)
            cur = con.execute(
                "UPDATE intents SET state='in_flight', lease_owner=?, lease_expires=?, "
                "updated_at=? WHERE id=? "
                "AND (state='unknown' OR (state='in_flight' AND lease_expires < ?))",
                (owner, now + lease_seconds, self.now_iso(), intent_id, now),
            )
            if cur.rowcount != 1 or before is None:
                return None
            intent = self._get(con, intent_id)
            self._audit(
                con,
                intent,
                "recovery_started",
                {
                    "previous_state": before.state,
                    "previous_owner": before.lease_owner,
                    "phase": before.phase,
                    "owner": owner,
                },
            )
        return intent

    def mark_sending(
        self, intent: Intent, owner: str, snapshot: dict[str, Any], lease_seconds: float
    ) -> Intent | None:
        """The guard passed: its snapshot is committed before the write goes out (recovery needs
        it), and the lease is renewed. ``None`` when the lease was lost: the caller must not
        send."""
        with self._tx() as con:
            cur = con.execute(
                "UPDATE intents SET phase='sending', guard_snapshot=?, lease_expires=?, "
                "updated_at=? WHERE id=? AND lease_owner=? AND state='in_flight'",
                (
                    _dumps(snapshot),
                    self.lease_clock() + lease_seconds,
                    self.now_iso(),
                    intent.id,
                    owner,
                ),
            )
            if cur.rowcount != 1:
                return None
            con.execute(
                "UPDATE attempts SET phase='sending' WHERE intent_id=? AND n=?",
                (intent.id, intent.attempts),
            )
            self._audit(con, intent, "sending", {"attempt": intent.attempts, "guard": snapshot})
            fresh = self._get(con, intent.id)
        assert fresh is not None
        return fresh

    def _close_attempt(
        self, con: sqlite3.Connection, intent: Intent, outcome: str, error: str | None
    ) -> None:
        con.execute(
            "UPDATE attempts SET outcome=?, error=?, finished_at=? "
            "WHERE intent_id=? AND n=? AND outcome IS NULL",
            (outcome, error, self.now_iso(), intent.id, intent.attempts),
        )

    def record_success(
        self,
        intent: Intent,
        *,
        qbo_entity: str | None,
        qbo_id: str | None,
        doc: dict[str, Any] | None,
        outbox: Sequence[tuple[str, dict[str, Any]]],
        how: str,
    ) -> Intent:
        """Outcome, QBO ids, the returned document, the audit entry and the outbox: one
        transaction."""
        now = self.now_iso()
        with self._tx() as con:
            current = self._get(con, intent.id)
            if current is None or current.state == SUCCEEDED:
                return current  # type: ignore[return-value]  # None only for an unknown id
            con.execute(
                "UPDATE intents SET state='succeeded', phase='done', qbo_entity=?, qbo_id=?, "
                "result_doc=?, reason=NULL, reason_code=NULL, lease_owner=NULL, "
                "lease_expires=NULL, updated_at=?, finished_at=? WHERE id=?",
                (qbo_entity, qbo_id, _dumps(doc) if doc is not None else None, now, now, intent.id),
            )
            self._close_attempt(con, current, "succeeded", None)
            for kind, payload in outbox:
                con.execute(
                    "INSERT INTO outbox(intent_id, realm_id, kind, payload, created_at) "
                    "VALUES (?,?,?,?,?)",
                    (intent.id, intent.realm_id, kind, _dumps(payload), now),
                )
            self._audit(
                con,
                current,
                "succeeded",
                {
                    "how": how,
                    "qbo_entity": qbo_entity,
                    "qbo_id": qbo_id,
                    "attempt": current.attempts,
                },
            )
            fresh = self._get(con, intent.id)
        assert fresh is not None
        return fresh

    def record_failure(self, intent: Intent, *, reason: str, code: str, refused: bool) -> Intent:
        now = self.now_iso()
        with self._tx() as con:
            con.execute(
                "UPDATE intents SET state='failed', phase='done', reason=?, reason_code=?, "
                "refused=?, lease_owner=NULL, lease_expires=NULL, updated_at=?, finished_at=? "
                "WHERE id=? "
                "AND state IN ('in_flight','pending','unknown')",
                (reason, code, int(refused), now, now, intent.id),
            )
            self._close_attempt(con, intent, "refused" if refused else "failed", reason)
            self._audit(
                con,
                intent,
                "refused" if refused else "failed",
                {"reason": reason, "code": code, "attempt": intent.attempts},
            )
            fresh = self._get(con, intent.id)
        assert fresh is not None
        return fresh

    def release(self, intent: Intent, *, retry_in: float, reason: str, code: str) -> Intent:
        """Back to pending: nothing happened in QBO (proved), try again after ``retry_in``
        seconds."""
        with self._tx() as con:
            con.execute(
                "UPDATE intents SET state='pending', phase=NULL, reason=?, reason_code=?, "
                "lease_owner=NULL, lease_expires=NULL, not_before=?, updated_at=? "
                "WHERE id=? AND state='in_flight'",
                (reason, code, self.lease_clock() + retry_in, self.now_iso(), intent.id),
            )
            self._close_attempt(con, intent, "retry", reason)
            self._audit(
                con,
                intent,
                "retry_scheduled",
                {"reason": reason, "code": code, "in_seconds": retry_in},
            )
            fresh = self._get(con, intent.id)
        assert fresh is not None
        return fresh

    def mark_unknown(self, intent: Intent, *, reason: str) -> Intent:
        """The write may or may not have happened; reconciliation decides."""
        with self._tx() as con:
            con.execute(
                "UPDATE intents SET state='unknown', reason=?, reason_code='unknown', "
                "lease_owner=NULL, lease_expires=NULL, updated_at=? "
                "WHERE id=? AND state='in_flight'",
                (reason, self.now_iso(), intent.id),
            )
            self._close_attempt(con, intent, "unknown", reason)
            self._audit(
                con, intent, "outcome_unknown", {"reason": reason, "attempt": intent.attempts}
            )
            fresh = self._get(con, intent.id)
        assert fresh is not None
        return fresh

    def cancel(self, intent_id: str, actor: str) -> Intent | None:
        with self._tx() as con:
            cur = con.execute(
                "UPDATE intents SET state='cancelled', reason='cancelled by ' || ?, "
                "reason_code='cancelled', updated_at=?, finished_at=? "
                "WHERE id=? AND state='pending'",
                (actor, self.now_iso(), self.now_iso(), intent_id),
            )
            intent = self._get(con, intent_id)
            if cur.rowcount == 1 and intent is not None:
                self._audit(con, intent, "cancelled", {}, actor=actor)
        return intent

    def audit(self, intent: Intent, event: str, detail: dict[str, Any]) -> None:
        with self._tx() as con:
            self._audit(con, intent, event, detail)

    # ---- proposals: a selection waiting for its approvers ---------------------------------
    def propose(
        self,
        approval_id: str,
        realm_id: str,
        requests: Sequence[dict[str, Any]],
        cash_out: str,
        approvals_needed: int,
        proposed_by: str,
    ) -> dict[str, Any]:
        """Record a selection submitted for approval (the same approval id twice is the same
        proposal: the first one's requests stand)."""
        with self._tx() as con:
            inserted = con.execute(
                "INSERT OR IGNORE INTO proposals(approval_id, realm_id, requests, cash_out, "
                "approvals_needed, state, proposed_by, created_at) "
                "VALUES (?,?,?,?,?,'waiting',?,?)",
                (
                    approval_id,
                    realm_id,
                    _dumps(list(requests)),
                    cash_out,
                    approvals_needed,
                    proposed_by,
                    self.now_iso(),
                ),
            ).rowcount
            if inserted:
                self._audit(
                    con,
                    None,
                    "submitted_for_approval",
                    {
                        "requests": len(requests),
                        "cash_out": cash_out,
                        "approvals_needed": approvals_needed,
                    },
                    approval_id=approval_id,
                    realm_id=realm_id,
                    actor=proposed_by,
                    correlation_id=approval_id,
                )
        found = self.proposal(approval_id)
        assert found is not None
        return found

    def vote(self, approval_id: str, approver: str) -> dict[str, Any]:
        """Record one approver's approval (once per person) and, when enough distinct approvers
        agree, mark the proposal approved, in one transaction. Returns the proposal."""
        with self._tx() as con:
            row = con.execute(
                "SELECT realm_id, approvals_needed, state FROM proposals WHERE approval_id=?",
                (approval_id,),
            ).fetchone()
            if row is None:
                raise KeyError(approval_id)
            if row[2] == "waiting":
                added = con.execute(
                    "INSERT OR IGNORE INTO proposal_votes(approval_id, approver, at) "
                    "VALUES (?,?,?)",
                    (approval_id, approver, self.now_iso()),
                ).rowcount
                votes = con.execute(
                    "SELECT count(*) FROM proposal_votes WHERE approval_id=?", (approval_id,)
                ).fetchone()[0]
                if added:
                    self._audit(
                        con,
                        None,
                        "approval_given",
                        {"approvals": votes, "approvals_needed": row[1]},
                        approval_id=approval_id,
                        realm_id=row[0],
                        actor=approver,
                        correlation_id=approval_id,
                    )
                if votes >= row[1]:
                    con.execute(
                        "UPDATE proposals SET state='approved', decided_at=? WHERE approval_id=?",
                        (self.now_iso(), approval_id),
                    )
        found = self.proposal(approval_id)
        assert found is not None
        return found

    def proposal(self, approval_id: str) -> dict[str, Any] | None:
        con = self._con()
        row = con.execute(
            "SELECT approval_id, realm_id, requests, cash_out, approvals_needed, state, "
            "proposed_by, created_at, decided_at FROM proposals WHERE approval_id=?",
            (approval_id,),
        ).fetchone()
        if row is None:
            return None
        approvers = [
            r[0]
            for r in con.execute(
                "SELECT approver FROM proposal_votes WHERE approval_id=? ORDER BY at, approver",
                (approval_id,),
            )
        ]
        keys = (
            "approval_id",
            "realm_id",
            "requests",
            "cash_out",
            "approvals_needed",
            "state",
            "proposed_by",
            "created_at",
            "decided_at",
        )
        found = dict(zip(keys, row, strict=True))
        found["requests"] = json.loads(found["requests"])
        found["approvers"] = approvers
        return found

    def proposals(
        self, realm_id: str | None = None, state: str | None = "waiting"
    ) -> builtins.list[dict[str, Any]]:
        ids = [
            r[0]
            for r in self._con().execute(
                "SELECT approval_id FROM proposals WHERE (? IS NULL OR realm_id=?) "
                "AND (? IS NULL OR state=?) ORDER BY created_at, approval_id",
                (realm_id, realm_id, state, state),
            )
        ]
        return [p for p in (self.proposal(i) for i in ids) if p is not None]

    # ---- outbox ---------------------------------------------------------------------------
    def pending_outbox(
        self, intent_id: str | None = None, limit: int = 500
    ) -> builtins.list[dict[str, Any]]:
        rows = (
            self._con()
            .execute(
                "SELECT seq, intent_id, realm_id, kind, payload, tries FROM outbox "
                "WHERE applied_at IS NULL AND (? IS NULL OR intent_id=?) ORDER BY seq LIMIT ?",
                (intent_id, intent_id, limit),
            )
            .fetchall()
        )
        keys = ("seq", "intent_id", "realm_id", "kind", "payload", "tries")
        return [{**dict(zip(keys, r, strict=True)), "payload": json.loads(r[4])} for r in rows]

    def outbox_done_many(self, seqs: Sequence[int]) -> int:
        """Mark applied (one transaction); rows another applier already marked are not counted
        (the work is idempotent, so doing it twice is harmless)."""
        if not seqs:
            return 0
        with self._tx() as con:
            now = self.now_iso()
            return sum(
                con.execute(
                    "UPDATE outbox SET applied_at=? WHERE seq=? AND applied_at IS NULL", (now, seq)
                ).rowcount
                for seq in seqs
            )

    def outbox_failed(self, seq: int, error: str) -> None:
        with self._tx() as con:
            con.execute(
                "UPDATE outbox SET tries=tries+1, last_error=? WHERE seq=?", (error[:500], seq)
            )

    def outbox_rows(self, intent_id: str) -> builtins.list[dict[str, Any]]:
        rows = (
            self._con()
            .execute(
                "SELECT seq, kind, applied_at, tries FROM outbox WHERE intent_id=? ORDER BY seq",
                (intent_id,),
            )
            .fetchall()
        )
        return [dict(zip(("seq", "kind", "applied_at", "tries"), r, strict=True)) for r in rows]


__all__ = ["Ledger", "PENDING", "IN_FLIGHT", "UNKNOWN", "SUCCEEDED", "FAILED", "CANCELLED"]
