"""One handler per action: guard (fresh read + checks), send (the one QBO write, carrying the
intent's requestid and marker), find_effect (look for the marker after a crash or a lost answer)
and the outbox rows recorded with the outcome."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from actions.guards import (
    Refusal,
    check_cooldown,
    credit_amount,
    credit_open,
    duplicate_twin,
    parse_qbo_time,
    payment_amount,
    reminder_address,
    require_open,
)
from actions.ledger import Ledger
from actions.model import APPLY_CREDIT, DELAY_BILL, PAY_BILL, SEND_REMINDER, Intent
from actions.port import QBOPort, marker_window
from sync.errors import NotFoundError

Doc = dict[str, Any]
Outbox = list[tuple[str, dict[str, Any]]]
PRIVATE_NOTE_MAX = 4000


@dataclass
class Context:
    port: QBOPort
    ledger: Ledger
    qbo_now: Callable[[], datetime]
    cooldown_days: Callable[[str], int]
    main_bank_account: Callable[[str], str]


@dataclass
class Sent:
    """The outcome of a write (or of finding its marker)."""

    qbo_entity: str | None
    qbo_id: str | None
    doc: Doc | None
    outbox: Outbox


class Handler(Protocol):
    def guard(self, ctx: Context, intent: Intent) -> dict[str, Any]: ...

    def send(self, ctx: Context, intent: Intent, snapshot: dict[str, Any]) -> Sent: ...

    def find_effect(self, ctx: Context, intent: Intent) -> Sent | None: ...


def _sync(intent: Intent) -> tuple[str, dict[str, Any]]:
    return ("request_sync", {"reason": f"action {intent.action} {intent.id}"})


def _ingest(entity: str, doc: Doc) -> tuple[str, dict[str, Any]]:
    return ("ingest", {"entity": entity, "doc": doc})


class PayBillHandler:
    """A BillPayment (PayType Check) from a bank account, linked to the bill, marked with the
    intent."""

    def guard(self, ctx: Context, intent: Intent) -> dict[str, Any]:
        bill = ctx.port.read(intent.realm_id, "Bill", intent.target_id)
        balance = require_open(bill, "bill")
        p = intent.params
        amount = payment_amount(
            balance,
            None if p.get("amount") is None else Decimal(p["amount"]),
            None if p.get("approved_amount") is None else Decimal(p["approved_amount"]),
            intent.target_id,
        )
        vendor = (bill.get("VendorRef") or {}).get("value")
        if not vendor:
            raise Refusal("invalid_bill", f"bill {intent.target_id} has no vendor")
        twin = duplicate_twin(bill, ctx.port.vendor_bills(intent.realm_id, str(vendor)))
        override = p.get("override_reason")
        if twin is not None and not override:
            raise Refusal(
                "likely_duplicate",
                f"bill {intent.target_id} looks like a duplicate: {twin[1]}; paying it needs an "
                "explicit override with a reason",
            )
        if twin is not None:
            ctx.ledger.audit(
                intent,
                "duplicate_override",
                {
                    "duplicate_of": twin[0],
                    "why": twin[1],
                    "reason": override,
                    "actor": intent.actor,
                },
            )
        account = p.get("account_id") or ctx.main_bank_account(intent.realm_id)
        return {
            "duplicate_of": None if twin is None else twin[0],
            "override_reason": override if twin is not None else None,
            "balance": str(balance),
            "amount": str(amount),
            "vendor_id": vendor,
            "account_id": account,
            "sync_token": bill.get("SyncToken"),
            "linked": _linked_ids(bill, "BillPayment"),
        }

    def body(self, intent: Intent, snapshot: dict[str, Any]) -> Doc:
        amount = float(Decimal(snapshot["amount"]))  # JSON number on the wire only
        return {
            "VendorRef": {"value": snapshot["vendor_id"]},
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": snapshot["account_id"]}},
            "TotalAmt": amount,
            "TxnDate": intent.params["pay_date"],
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": intent.target_id, "TxnType": "Bill"}]}
            ],
            "PrivateNote": intent.marker,
        }

    def send(self, ctx: Context, intent: Intent, snapshot: dict[str, Any]) -> Sent:
        doc = ctx.port.create_bill_payment(
            intent.realm_id, self.body(intent, snapshot), requestid=intent.requestid
        )
        return self._sent(intent, doc)

    def _sent(self, intent: Intent, doc: Doc) -> Sent:
        outbox: Outbox = [
            _ingest("BillPayment", doc),
            ("refresh", {"entity": "Bill", "id": intent.target_id}),
            _sync(intent),
        ]
        return Sent("BillPayment", str(doc["Id"]), doc, outbox)

    def find_effect(self, ctx: Context, intent: Intent) -> Sent | None:
        """QBO links every BillPayment into its bill's LinkedTxn: read the bill, then only the
        payments linked since the guard ran (usually none or one). Without a snapshot (or with the
        bill gone) fall back to querying BillPayments since the intent was created."""
        snapshot = intent.guard_snapshot or {}
        candidates: list[Doc] | None = None
        if "linked" in snapshot:
            try:
                bill = ctx.port.read(intent.realm_id, "Bill", intent.target_id)
            except NotFoundError:
                bill = None
            if bill is not None:
                known = set(snapshot["linked"])
                new_ids = [i for i in _linked_ids(bill, "BillPayment") if i not in known]
                candidates = [ctx.port.read(intent.realm_id, "BillPayment", i) for i in new_ids]
        if candidates is None:
            candidates = ctx.port.bill_payments_since(
                intent.realm_id, marker_window(intent.qbo_since)
            )
        for doc in candidates:
            if intent.marker in str(doc.get("PrivateNote") or "") and _links(
                doc, intent.target_id, "Bill"
            ):
                return self._sent(intent, doc)
        return None


def _linked_ids(doc: Doc, txn_type: str) -> list[str]:
    return sorted(
        str(link.get("TxnId"))
        for link in doc.get("LinkedTxn") or []
        if link.get("TxnType") == txn_type
    )


def _links(doc: Doc, txn_id: str, txn_type: str) -> bool:
    return any(
        str(link.get("TxnId")) == txn_id and link.get("TxnType") == txn_type
        for line in doc.get("Line") or []
        for link in line.get("LinkedTxn") or []
    )


class DelayBillHandler:
    """Our planned pay date (state.sqlite, applied from the outbox); optionally a note on the
    bill."""

    def guard(self, ctx: Context, intent: Intent) -> dict[str, Any]:
        bill = ctx.port.read(intent.realm_id, "Bill", intent.target_id)
        balance = require_open(bill, "bill")
        return {
            "balance": str(balance),
            "sync_token": bill.get("SyncToken"),
            "private_note": bill.get("PrivateNote"),
        }

    def note_text(self, intent: Intent, previous: str | None) -> str:
        line = (
            f"Planned pay date {intent.params['until']}: {intent.params['note']} [{intent.marker}]"
        )
        text = f"{previous}\n{line}" if previous else line
        return text[-PRIVATE_NOTE_MAX:]

    def send(self, ctx: Context, intent: Intent, snapshot: dict[str, Any]) -> Sent:
        if not intent.params.get("note"):
            return self._sent(intent, None)
        body = {
            "Id": intent.target_id,
            "SyncToken": snapshot["sync_token"],
            "sparse": True,
            "PrivateNote": self.note_text(intent, snapshot.get("private_note")),
        }
        return self._sent(
            intent,
            ctx.port.update_sparse(intent.realm_id, "Bill", body, requestid=intent.requestid),
        )

    def _sent(self, intent: Intent, doc: Doc | None) -> Sent:
        p = intent.params
        plan = (
            "plan",
            {"bill_id": intent.target_id, "until": p["until"], "note": p.get("note") or ""},
        )
        if doc is None:
            return Sent(None, None, None, [plan])
        return Sent("Bill", str(doc["Id"]), doc, [plan, _ingest("Bill", doc), _sync(intent)])

    def find_effect(self, ctx: Context, intent: Intent) -> Sent | None:
        if not intent.params.get("note"):
            return None  # local only: doing it again is harmless
        bill = ctx.port.read(intent.realm_id, "Bill", intent.target_id)
        if intent.marker in str(bill.get("PrivateNote") or ""):
            return self._sent(intent, bill)
        return None


class ReminderHandler:
    """QBO's invoice send; the effect shows as a new DeliveryInfo.DeliveryTime on the invoice."""

    def guard(self, ctx: Context, intent: Intent) -> dict[str, Any]:
        invoice = ctx.port.read(intent.realm_id, "Invoice", intent.target_id)
        balance = require_open(invoice, "invoice")
        address = reminder_address(invoice, intent.params.get("send_to"))
        delivered = (invoice.get("DeliveryInfo") or {}).get("DeliveryTime")
        ours = ctx.ledger.last_reminder_at(intent.realm_id, intent.target_id, exclude_id=intent.id)
        check_cooldown(
            intent.target_id,
            ctx.qbo_now(),
            ctx.cooldown_days(intent.realm_id),
            parse_qbo_time(ours),
            parse_qbo_time(delivered),
        )
        return {
            "balance": str(balance),
            "address": address,
            "delivery_time": delivered,
            "sync_token": invoice.get("SyncToken"),
        }

    def send(self, ctx: Context, intent: Intent, snapshot: dict[str, Any]) -> Sent:
        doc = ctx.port.send_invoice(
            intent.realm_id,
            intent.target_id,
            send_to=intent.params.get("send_to"),
            requestid=intent.requestid,
        )
        return self._sent(intent, doc)

    def _sent(self, intent: Intent, doc: Doc) -> Sent:
        return Sent("Invoice", str(doc["Id"]), doc, [_ingest("Invoice", doc), _sync(intent)])

    def find_effect(self, ctx: Context, intent: Intent) -> Sent | None:
        snapshot = intent.guard_snapshot
        if snapshot is None:
            return None  # never got past the guard: nothing was sent
        invoice = ctx.port.read(intent.realm_id, "Invoice", intent.target_id)
        now_sent = (invoice.get("DeliveryInfo") or {}).get("DeliveryTime")
        before = parse_qbo_time(snapshot.get("delivery_time"))
        after = parse_qbo_time(now_sent)
        if after is not None and (before is None or after > before):
            return self._sent(intent, invoice)
        return None


class ApplyCreditHandler:
    """Link a customer's unapplied payment or open credit memo to its open invoice.

    An unapplied payment: a sparse update of that Payment adding a line linked to the invoice (its
    SyncToken from the guard; a stale one re-guards). A credit memo: a zero-total Payment linking
    the invoice and the credit memo, QBO's way to apply one. Either carries the intent's marker in
    its PrivateNote, so a lost answer is found again on the Payment or the invoice."""

    def guard(self, ctx: Context, intent: Intent) -> dict[str, Any]:
        p = intent.params
        kind, credit_id = p["credit_type"], p["credit_id"]
        invoice = ctx.port.read(intent.realm_id, "Invoice", intent.target_id)
        balance = require_open(invoice, "invoice")
        credit = ctx.port.read(intent.realm_id, kind, credit_id)
        left = credit_open(credit, kind)
        customer = (invoice.get("CustomerRef") or {}).get("value")
        if not customer or (credit.get("CustomerRef") or {}).get("value") != customer:
            raise Refusal(
                "other_customer",
                f"{kind} {credit_id} does not belong to the customer of invoice {intent.target_id}",
            )
        amount = credit_amount(
            balance,
            left,
            None if p.get("amount") is None else Decimal(p["amount"]),
            intent.target_id,
        )
        return {
            "invoice_balance": str(balance),
            "credit_left": str(left),
            "amount": str(amount),
            "customer_id": customer,
            "sync_token": credit.get("SyncToken"),
            "credit_lines": credit.get("Line") or [],
            "credit_total": credit.get("TotalAmt"),
            "private_note": credit.get("PrivateNote"),
            "linked": _linked_ids(invoice, "Payment"),
        }

    def _note(self, intent: Intent, previous: str | None) -> str:
        line = f"Credit applied to invoice {intent.target_id} [{intent.marker}]"
        return (f"{previous}\n{line}" if previous else line)[-PRIVATE_NOTE_MAX:]

    def send(self, ctx: Context, intent: Intent, snapshot: dict[str, Any]) -> Sent:
        amount = float(Decimal(snapshot["amount"]))  # JSON number on the wire only
        invoice_line = {
            "Amount": amount,
            "LinkedTxn": [{"TxnId": intent.target_id, "TxnType": "Invoice"}],
        }
        if intent.params["credit_type"] == "Payment":
            body = {
                "Id": intent.params["credit_id"],
                "SyncToken": snapshot["sync_token"],
                "sparse": True,
                "CustomerRef": {"value": snapshot["customer_id"]},
                "TotalAmt": snapshot["credit_total"],
                "Line": [*snapshot["credit_lines"], invoice_line],
                "PrivateNote": self._note(intent, snapshot.get("private_note")),
            }
            doc = ctx.port.update_sparse(
                intent.realm_id, "Payment", body, requestid=intent.requestid
            )
        else:
            body = {
                "CustomerRef": {"value": snapshot["customer_id"]},
                "TotalAmt": 0,
                "Line": [
                    invoice_line,
                    {
                        "Amount": amount,
                        "LinkedTxn": [
                            {"TxnId": intent.params["credit_id"], "TxnType": "CreditMemo"}
                        ],
                    },
                ],
                "PrivateNote": self._note(intent, None),
            }
            doc = ctx.port.create_payment(intent.realm_id, body, requestid=intent.requestid)
        return self._sent(intent, doc)

    def _sent(self, intent: Intent, doc: Doc) -> Sent:
        outbox: Outbox = [
            _ingest("Payment", doc),
            ("refresh", {"entity": "Invoice", "id": intent.target_id}),
            _sync(intent),
        ]
        if intent.params["credit_type"] == "CreditMemo":
            outbox.insert(
                2, ("refresh", {"entity": "CreditMemo", "id": intent.params["credit_id"]})
            )
        return Sent("Payment", str(doc["Id"]), doc, outbox)

    def find_effect(self, ctx: Context, intent: Intent) -> Sent | None:
        """The marker on the Payment (an unapplied payment we updated) or on a Payment newly linked
        to the invoice (a credit memo's application)."""
        if intent.params["credit_type"] == "Payment":
            candidates = [ctx.port.read(intent.realm_id, "Payment", intent.params["credit_id"])]
        else:
            snapshot = intent.guard_snapshot or {}
            known = set(snapshot.get("linked") or [])
            invoice = ctx.port.read(intent.realm_id, "Invoice", intent.target_id)
            candidates = [
                ctx.port.read(intent.realm_id, "Payment", i)
                for i in _linked_ids(invoice, "Payment")
                if i not in known
            ]
        for doc in candidates:
            if intent.marker in str(doc.get("PrivateNote") or "") and _links(
                doc, intent.target_id, "Invoice"
            ):
                return self._sent(intent, doc)
        return None


HANDLERS: dict[str, Handler] = {
    PAY_BILL: PayBillHandler(),
    DELAY_BILL: DelayBillHandler(),
    SEND_REMINDER: ReminderHandler(),
    APPLY_CREDIT: ApplyCreditHandler(),
}


def default_bank_account(accounts: list[Doc], home_currency: str | None = None) -> str | None:
    """The company's main bank account: the active Bank account holding the most cash (then lowest
    Id), in the home currency. A bill in dollars is never drawn on a Canadian-dollar account just
    because that account holds more: with ``home_currency`` unknown, an account whose currency
    differs from the most common one among the bank accounts is left out for the same reason."""
    banks = [
        a for a in accounts if a.get("AccountType") == "Bank" and a.get("Active", True) is not False
    ]

    def currency_of(account: Doc) -> str | None:
        ref = account.get("CurrencyRef")
        return str(ref.get("value")) if isinstance(ref, dict) and ref.get("value") else None

    currencies = [c for c in (currency_of(a) for a in banks) if c]
    by_count = sorted(set(currencies), key=lambda c: (-currencies.count(c), c))
    home = home_currency or (by_count[0] if by_count else None)
    if home is not None:
        banks = [a for a in banks if currency_of(a) in (None, home)]
    if not banks:
        return None
    banks.sort(
        key=lambda a: (
            -Decimal(str(a.get("CurrentBalance") or 0)),
            int(a["Id"]) if str(a["Id"]).isdigit() else 0,
        )
    )
    return str(banks[0]["Id"])


def iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
