"""Which open bills must be paid (payroll, taxes, rent, loans, utilities, critical vendors, bills
far past due) and the reserve that follows from them."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.classify import MUST_PAY_KINDS, lines_kind, party_kind
from runway.money import MONEY, zero

SOON_DAYS = 14


def classify_bills(
    ap_detail: pl.DataFrame,
    bills: pl.DataFrame,
    accounts: pl.DataFrame,
    critical: pl.DataFrame,
    company: pl.DataFrame,
) -> pl.DataFrame:
    """ap_detail + bill_kind, critical, must_pay, must_pay_reason, latest_safe_date.

    A bill that is not must-pay by its kind, vendor or age may wait until its due date plus the
    owner's delay tolerance (``latest_safe_date``); one already past that date cannot wait any
    more, so it is must-pay too ("past the 14-day delay tolerance"). Every open bill is therefore
    either must-pay or delayable — nothing falls between the tray's sections."""
    kinds = lines_kind(bills.rename({"id": "doc_id"}), accounts, ["realm_id", "doc_id"])
    crit = critical.select(
        "realm_id", pl.col("vendor_id").alias("party_id"), pl.lit(True).alias("critical")
    )
    far = company.select("realm_id", "far_past_due_days", "delay_tolerance_days")
    frame = (
        ap_detail.join(kinds, on=["realm_id", "doc_id"], how="left")
        .join(crit.unique(), on=["realm_id", "party_id"], how="left")
        .join(far, on="realm_id", how="left")
        .with_columns(
            bill_kind=pl.coalesce(
                party_kind(pl.col("party_name").fill_null("")), "line_kind"
            ).fill_null("other"),
            critical=pl.col("critical").fill_null(False),
            far_past_due=pl.col("days_past_due") >= pl.col("far_past_due_days").fill_null(60),
            tolerance=pl.col("delay_tolerance_days").fill_null(14),
        )
    )
    reason = (
        pl.when(pl.col("bill_kind").is_in(list(MUST_PAY_KINDS)))
        .then(pl.col("bill_kind"))
        .when(pl.col("critical"))
        .then(pl.lit("critical vendor"))
        .when(pl.col("far_past_due"))
        .then(pl.format("{} days past due", pl.col("days_past_due")))
        .when(pl.col("days_past_due") >= pl.col("tolerance"))
        .then(
            pl.format(
                "{} days past due: past the {}-day delay tolerance",
                pl.col("days_past_due"),
                pl.col("tolerance"),
            )
        )
    )
    return (
        frame.with_columns(must_pay_reason=reason)
        .with_columns(must_pay=pl.col("must_pay_reason").is_not_null())
        .with_columns(
            latest_safe_date=pl.when(~pl.col("must_pay")).then(
                pl.col("aging_date") + pl.duration(days=pl.col("tolerance"))
            )
        )
        .drop("line_kind", "far_past_due_days", "far_past_due", "delay_tolerance_days", "tolerance")
    )


def next_payroll(sched: pl.DataFrame) -> pl.DataFrame:
    """realm_id, payroll_date, payroll_amount: the first expected payroll."""
    return (
        sched.filter(pl.col("kind") == "payroll")
        .sort("realm_id", "date")
        .group_by("realm_id")
        .agg(
            pl.col("date").first().alias("payroll_date"),
            pl.col("amount").first().alias("payroll_amount"),
        )
    )


def reserve(
    company: pl.DataFrame,
    bills: pl.DataFrame,
    sched: pl.DataFrame,
    as_of: date,
    plans: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, reserve, reserve_source: the owner's figure, else the next payroll + must-pay bills
    due by then (by two weeks when there is no payroll) that the forecast does *not* already pay by
    then. A bill the projection subtracts before the payroll is never held back a second time in
    the reserve (that double count made a breach on ``as_of`` automatic whenever overdue must-pay
    bills existed); one the owner planned for after the payroll is still owed, so it is held."""
    pay = next_payroll(sched)
    horizon = pl.coalesce("payroll_date", pl.lit(as_of + timedelta(days=SOON_DAYS)))
    planned = pl.DataFrame(
        schema={"realm_id": pl.String, "doc_id": pl.String, "planned_date": pl.Date}
    )
    if plans is not None and plans.height:
        planned = plans.select("realm_id", pl.col("bill_id").alias("doc_id"), "planned_date")
    paid_on = pl.max_horizontal(
        pl.coalesce("planned_date", "aging_date"), pl.lit(as_of)
    )  # as bill_items does
    must = (
        bills.filter(pl.col("must_pay") & (pl.col("bill_kind") != "payroll"))
        .join(pay, on="realm_id", how="left")
        .join(planned, on=["realm_id", "doc_id"], how="left")
        .filter((pl.col("aging_date") <= horizon) & (paid_on > horizon))
        .group_by("realm_id")
        .agg(pl.col("balance").sum().alias("must_pay_due"))
    )
    return (
        company.select("realm_id", "reserve")
        .join(pay, on="realm_id", how="left")
        .join(must, on="realm_id", how="left")
        .with_columns(
            reserve_source=pl.when(pl.col("reserve").is_not_null())
            .then(pl.lit("set"))
            .otherwise(pl.lit("default")),
            reserve=pl.coalesce(
                "reserve",
                pl.col("payroll_amount").fill_null(zero())
                + pl.col("must_pay_due").fill_null(zero()),
            ).cast(MONEY),
        )
        .select("realm_id", "reserve", "reserve_source")
        .sort("realm_id")
    )
