"""The exactly-once executor: claim → guard → send → record, with recovery of abandoned intents.

Failure classification (see docs/actions.md):
  * guard refused / QBO validation fault        → failed (refused / failed), nothing written
  * stale SyncToken on the write                → re-guard once, then failed
  * 429 (throttled) on the write, any fault before the write → pending again with backoff
    (QBO did nothing), the same requestid next time
  * timeout / 5xx / dropped answer on the write → unknown → reconciled at once: the marker found
    → succeeded; positively absent → pending with backoff (resend with the same requestid)
  * re-authentication needed                    → failed (refused: reconnect needed)
  * a crash anywhere                            → the lease expires; ``recover()`` reconciles first.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from actions.guards import Refusal
from actions.handlers import HANDLERS, Context, Sent
from actions.ledger import Ledger
from actions.model import PENDING, UNKNOWN, Intent
from sync.errors import (
    NotFoundError,
    PermanentError,
    QBOError,
    ReauthRequired,
    StaleObjectError,
    ThrottledError,
    TransientError,
)

log = logging.getLogger(__name__)

Hook = Callable[[Intent], None]


def default_backoff(attempt: int) -> float:
    """Seconds before trying an intent again after a fault that proved nothing was written."""
    return min(2.0 ** max(attempt - 1, 0), 300.0)


def fast_backoff(attempt: int) -> float:
    return 0.0


@dataclass
class ExecutorHooks:
    """Test seams at the phase boundaries (a crash or a pause is injected here)."""

    after_claim: Hook | None = None
    before_send: Hook | None = None
    after_send: Hook | None = None


@dataclass
class ExecutorConfig:
    # Longer than the slowest single write can take in the client (retries capped at 180 s plus a
    # 60 s throttle pause), so a live executor never loses its lease mid-send.
    lease_seconds: float = 300.0
    max_attempts: int = 8
    backoff: Callable[[int], float] = default_backoff
    hooks: ExecutorHooks = field(default_factory=ExecutorHooks)


class Executor:
    """Runs intents from the ledger. Many executors (threads, processes) may run at once."""

    def __init__(
        self,
        ledger: Ledger,
        ctx: Context,
        *,
        connection_state: Callable[[str], str | None] = lambda realm: None,
        apply_outbox: Callable[[str], None] = lambda intent_id: None,
        config: ExecutorConfig | None = None,
    ) -> None:
        self.ledger = ledger
        self.ctx = ctx
        self.connection_state = connection_state
        self.apply_outbox = apply_outbox
        self.config = config or ExecutorConfig()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # ---- the loop -------------------------------------------------------------------------
    def recover(self) -> list[Intent]:
        """Reconcile every abandoned (expired lease) or unknown intent. Run before new work."""
        done = []
        for intent_id in self.ledger.recoverable_ids():
            intent = self.ledger.claim_for_recovery(
                intent_id, self.owner, self.config.lease_seconds
            )
            if intent is not None:
                done.append(self._reconcile(intent))
        return done

    def run_pending(self, realm_id: str | None = None, max_rounds: int = 1000) -> int:
        """Recover, then execute every runnable pending intent; returns how many were attempted."""
        count = 0
        for _ in range(max_rounds):
            self.recover()
            ids = self.ledger.runnable_ids(realm_id)
            ran = 0
            for intent_id in ids:
                if self.execute(intent_id) is not None:
                    ran += 1
            count += ran
            if ran == 0:
                break
        return count

    def execute(self, intent_id: str) -> Intent | None:
        """Claim and run one intent; ``None`` when someone else holds it (or it is not runnable)."""
        intent = self.ledger.claim(intent_id, self.owner, self.config.lease_seconds)
        if intent is None:
            return None
        self._hook("after_claim", intent)
        return self._run_claimed(intent, restaled=False)

    # ---- one attempt ----------------------------------------------------------------------
    def _run_claimed(self, intent: Intent, *, restaled: bool) -> Intent:
        handler = HANDLERS[intent.action]
        if self.connection_state(intent.realm_id) == "reconnect_needed":
            return self._refuse(
                intent, "reconnect_needed", "company needs to be reconnected to QuickBooks"
            )
        try:
            snapshot = handler.guard(self.ctx, intent)
        except Refusal as refusal:
            return self._refuse(intent, refusal.code, refusal.message)
        except NotFoundError:
            return self._refuse(
                intent,
                "deleted",
                f"{intent.target_type.lower()} {intent.target_id} "
                "no longer exists in QuickBooks (deleted)",
            )
        except ReauthRequired:
            return self._refuse(
                intent, "reconnect_needed", "company needs to be reconnected to QuickBooks"
            )
        except (TransientError, PermanentError) as exc:  # nothing written yet
            return self._retry_or_fail(intent, exc)
        sending = self.ledger.mark_sending(intent, self.owner, snapshot, self.config.lease_seconds)
        if sending is None:  # our lease ran out and another executor took over: it decides
            return self.ledger.get(intent.id)  # type: ignore[return-value]  # the intent exists
        intent = sending
        self._hook("before_send", intent)
        try:
            sent = handler.send(self.ctx, intent, snapshot)
        except StaleObjectError as exc:
            if restaled:
                return self.ledger.record_failure(
                    intent, reason=f"document keeps changing: {exc}", code="stale", refused=False
                )
            self.ledger.audit(intent, "stale_sync_token", {"error": str(exc)})
            return self._run_claimed(intent, restaled=True)
        except ThrottledError as exc:  # a 429 is an answer: QBO did not do it
            return self._retry_or_fail(intent, exc)
        except TransientError as exc:
            self.ledger.mark_unknown(intent, reason=f"no answer from QuickBooks: {exc}")
            return self._reconcile_now(intent.id)
        except ReauthRequired:
            return self._refuse(
                intent, "reconnect_needed", "company needs to be reconnected to QuickBooks"
            )
        except PermanentError as exc:
            return self.ledger.record_failure(
                intent, reason=f"QuickBooks rejected it: {exc}", code="rejected", refused=False
            )
        self._hook("after_send", intent)
        return self._record(intent, sent, how="sent")

    def _record(self, intent: Intent, sent: Sent, how: str) -> Intent:
        done = self.ledger.record_success(
            intent,
            qbo_entity=sent.qbo_entity,
            qbo_id=sent.qbo_id,
            doc=sent.doc,
            outbox=sent.outbox,
            how=how,
        )
        try:
            self.apply_outbox(intent.id)
        except Exception as exc:  # the outbox row stays; the next applier run retries it
            log.warning("outbox for intent %s not applied yet: %s", intent.id, exc)
        return done

    def _refuse(self, intent: Intent, code: str, message: str) -> Intent:
        return self.ledger.record_failure(intent, reason=message, code=code, refused=True)

    def _retry_or_fail(self, intent: Intent, exc: QBOError) -> Intent:
        if not isinstance(exc, TransientError):
            return self.ledger.record_failure(
                intent, reason=f"QuickBooks rejected it: {exc}", code="rejected", refused=False
            )
        if intent.attempts >= self.config.max_attempts:
            return self.ledger.record_failure(
                intent,
                reason=f"gave up after {intent.attempts} attempts, nothing was written: {exc}",
                code="gave_up",
                refused=False,
            )
        code = "throttled" if isinstance(exc, ThrottledError) else "transient"
        return self.ledger.release(
            intent, retry_in=self.config.backoff(intent.attempts), reason=str(exc), code=code
        )

    # ---- reconciliation -------------------------------------------------------------------
    def _reconcile_now(self, intent_id: str) -> Intent:
        intent = self.ledger.claim_for_recovery(intent_id, self.owner, self.config.lease_seconds)
        if intent is None:
            return self.ledger.get(intent_id)  # type: ignore[return-value]  # the intent exists
        return self._reconcile(intent)

    def _reconcile(self, intent: Intent) -> Intent:
        """Look for the intent's effect in QBO; found → succeeded, proved absent → back to
        pending."""
        if intent.phase != "sending":
            # The owner died before anything was sent: try again (same requestid).
            if intent.attempts >= self.config.max_attempts:
                return self.ledger.record_failure(
                    intent,
                    reason=f"gave up after {intent.attempts} attempts, nothing was written",
                    code="gave_up",
                    refused=False,
                )
            return self.ledger.release(
                intent,
                retry_in=0.0,
                reason="previous attempt stopped before sending",
                code="abandoned",
            )
        try:
            found = HANDLERS[intent.action].find_effect(self.ctx, intent)
        except QBOError as exc:
            return self.ledger.mark_unknown(intent, reason=f"could not check QuickBooks yet: {exc}")
        if found is not None:
            return self._record(intent, found, how="reconciled (marker found)")
        self.ledger.audit(intent, "reconciled_absent", {"marker": intent.marker})
        return self._retry_or_fail(
            intent, TransientError("the earlier attempt left no trace in QuickBooks")
        )

    def _hook(self, name: str, intent: Intent) -> None:
        hook = getattr(self.config.hooks, name)
        if hook is not None:
            hook(intent)


__all__ = [
    "Executor",
    "ExecutorConfig",
    "ExecutorHooks",
    "PENDING",
    "UNKNOWN",
    "fast_backoff",
    "default_backoff",
]
