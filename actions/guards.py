"""Checks on a freshly read QBO document before any write. A failed check is a ``Refusal``: the
intent ends as failed (refused) with a message the owner can act on, and nothing is written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from actions.model import CENT

Doc = dict[str, Any]


class Refusal(Exception):
    """A guard said no. ``code`` is stable (for the UI and tests); the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def amount_of(doc: Doc, key: str) -> Decimal:
    return Decimal(str(doc.get(key) or 0)).quantize(CENT)


def is_voided(doc: Doc) -> bool:
    """QBO keeps voided documents with zero amounts and a note starting with 'Voided'."""
    note = str(doc.get("PrivateNote") or "").lower()
    return note.startswith("voided") and amount_of(doc, "TotalAmt") == 0


def parse_qbo_time(value: Any) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def require_open(doc: Doc, kind: str) -> Decimal:
    """The document still exists, is not voided, and has something left to pay; returns the
    balance."""
    if str(doc.get("status", "")).lower() == "deleted":
        raise Refusal("deleted", f"{kind} {doc.get('Id')} was deleted in QuickBooks")
    if is_voided(doc):
        raise Refusal("voided", f"{kind} {doc.get('Id')} was voided in QuickBooks")
    balance = amount_of(doc, "Balance")
    if balance <= 0:
        raise Refusal(
            "already_paid", f"{kind} {doc.get('Id')} is already paid in QuickBooks (balance 0)"
        )
    return balance


def payment_amount(
    balance: Decimal, amount: Decimal | None, approved: Decimal | None, bill_id: str
) -> Decimal:
    """What to pay now: the explicit amount (≤ balance) or the full balance (= what was
    approved)."""
    if amount is not None:
        if amount > balance:
            raise Refusal(
                "amount_exceeds_balance",
                f"bill {bill_id}: payment {amount} is more than its open balance {balance}",
            )
        return amount
    if approved is not None and balance != approved:
        raise Refusal(
            "changed_since_approval",
            f"bill {bill_id} changed since approval: open balance was {approved}, is now {balance}",
        )
    return balance


def reminder_address(doc: Doc, send_to: str | None) -> str:
    address = send_to or ((doc.get("BillEmail") or {}).get("Address") or "").strip()
    if not address:
        raise Refusal(
            "no_email", f"invoice {doc.get('Id')} has no e-mail address (give one with --to)"
        )
    return address


def check_cooldown(
    invoice_id: str,
    now: datetime,
    cooldown_days: int,
    last_ours: datetime | None,
    last_delivery: datetime | None,
) -> None:
    """No second reminder within the company's cooldown (our ledger and QBO's DeliveryInfo both
    count)."""
    if cooldown_days <= 0:
        return
    horizon = now - timedelta(days=cooldown_days)
    for label, moment in (("by Oodaloo", last_ours), ("from QuickBooks", last_delivery)):
        if moment is not None and moment > horizon:
            raise Refusal(
                "cooldown",
                f"invoice {invoice_id} was already sent {label} on {moment.date().isoformat()} "
                f"(reminder cooldown {cooldown_days} days)",
            )


def _day(doc: Doc) -> date | None:
    try:
        return date.fromisoformat(str(doc.get("TxnDate") or "")[:10])
    except ValueError:
        return None


def _numeric(doc_id: Any) -> int:
    return int(doc_id) if str(doc_id).isdigit() else 0


def duplicate_twin(bill: Doc, vendor_bills: list[Doc]) -> tuple[str, str] | None:
    """(twin id, why) when ``bill`` looks like a duplicate of another bill of the same vendor, as
    the tray's Check first sees it (``runway.hygiene.likely_duplicates``, the same rule on fresh
    QBO documents): the same amount entered fewer than ``DUPLICATE_WINDOW_DAYS`` apart, or the
    same vendor invoice number — of a bill already paid, or of an open one entered earlier."""
    from runway.hygiene import DUPLICATE_WINDOW_DAYS

    own_id, own_day = str(bill.get("Id")), _day(bill)
    own_total, own_number = amount_of(bill, "TotalAmt"), str(bill.get("DocNumber") or "").strip()
    found: list[tuple[bool, int, str, str]] = []
    for other in vendor_bills:
        other_id = str(other.get("Id"))
        if other_id == own_id or str(other.get("status", "")).lower() == "deleted":
            continue
        other_day, paid = _day(other), amount_of(other, "Balance") <= 0
        same_number = bool(own_number) and own_number == str(other.get("DocNumber") or "").strip()
        close = (
            own_day is not None
            and other_day is not None
            and abs((own_day - other_day).days) < DUPLICATE_WINDOW_DAYS
        )
        if not (same_number or (close and amount_of(other, "TotalAmt") == own_total)):
            continue
        earlier = (other_day or date.min, _numeric(other_id)) < (
            own_day or date.min,
            _numeric(own_id),
        )
        if paid or earlier:
            why = (
                f"same vendor invoice number {own_number}"
                if same_number
                else "same vendor and amount, entered within a week"
            )
            state = "paid" if paid else "open"
            found.append(
                (not paid, _numeric(other_id), other_id, f"{why} as bill {other_id} ({state})")
            )
    if not found:
        return None
    _, _, twin, why = min(found)
    return twin, why


def credit_open(doc: Doc, credit_type: str) -> Decimal:
    """What is left of a credit: a payment's UnappliedAmt, a credit memo's Balance; refuses a
    deleted or voided one and one with nothing left."""
    kind = "payment" if credit_type == "Payment" else "credit memo"
    if str(doc.get("status", "")).lower() == "deleted":
        raise Refusal("deleted", f"{kind} {doc.get('Id')} was deleted in QuickBooks")
    if is_voided(doc):
        raise Refusal("voided", f"{kind} {doc.get('Id')} was voided in QuickBooks")
    left = amount_of(doc, "UnappliedAmt" if credit_type == "Payment" else "Balance")
    if left <= 0:
        raise Refusal("credit_used", f"{kind} {doc.get('Id')} has no credit left to apply")
    return left


def credit_amount(
    invoice_balance: Decimal, left: Decimal, amount: Decimal | None, invoice_id: str
) -> Decimal:
    """What to apply: the explicit amount when both the credit and the invoice allow it, else the
    smaller of the two."""
    if amount is None:
        return min(invoice_balance, left)
    if amount > invoice_balance:
        raise Refusal(
            "amount_exceeds_balance",
            f"invoice {invoice_id}: {amount} is more than its open balance {invoice_balance}",
        )
    if amount > left:
        raise Refusal("amount_exceeds_credit", f"only {left} of the credit is left, not {amount}")
    return amount
