"""The prep tray's row shape and section names, shared by the modules that build its rows
(``runway.tray_bills``, ``runway.tray_chase``) and weigh them (``runway.tray_effects``)."""

from __future__ import annotations

import polars as pl

from runway.money import MONEY
from runway.mustpay import SOON_DAYS

TRAY_HORIZON_DAYS = SOON_DAYS  # bills due within two weeks (or overdue) are in the tray
PAYROLL_PROVIDER_NOTE = "payroll: paid through the payroll provider, not from here"

BILL_SECTIONS = ("check_first", "must_pay", "can_delay")
INVOICE_SECTIONS = ("apply_credit", "disputed", "chase")
SECTIONS = ("must_pay", "can_delay", "check_first", "chase", "disputed", "apply_credit")

TRAY_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "section": pl.String(),
        "doc_type": pl.String(),
        "doc_id": pl.String(),
        "party_id": pl.String(),
        "party_name": pl.String(),
        "amount": MONEY,
        "due_date": pl.Date(),
        "days_past_due": pl.Int32(),
        "reason": pl.String(),
        "planned_date": pl.Date(),
        "latest_safe_date": pl.Date(),
        "score": pl.Float64(),
        "email": pl.String(),
        "scenario_id": pl.String(),
        # what the owner may do with the row, and why not when it cannot be selected
        "selectable": pl.Boolean(),
        "action": pl.String(),
        "not_selectable_reason": pl.String(),
        # check first: the bill this one repeats
        "duplicate_of": pl.String(),
        # chase
        "contact": pl.String(),  # "email" | "call"
        "reminded_on": pl.Date(),
        "collect_share": pl.Float64(),
        "expected_collection": MONEY,
        "likely_paid_on": pl.Date(),
        # apply credit: the customer's credit document that covers the invoice
        "credit_type": pl.String(),  # "Payment" (unapplied) | "CreditMemo"
        "credit_id": pl.String(),
        "credit_amount": MONEY,
        "customer_credit": MONEY,
        # the one change the row's effect re-runs (the new date of the moved item; null = removed)
        "new_date": pl.Date(),
    }
)


def row_head(doc_type: str) -> list[pl.Expr]:
    """The columns every tray row starts with, from an aging detail frame (realm_id, section,
    doc_id, party_id, party_name, balance, aging_date, days_past_due): bill and invoice rows
    read them the same way."""
    return [
        pl.col("realm_id"),
        pl.col("section"),
        pl.lit(doc_type).alias("doc_type"),
        pl.col("doc_id"),
        pl.col("party_id"),
        pl.col("party_name"),
        pl.col("balance").alias("amount"),
        pl.col("aging_date").alias("due_date"),
        pl.col("days_past_due"),
    ]


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in the tray's columns and types (a column it lacks is null)."""
    return frame.select(
        [pl.col(c) if c in frame.columns else pl.lit(None).alias(c) for c in TRAY_SCHEMA]
    ).cast(TRAY_SCHEMA)
