"""What an action is: the requests a user approves, the intent the ledger keeps, and the results
callers see. Pure data; no I/O.

Dedupe key (documented in docs/actions.md): sha256 over the canonical JSON of
``(realm, action, target, parameters, scope)`` where
  * parameters are normalised (money as a 2-decimal string, dates ISO, an omitted amount is
    ``"full"``, an omitted bank account is ``"default"``, e-mail lower-cased);
  * the *scope* is the business day the action is for: the payment date for a bill payment,
    the planned date for a delay, and the company's today for a reminder — unless the caller
    passes an explicit scope (e.g. a second partial payment of the same bill on the same day).
The approval id is *recorded* on the intent but is not part of the key: a rerun of the same
approval, a second tab or the same CLI command run twice must all map to the same intent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

PAY_BILL = "pay_bill"
DELAY_BILL = "delay_bill"
SEND_REMINDER = "send_reminder"
APPLY_CREDIT = "apply_credit"
ACTIONS = (PAY_BILL, DELAY_BILL, SEND_REMINDER, APPLY_CREDIT)
CREDIT_TYPES = ("Payment", "CreditMemo")  # an unapplied customer payment or an open credit memo
OVERRIDE_MAX = 500

PENDING = "pending"
IN_FLIGHT = "in_flight"
UNKNOWN = "unknown"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (PENDING, IN_FLIGHT, UNKNOWN, SUCCEEDED, FAILED, CANCELLED)
TERMINAL = (SUCCEEDED, FAILED, CANCELLED)

MARKER_PREFIX = "oodaloo:"
CENT = Decimal("0.01")


class InvalidRequest(ValueError):
    """Bad input from a caller, with a message naming what is wrong."""


def money(value: Any, what: str = "amount") -> Decimal:
    """A positive amount of money as a 2-decimal Decimal; floats are refused (they lose cents)."""
    if isinstance(value, float):
        raise InvalidRequest(f"{what} must be a Decimal, int or string, not a float ({value!r})")
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError):
        raise InvalidRequest(f"{what} is not a number: {value!r}") from None
    if amount <= 0:
        raise InvalidRequest(f"{what} must be greater than zero, got {amount}")
    return amount


def as_date(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(f"{what} must be a date YYYY-MM-DD, got {value!r}") from None


def _ident(value: Any, what: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidRequest(f"{what} is required")
    return text


@dataclass(frozen=True)
class PayBill:
    """Record a BillPayment (PayType Check) against one bill; ``amount=None`` pays the full
    balance."""

    realm_id: str
    bill_id: str
    amount: Decimal | None = None
    account_id: str | None = None
    pay_date: date | None = None
    approved_amount: Decimal | None = None  # what the approver saw (full payments); guards compare
    scope: str | None = None
    # paying a bill the guards see as a likely duplicate needs this: why it is not one (audited)
    override_reason: str | None = None
    action = PAY_BILL

    def normalised(self) -> PayBill:
        reason = (self.override_reason or "").strip() or None
        if reason is not None and len(reason) > OVERRIDE_MAX:
            raise InvalidRequest(f"override reason is longer than {OVERRIDE_MAX} characters")
        return PayBill(
            _ident(self.realm_id, "company (realm id)"),
            _ident(self.bill_id, "bill id"),
            None if self.amount is None else money(self.amount),
            None if self.account_id is None else _ident(self.account_id, "bank account id"),
            None if self.pay_date is None else as_date(self.pay_date, "payment date"),
            None
            if self.approved_amount is None
            else money(self.approved_amount, "approved amount"),
            self.scope,
            reason,
        )


@dataclass(frozen=True)
class DelayBill:
    """Plan to pay a bill later (our forecast uses the date); ``note`` is also written onto the
    bill."""

    realm_id: str
    bill_id: str
    until: date
    note: str | None = None
    scope: str | None = None
    action = DELAY_BILL

    def normalised(self) -> DelayBill:
        note = (self.note or "").strip() or None
        if note is not None and len(note) > 1000:
            raise InvalidRequest("note is longer than 1000 characters")
        return DelayBill(
            _ident(self.realm_id, "company (realm id)"),
            _ident(self.bill_id, "bill id"),
            as_date(self.until, "planned pay date (--until)"),
            note,
            self.scope,
        )


@dataclass(frozen=True)
class SendReminder:
    """E-mail an invoice again (QBO's invoice send), optionally to another address."""

    realm_id: str
    invoice_id: str
    send_to: str | None = None
    scope: str | None = None
    action = SEND_REMINDER

    def normalised(self) -> SendReminder:
        to = (self.send_to or "").strip().lower() or None
        if to is not None and (
            "@" not in to or " " in to or to.startswith("@") or to.endswith("@")
        ):
            raise InvalidRequest(f"not an e-mail address: {self.send_to!r}")
        return SendReminder(
            _ident(self.realm_id, "company (realm id)"),
            _ident(self.invoice_id, "invoice id"),
            to,
            self.scope,
        )


@dataclass(frozen=True)
class ApplyCredit:
    """Link a customer's unapplied payment (``credit_type`` "Payment") or open credit memo
    ("CreditMemo") to one of its open invoices in QBO; ``amount=None`` applies as much as both
    allow (the smaller of the credit left and the invoice's balance)."""

    realm_id: str
    invoice_id: str
    credit_type: str
    credit_id: str
    amount: Decimal | None = None
    scope: str | None = None
    action = APPLY_CREDIT

    def normalised(self) -> ApplyCredit:
        kinds = {k.lower(): k for k in CREDIT_TYPES} | {"credit_memo": "CreditMemo"}
        kind = kinds.get(str(self.credit_type or "").strip().lower())
        if kind is None:
            raise InvalidRequest(
                f"credit type must be one of {', '.join(CREDIT_TYPES)}, not {self.credit_type!r}"
            )
        return ApplyCredit(
            _ident(self.realm_id, "company (realm id)"),
            _ident(self.invoice_id, "invoice id"),
            kind,
            _ident(self.credit_id, "credit id (payment or credit memo)"),
            None if self.amount is None else money(self.amount),
            self.scope,
        )


ActionRequest = PayBill | DelayBill | SendReminder | ApplyCredit

REQUEST_TYPES: dict[str, type] = {
    PAY_BILL: PayBill,
    DELAY_BILL: DelayBill,
    SEND_REMINDER: SendReminder,
    APPLY_CREDIT: ApplyCredit,
}


def request_from_mapping(item: dict[str, Any]) -> ActionRequest:
    """A tray selection row (``{"action": "pay_bill", "realm_id": ..., ...}``) as a typed
    request."""
    kind = item.get("action") or item.get("kind")
    cls = REQUEST_TYPES.get(str(kind))
    if cls is None:
        raise InvalidRequest(f"unknown action {kind!r}; expected one of {', '.join(ACTIONS)}")
    fields = {k: v for k, v in item.items() if k not in ("action", "kind")}
    try:
        return cls(**fields)
    except TypeError as exc:
        raise InvalidRequest(f"bad fields for {kind}: {exc}") from None


def target_of(request: ActionRequest) -> tuple[str, str]:
    if isinstance(request, (SendReminder, ApplyCredit)):
        return "Invoice", request.invoice_id
    return "Bill", request.bill_id


def key_params(request: ActionRequest) -> dict[str, Any]:
    """The normalised parameters that identify the intended effect (the dedupe key's input)."""
    if isinstance(request, PayBill):
        params = {
            "amount": "full" if request.amount is None else str(request.amount),
            "account": request.account_id or "default",
            "date": request.pay_date.isoformat() if request.pay_date else None,
        }
        if request.override_reason:  # a refused payment, overridden: a new intent, not the old one
            params["override"] = request.override_reason
        return params
    if isinstance(request, ApplyCredit):
        return {
            "credit": f"{request.credit_type}:{request.credit_id}",
            "amount": "full" if request.amount is None else str(request.amount),
        }
    if isinstance(request, DelayBill):
        return {"until": request.until.isoformat(), "note": request.note}
    return {"to": request.send_to}


def dedupe_key(request: ActionRequest, scope: str) -> str:
    target_type, target_id = target_of(request)
    canonical = json.dumps(
        [request.realm_id, request.action, target_type, target_id, key_params(request), scope],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def marker(intent_id: str) -> str:
    """The tag we write into the QBO document so that a lost answer can be found again."""
    return f"{MARKER_PREFIX}{intent_id}"


@dataclass
class Intent:
    """One row of the ledger."""

    id: str
    dedupe_key: str
    realm_id: str
    action: str
    target_type: str
    target_id: str
    params: dict[str, Any]
    scope: str
    approval_id: str | None
    actor: str
    correlation_id: str
    requestid: str
    state: str
    reason: str | None
    reason_code: str | None
    refused: bool
    lease_owner: str | None
    lease_expires: float | None
    not_before: float
    attempts: int
    phase: str | None
    guard_snapshot: dict[str, Any] | None
    qbo_entity: str | None
    qbo_id: str | None
    result_doc: dict[str, Any] | None
    qbo_since: str
    created_at: str
    updated_at: str
    finished_at: str | None

    @property
    def marker(self) -> str:
        return marker(self.id)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    def describe(self) -> str:
        """A one-line human description of the effect,
        e.g. 'pay bill 42 (full) in company 9130...'."""
        p = self.params
        if self.action == PAY_BILL:
            what = f"pay bill {self.target_id} ({p.get('amount') or 'full balance'}"
            account = p.get("account_id") or "main bank account"
            return f"{what} from {account} on {p.get('pay_date')})"
        if self.action == DELAY_BILL:
            return f"plan bill {self.target_id} for {p.get('until')}"
        if self.action == APPLY_CREDIT:
            kind = "unapplied payment" if p.get("credit_type") == "Payment" else "credit memo"
            amount = p.get("amount") or "as much as both allow"
            return f"apply {kind} {p.get('credit_id')} to invoice {self.target_id} ({amount})"
        return f"remind invoice {self.target_id}" + (
            f" to {p['send_to']}" if p.get("send_to") else ""
        )


# Outcomes a caller sees for one submission.
EXECUTED = "executed"  # this call did it
ALREADY_SUCCEEDED = "already_succeeded"
IN_PROGRESS = "in_progress"  # another executor holds it (or it waits for a retry)
REFUSED = "refused"
FAILED_OUTCOME = "failed"
UNKNOWN_OUTCOME = "unknown"
CANCELLED_OUTCOME = "cancelled"
PENDING_OUTCOME = "pending"


@dataclass
class ActionResult:
    """What happened to one submission, for the pages and the CLI."""

    intent_id: str
    realm_id: str
    action: str
    target_id: str
    state: str
    outcome: str
    message: str
    duplicate: bool = False
    qbo_entity: str | None = None
    qbo_id: str | None = None
    reason_code: str | None = None
    approval_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "intent_id": self.intent_id,
            "realm_id": self.realm_id,
            "action": self.action,
            "target_id": self.target_id,
            "state": self.state,
            "outcome": self.outcome,
            "message": self.message,
            "duplicate": self.duplicate,
            "qbo_entity": self.qbo_entity,
            "qbo_id": self.qbo_id,
            "reason_code": self.reason_code,
            "approval_id": self.approval_id,
        }
