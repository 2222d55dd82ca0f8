"""Checks on a freshly read QBO document before any write. A failed check is a ``Refusal``: the
intent ends as failed (refused) with a message the owner can act on, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    """The document still exists, is not voided, and has something left to pay; returns the balance."""
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
    """What to pay now: the explicit amount (≤ balance) or the full balance (= what was approved)."""
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
    """No second reminder within the company's cooldown (our ledger and QBO's DeliveryInfo both count)."""
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
