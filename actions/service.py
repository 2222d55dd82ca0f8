"""The Python API the console pages and the CLI use: submit, approve, status, list, audit,
reconcile.

    svc = ActionService(settings)
    svc.submit_pay_bill(realm_id, bill_id, amount=None, account_id=None, pay_date=None, actor="ana")
    svc.approve([PayBill(...), SendReminder(...), {"action": "delay_bill", ...}], actor="ana",
                on_progress=lambda done, total, result: ...)

Every submission goes through the ledger (one intent per dedupe key), then the executor.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from actions.clickguard import ClickGuard
from actions.executor import Executor, ExecutorConfig
from actions.guards import Refusal
from actions.handlers import Context, default_bank_account
from actions.ledger import Ledger
from actions.messages import result_for
from actions.model import (
    TERMINAL,
    ActionRequest,
    ActionResult,
    ApplyCredit,
    DelayBill,
    Intent,
    InvalidRequest,
    PayBill,
    SendReminder,
    dedupe_key,
    request_from_mapping,
    target_of,
)
from actions.outbox import OutboxApplier
from actions.port import ClientPort, QBOPort
from oodaloo.config import Settings
from oodaloo.timezone import DEFAULT_TZ

ProgressCallback = Callable[[int, int, ActionResult], None]


class QBOClock:
    """QBO's notion of now (the sandbox clock in demos and tests) as an offset to the wall clock,
    refreshed at the start of each public operation rather than on every use."""

    def __init__(self, settings: Settings, source: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.source = source
        self.offset = 0.0
        self.refresh()

    def refresh(self) -> None:
        if self.source is not None:
            now = self.source()
        else:
            from oodaloo.clock import now as product_now

            now = product_now(self.settings)
        self.offset = now.timestamp() - time.time()

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset, tz=UTC)


class ActionService:
    """One per process or per page session; thread-safe for concurrent submissions."""

    def __init__(
        self,
        settings: Settings,
        *,
        port: QBOPort | None = None,
        client: Any = None,
        executor_config: ExecutorConfig | None = None,
        qbo_clock: Callable[[], datetime] | None = None,
        click_ttl_seconds: float = 10.0,
    ) -> None:
        self.settings = settings
        self._own_client = None
        if port is None:
            if client is None:
                from sync.client import QBOClient

                client = self._own_client = QBOClient(settings)
            port = ClientPort(client)
        self.port = port
        self.clock = QBOClock(settings, qbo_clock)
        self.ledger = Ledger(settings.actions_path, qbo_now=self.clock)
        self.outbox = OutboxApplier(settings, self.ledger, port, now=self.clock)
        self.ctx = Context(
            port=port,
            ledger=self.ledger,
            qbo_now=self.clock,
            cooldown_days=self._cooldown_days,
            main_bank_account=self._main_bank_account,
        )
        self.executor = Executor(
            self.ledger,
            self.ctx,
            connection_state=self._connection_state,
            apply_outbox=self._apply_outbox_inline,
            config=executor_config,
        )
        self.clicks = ClickGuard(settings.cache_dir, click_ttl_seconds)
        self._accounts: dict[str, str] = {}
        self._lock = threading.Lock()
        self._recovered = False
        self.outbox_inline = True  # False: leave derived work to reconcile() (bulk loads, tests)
        self._batching = False

    def _apply_outbox_inline(self, intent_id: str) -> None:
        if self.outbox_inline and not self._batching:
            self.outbox.apply(intent_id)

    def close(self) -> None:
        self.clicks.close()
        self.ledger.close()
        if self._own_client is not None:
            self._own_client.close()

    def __enter__(self) -> ActionService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- company facts --------------------------------------------------------------------
    def _connection_state(self, realm_id: str) -> str | None:
        from sync.connections import get_company

        company = get_company(self.settings, realm_id)
        return None if company is None else company.state

    def _cooldown_days(self, realm_id: str) -> int:
        from runway.settings import get_company_settings

        return int(get_company_settings(self.settings, realm_id).reminder_cooldown_days)

    def _today(self, realm_id: str) -> date:
        tz = DEFAULT_TZ
        try:
            from runway.settings import get_company_settings

            tz = get_company_settings(self.settings, realm_id).time_zone or DEFAULT_TZ
        except Exception:  # settings unreadable: the default zone is a safe choice for a date
            pass
        return self.clock().astimezone(ZoneInfo(tz)).date()

    def _main_bank_account(self, realm_id: str) -> str:
        with self._lock:
            cached = self._accounts.get(realm_id)
        if cached:
            return cached
        home_of = getattr(self.port, "home_currency", None)  # test ports may not know it
        home = home_of(realm_id) if callable(home_of) else None
        account = default_bank_account(self.port.accounts(realm_id), home)
        if account is None:
            raise Refusal(
                "no_bank_account",
                f"company {realm_id} has no active bank account (give one with --account)",
            )
        with self._lock:
            self._accounts[realm_id] = account
        return account

    # ---- submission -----------------------------------------------------------------------
    def _resolve(self, request: ActionRequest) -> tuple[ActionRequest, str]:
        """Normalise, fill date defaults and pick the scope (see actions.model for the key)."""
        request = request.normalised()
        if isinstance(request, PayBill):
            if request.pay_date is None:
                request = replace(request, pay_date=self._today(request.realm_id))
            return request, request.scope or request.pay_date.isoformat()  # type: ignore[union-attr]  # set above
        if isinstance(request, DelayBill):
            return request, request.scope or request.until.isoformat()
        return request, request.scope or self._today(request.realm_id).isoformat()

    def _params(self, request: ActionRequest) -> dict[str, Any]:
        if isinstance(request, PayBill):
            return {
                "amount": None if request.amount is None else str(request.amount),
                "approved_amount": None
                if request.approved_amount is None
                else str(request.approved_amount),
                # None: the main bank account, resolved by the guard
                "account_id": request.account_id,
                "pay_date": request.pay_date.isoformat() if request.pay_date else None,
                # set only to pay a likely duplicate: the guard audits it with the twin's id
                **({"override_reason": request.override_reason} if request.override_reason else {}),
            }
        if isinstance(request, DelayBill):
            return {"until": request.until.isoformat(), "note": request.note}
        if isinstance(request, ApplyCredit):
            return {
                "credit_type": request.credit_type,
                "credit_id": request.credit_id,
                "amount": None if request.amount is None else str(request.amount),
            }
        return {"send_to": request.send_to}

    def record(
        self,
        request: ActionRequest | dict[str, Any],
        *,
        actor: str,
        approval_id: str | None = None,
        correlation_id: str | None = None,
    ) -> tuple[Intent, bool]:
        """The durable intent for a request (created, or the existing one for the same key)."""
        if isinstance(request, dict):
            request = request_from_mapping(request)
        if not actor:
            raise InvalidRequest("actor is required (who approved this)")
        request, scope = self._resolve(request)
        key = dedupe_key(request, scope)
        if not self.clicks.first(key):
            existing = self._wait_for_key(key, seconds=2.0)
            if existing is not None:
                self.ledger.audit(
                    existing, "duplicate_click", {"actor": actor, "approval_id": approval_id}
                )
                return existing, False
        existing = self.ledger.get_by_key(key)
        if existing is not None:
            self.ledger.audit(
                existing, "duplicate_submission", {"actor": actor, "approval_id": approval_id}
            )
            return existing, False
        target_type, target_id = target_of(request)
        return self.ledger.insert(
            dedupe_key=key,
            realm_id=request.realm_id,
            action=request.action,
            target_type=target_type,
            target_id=target_id,
            params=self._params(request),
            scope=scope,
            approval_id=approval_id,
            actor=actor,
            correlation_id=correlation_id or uuid.uuid4().hex,
        )

    def _wait_for_key(self, key: str, seconds: float) -> Intent | None:
        deadline = time.monotonic() + seconds
        while True:
            found = self.ledger.get_by_key(key)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def _drive(self, intent: Intent, *, created: bool) -> ActionResult:
        """Run the intent if it is runnable; report what happened from this caller's view."""
        ran = None
        if not intent.terminal:
            self._recover_once()
            ran = self.executor.execute(intent.id)
        final = ran or self.ledger.get(intent.id) or intent
        return result_for(final, executed_here=ran is not None, duplicate=not created)

    def submit(
        self,
        request: ActionRequest | dict[str, Any],
        *,
        actor: str,
        execute: bool = True,
        approval_id: str | None = None,
    ) -> ActionResult:
        self.clock.refresh()
        intent, created = self.record(request, actor=actor, approval_id=approval_id)
        if not execute:
            return result_for(intent, executed_here=False, duplicate=not created)
        return self._drive(intent, created=created)

    def submit_pay_bill(
        self,
        realm_id: str,
        bill_id: str,
        *,
        amount: Decimal | str | None = None,
        account_id: str | None = None,
        pay_date: date | str | None = None,
        approved_amount: Decimal | str | None = None,
        actor: str,
        execute: bool = True,
        override_reason: str | None = None,
    ) -> ActionResult:
        return self.submit(
            PayBill(
                realm_id,
                bill_id,
                amount,  # type: ignore[arg-type]  # normalised by PayBill
                account_id,
                pay_date,  # type: ignore[arg-type]  # None: today, filled in by submit
                approved_amount,  # type: ignore[arg-type]  # normalised by PayBill
                override_reason=override_reason,
            ),
            actor=actor,
            execute=execute,
        )

    def submit_delay_bill(
        self,
        realm_id: str,
        bill_id: str,
        *,
        until: date | str,
        note: str | None = None,
        actor: str,
        execute: bool = True,
    ) -> ActionResult:
        return self.submit(DelayBill(realm_id, bill_id, until, note), actor=actor, execute=execute)  # type: ignore[arg-type]  # normalised by DelayBill

    def submit_reminder(
        self,
        realm_id: str,
        invoice_id: str,
        *,
        send_to: str | None = None,
        actor: str,
        execute: bool = True,
    ) -> ActionResult:
        return self.submit(
            SendReminder(realm_id, invoice_id, send_to), actor=actor, execute=execute
        )

    def submit_apply_credit(
        self,
        realm_id: str,
        invoice_id: str,
        *,
        credit_type: str,
        credit_id: str,
        amount: Decimal | str | None = None,
        actor: str,
        execute: bool = True,
    ) -> ActionResult:
        """Apply a customer's unapplied payment or open credit memo to its open invoice (once)."""
        return self.submit(
            ApplyCredit(realm_id, invoice_id, credit_type, credit_id, amount),  # type: ignore[arg-type]  # normalised
            actor=actor,
            execute=execute,
        )

    def approve(
        self,
        selection: Sequence[ActionRequest | dict[str, Any]],
        actor: str,
        on_progress: ProgressCallback | None = None,
        approval_id: str | None = None,
    ) -> list[ActionResult]:
        """Approve tray items at once: one approval id, every intent recorded first (so a crash
        mid-way loses nothing), then executed one by one with a progress callback.

        ``approval_id``: the caller's id for this approval (the console derives it from the
        selection), recorded on each new intent and in the audit; a random one when omitted."""
        self.clock.refresh()
        if approval_id is not None and not str(approval_id).strip():
            raise InvalidRequest("approval_id must be a non-empty string when given")
        approval_id = (
            str(approval_id).strip() if approval_id is not None else "apr_" + uuid.uuid4().hex[:16]
        )
        recorded: list[tuple[Intent, bool] | ActionResult] = []
        for item in selection:
            try:
                recorded.append(
                    self.record(
                        item, actor=actor, approval_id=approval_id, correlation_id=approval_id
                    )
                )
            except InvalidRequest as exc:
                recorded.append(_invalid(item, str(exc), approval_id))
        self._recover_once(force=True)
        results: list[ActionResult] = []
        inline, self._batching = self.outbox_inline, True
        try:
            for entry in recorded:
                result = (
                    entry
                    if isinstance(entry, ActionResult)
                    else self._drive(entry[0], created=entry[1])
                )
                results.append(result)
                if on_progress is not None:
                    on_progress(len(results), len(recorded), result)
        finally:
            self._batching = False
            if inline:  # one warehouse write per company and entity for the whole approval
                self.outbox.apply()
        return results

    # ---- approvals by role ----------------------------------------------------------------
    def approve_as(
        self,
        identity: Any,
        selection: Sequence[ActionRequest | dict[str, Any]],
        *,
        approval_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[ActionResult]:
        """The console's approval, with roles (``oodaloo.auth``): a preparer's selection is
        recorded and waits; an approver's approval counts once per person; when the payments
        exceed the company's threshold a second, different approver is needed. Only then do the
        actions run, recorded with the approvers' identities as actor. A viewer (or anyone
        without a role in the company) is refused with AccessDenied before anything is stored."""
        from oodaloo import auth

        requests = [_as_mapping(item) for item in selection]
        if not requests:
            raise InvalidRequest("nothing selected to approve")
        realms = {str(r.get("realm_id") or "") for r in requests}
        if len(realms) != 1 or "" in realms:
            raise InvalidRequest("an approval covers exactly one company")
        realm_id = realms.pop()
        auth.require(self.settings, identity, "prepare", realm_id)
        cash_out, unknown = _cash_out(requests)
        needed = 2 if unknown else auth.approvers_needed(self.settings, realm_id, cash_out)
        approval_id = str(approval_id).strip() if approval_id else "apr_" + uuid.uuid4().hex[:16]
        proposal = self.ledger.propose(
            approval_id, realm_id, requests, str(cash_out), needed, identity.actor
        )
        if proposal["state"] == "cancelled":
            raise InvalidRequest(f"approval {approval_id} was cancelled")
        if proposal["state"] == "waiting" and auth.can(
            self.settings, identity, "approve", realm_id
        ):
            proposal = self.ledger.vote(approval_id, identity.actor)
        return self._run_if_approved(proposal, on_progress)

    def approve_proposal(
        self,
        identity: Any,
        approval_id: str,
        on_progress: ProgressCallback | None = None,
    ) -> list[ActionResult]:
        """An approver approves a selection someone submitted (runs it once enough agree)."""
        from oodaloo import auth

        proposal = self.ledger.proposal(approval_id)
        if proposal is None:
            raise InvalidRequest(f"no approval with id {approval_id!r}")
        auth.require(self.settings, identity, "approve", proposal["realm_id"])
        if proposal["state"] == "waiting":
            proposal = self.ledger.vote(approval_id, identity.actor)
        return self._run_if_approved(proposal, on_progress)

    def waiting_approvals(self, realm_id: str | None = None) -> list[dict[str, Any]]:
        """Selections submitted and not yet approved by enough approvers."""
        return self.ledger.proposals(realm_id, "waiting")

    def _run_if_approved(
        self, proposal: dict[str, Any], on_progress: ProgressCallback | None
    ) -> list[ActionResult]:
        if proposal["state"] != "approved":
            have, need = len(proposal["approvers"]), int(proposal["approvals_needed"])
            who = ", ".join(proposal["approvers"]) or "nobody yet"
            second = " (above the company's threshold: two different approvers)" if need > 1 else ""
            message = f"waiting for approval: {have} of {need}{second}; approved by {who}"
            return [
                ActionResult(
                    intent_id="",
                    realm_id=proposal["realm_id"],
                    action=str(r.get("action") or ""),
                    target_id=str(r.get("bill_id") or r.get("invoice_id") or ""),
                    state="waiting",
                    outcome="waiting_for_approval",
                    message=message,
                    approval_id=proposal["approval_id"],
                )
                for r in proposal["requests"]
            ]
        actor = ", ".join(proposal["approvers"])
        return self.approve(
            proposal["requests"],
            actor=actor,
            on_progress=on_progress,
            approval_id=proposal["approval_id"],
        )

    def cancel(self, intent_id: str, actor: str) -> ActionResult:
        intent = self.ledger.cancel(intent_id, actor)
        if intent is None:
            raise InvalidRequest(f"no action with id {intent_id!r}")
        return result_for(intent, executed_here=False, duplicate=True)

    # ---- reading --------------------------------------------------------------------------
    def status(self, intent_id: str) -> dict[str, Any]:
        intent = self.ledger.get(intent_id)
        if intent is None:
            raise InvalidRequest(f"no action with id {intent_id!r}")
        return {
            **intent_dict(intent),
            "attempt_log": self.ledger.attempts(intent_id),
            "outbox": self.ledger.outbox_rows(intent_id),
            "result": result_for(intent, executed_here=False, duplicate=True).as_dict(),
        }

    def list_intents(self, realm_id: str | None = None) -> list[dict[str, Any]]:
        return [intent_dict(i) for i in self.ledger.list(realm_id)]

    def audit(
        self, realm_id: str | None = None, intent_id: str | None = None
    ) -> list[dict[str, Any]]:
        return self.ledger.audit_entries(realm_id, intent_id)

    # ---- recovery -------------------------------------------------------------------------
    def _recover_once(self, force: bool = False) -> None:
        if force or not self._recovered:
            self.executor.recover()
            self._recovered = True

    def reconcile(self, *, drain_seconds: float = 0.0) -> dict[str, int]:
        """Recover abandoned/unknown intents, run what is due (waiting up to ``drain_seconds``
        for backoffs), apply the outbox; returns counts by state."""
        self.clock.refresh()
        deadline = time.monotonic() + drain_seconds
        while True:
            self.executor.run_pending()
            wake = self.ledger.next_wakeup()
            if wake is None or time.monotonic() >= deadline:
                break
            time.sleep(
                max(0.05, min(wake - self.ledger.lease_clock(), deadline - time.monotonic(), 1.0))
            )
        self.executor.recover()
        self.outbox.apply()
        counts: dict[str, int] = {}
        for intent in self.ledger.list():
            counts[intent.state] = counts.get(intent.state, 0) + 1
        return counts


def intent_dict(intent: Intent) -> dict[str, Any]:
    return {
        "intent_id": intent.id,
        "realm_id": intent.realm_id,
        "action": intent.action,
        "target_type": intent.target_type,
        "target_id": intent.target_id,
        "params": intent.params,
        "scope": intent.scope,
        "state": intent.state,
        "refused": intent.refused,
        "reason": intent.reason,
        "reason_code": intent.reason_code,
        "attempts": intent.attempts,
        "not_before": intent.not_before,  # epoch seconds: when a waiting intent is retried next
        "approval_id": intent.approval_id,
        "actor": intent.actor,
        "correlation_id": intent.correlation_id,
        "requestid": intent.requestid,
        "qbo_entity": intent.qbo_entity,
        "qbo_id": intent.qbo_id,
        "created_at": intent.created_at,
        "updated_at": intent.updated_at,
        "finished_at": intent.finished_at,
        "description": intent.describe(),
        "terminal": intent.state in TERMINAL,
    }


def _invalid(item: Any, message: str, approval_id: str) -> ActionResult:
    get = item.get if isinstance(item, dict) else lambda k, d=None: getattr(item, k, d)
    return ActionResult(
        intent_id="",
        realm_id=str(get("realm_id", "") or ""),
        action=str(get("action", "") or ""),
        target_id=str(get("bill_id", None) or get("invoice_id", None) or ""),
        state="invalid",
        outcome="invalid",
        message=f"not submitted: {message}",
        approval_id=approval_id,
    )


def _as_mapping(item: Any) -> dict[str, Any]:
    """A request as its JSON-ready mapping (what a proposal stores and ``approve`` accepts)."""
    if isinstance(item, dict):
        return dict(item)
    mapping = {"action": item.action}
    for name in getattr(item, "__dataclass_fields__", {}):
        value = getattr(item, name)
        if value is not None:
            mapping[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return mapping


def _cash_out(requests: Sequence[dict[str, Any]]) -> tuple[Decimal, bool]:
    """Total of the payments in a selection, and whether any payment's amount is unknown (then
    the stricter rule applies: two approvers)."""
    total, unknown = Decimal("0"), False
    for request in requests:
        if request.get("action") != "pay_bill":
            continue
        raw = request.get("approved_amount") or request.get("amount")
        try:
            amount = Decimal(str(raw)) if raw not in (None, "") else None
        except ArithmeticError:
            amount = None
        if amount is None or not amount.is_finite():
            unknown = True
        else:
            total += amount
    return total, unknown
