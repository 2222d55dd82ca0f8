"""Payroll coverage for the next three payrolls: can the cash just before each one pay it?"""

from __future__ import annotations

import polars as pl

from runway.classify import MUST_PAY_KINDS
from runway.forecast import signed
from runway.money import MONEY, as_money, whole_dollars_text, zero

NEXT_PAYROLLS = 3


def must_pay_items(items: pl.DataFrame, bills: pl.DataFrame) -> pl.DataFrame:
    """Forecast items + must_pay (bills marked must-pay; recurring payroll/tax/rent/loan/utilities)
    and ``safe_until`` (a bill's latest safe date: one the tray can delay past a payday is not
    counted against it; null for every other item).

    Why two parts: only bill items read the bill table, so only they are joined to it (once, on
    the item's bill) — a third of a firm's items — and the rest are flagged by their kind."""
    flags = bills.select(
        "realm_id",
        pl.col("doc_id").alias("source_id"),
        pl.col("must_pay").fill_null(False),
        pl.col("latest_safe_date").alias("safe_until"),
    )
    is_bill = pl.col("kind") == "bill"
    pattern_kind = pl.col("source_id").str.split(":").list.first()
    other = items.filter(~is_bill).with_columns(
        must_pay=(pl.col("kind") == "recurring") & pattern_kind.is_in(list(MUST_PAY_KINDS)),
        safe_until=pl.lit(None, dtype=pl.Date),
    )
    of_bills = (
        items.filter(is_bill)
        .join(flags, on=["realm_id", "source_id"], how="left")
        .with_columns(pl.col("must_pay").fill_null(False))
    )
    return pl.concat([of_bills, other])


def coverage(
    sched: pl.DataFrame,
    items: pl.DataFrame,
    bills: pl.DataFrame,
    cash: pl.DataFrame,
    reserve: pl.DataFrame,
) -> pl.DataFrame:
    """realm_id, seq, date, amount, cash_before_p90/p50, must_pay_before, coverage, coverage_p50,
    status, covered, shortfall, label, payrolls_covered (see docs/reports.md for the rule).

    Coverage = (P90 cash just before the payday − must-pay items due before it) ÷ payroll; a bill
    the tray can delay past the payday (``latest_safe_date`` on or after it) is not counted.
    ``covered`` (and ``payrolls_covered``, the run of covered payrolls from the next one) means
    P90 coverage ≥ 1: an amber payroll covered only by P50 collections is never called covered.
    ``shortfall``: dollars missing at P90 (0 when covered)."""
    payrolls = (
        sched.filter(pl.col("kind") == "payroll")
        .sort("realm_id", "date")
        .with_columns(seq=(pl.col("date").rank("ordinal").over("realm_id")).cast(pl.Int32))
        .filter(pl.col("seq") <= NEXT_PAYROLLS)
        .select("realm_id", "seq", "date", "amount")
    )
    last_payday = payrolls.group_by("realm_id").agg(pl.col("date").max().alias("last_payday"))
    # only items before a company's last covered payday can matter (looked up, not joined: the
    # items are many and wide); a company without a payroll has no cut-off and drops out
    cut_off = pl.col("realm_id").replace_strict(
        last_payday["realm_id"], last_payday["last_payday"], default=None
    )
    flagged = must_pay_items(
        items.select("realm_id", "line", "date", "kind", "source_id", "direction", "amount").filter(
            pl.col("date") < cut_off
        ),
        bills,
    )
    # Items summed per day and kind of rule first (money sums are exact, so the totals are the
    # same), then set against each of the next paydays: a few rows per day, not every item
    # three times. Only a bill's latest safe date matters (one the tray can delay past the payday
    # is not counted against it).
    compact = flagged.group_by(
        "realm_id",
        "date",
        "line",
        "must_pay",
        (pl.col("kind") == "recurring").alias("_recurring"),
        pl.col("safe_until").alias("_safe_until"),
    ).agg(signed(flagged).sum().alias("_flow"), pl.col("amount").sum().alias("_amount"))
    before = (
        payrolls.select("realm_id", "seq", pl.col("date").alias("payday"))
        .join(compact, on="realm_id", how="inner")
        .filter(pl.col("_safe_until").is_null() | (pl.col("_safe_until") < pl.col("payday")))
    )
    free = (
        before.filter((pl.col("date") < pl.col("payday")) & ~pl.col("must_pay"))
        .group_by("realm_id", "seq")
        .agg(
            pl.col("_flow").filter(pl.col("line") == "p90").sum().alias("flow_p90"),
            pl.col("_flow").filter(pl.col("line") == "p50").sum().alias("flow_p50"),
        )
    )
    must_bills = (
        payrolls.select("realm_id", "seq", pl.col("date").alias("payday"))
        .join(
            bills.filter(pl.col("must_pay") & (pl.col("bill_kind") != "payroll")),
            on="realm_id",
            how="inner",
        )
        .filter(pl.col("aging_date") < pl.col("payday"))
        .group_by("realm_id", "seq")
        .agg(pl.col("balance").sum().alias("must_bills"))
    )
    must_recurring = (
        before.filter(
            pl.col("_recurring")
            & pl.col("must_pay")
            & (pl.col("line") == "p50")
            & (pl.col("date") < pl.col("payday"))
        )
        .group_by("realm_id", "seq")
        .agg(pl.col("_amount").sum().alias("must_recurring"))
    )
    frame = (
        payrolls.join(cash.select("realm_id", "cash"), on="realm_id", how="left")
        .join(reserve.select("realm_id", "reserve"), on="realm_id", how="left")
        .join(free, on=["realm_id", "seq"], how="left")
        .join(must_bills, on=["realm_id", "seq"], how="left")
        .join(must_recurring, on=["realm_id", "seq"], how="left")
        .with_columns(
            cash_before_p90=as_money(pl.col("cash") + pl.col("flow_p90").fill_null(zero())),
            cash_before_p50=as_money(pl.col("cash") + pl.col("flow_p50").fill_null(zero())),
            must_pay_before=as_money(
                pl.col("must_bills").fill_null(zero()) + pl.col("must_recurring").fill_null(zero())
            ),
        )
    )
    avail90 = pl.col("cash_before_p90") - pl.col("must_pay_before")
    avail50 = pl.col("cash_before_p50") - pl.col("must_pay_before")

    def ratio(avail: pl.Expr) -> pl.Expr:
        return coverage_ratio(avail, pl.col("amount"))

    status = (
        pl.when(
            (avail90 >= pl.col("amount"))
            & (avail90 - pl.col("amount") >= pl.col("reserve").fill_null(zero()))
        )
        .then(pl.lit("green"))
        .when((avail90 >= pl.col("amount")) | (avail50 >= pl.col("amount")))
        .then(pl.lit("amber"))
        .otherwise(pl.lit("red"))
    )
    covered = avail90 >= pl.col("amount")
    label = (
        pl.when(pl.col("status") == "green")
        .then(pl.lit("covered"))
        .when(covered)
        .then(pl.lit("covered using the reserve"))
        .when(pl.col("status") == "amber")
        .then(pl.format("short by ${} if clients pay late; enough only if they pay on time", "sf"))
        .otherwise(pl.format("short by ${}", "sf"))
    )
    return (
        frame.with_columns(
            coverage=ratio(avail90),
            coverage_p50=ratio(avail50),
            status=status,
            covered=covered,
            shortfall=as_money(pl.max_horizontal(pl.col("amount") - avail90, zero())),
        )
        .with_columns(sf=whole_dollars_text(pl.col("shortfall"), sign=False))
        .with_columns(label=label)
        .sort("realm_id", "seq")
        .with_columns(
            # "covered" never names a payroll whose P90 coverage is below 1: count the payrolls
            # covered at P90, in a row from the next one
            payrolls_covered=pl.col("covered")
            .cast(pl.Int32)
            .cum_prod()
            .sum()
            .over("realm_id")
            .cast(pl.Int32)
        )
        .select(
            "realm_id",
            "seq",
            "date",
            pl.col("amount").cast(MONEY),
            "cash_before_p90",
            "cash_before_p50",
            "must_pay_before",
            "coverage",
            "coverage_p50",
            "status",
            "covered",
            "shortfall",
            "label",
            "payrolls_covered",
        )
    )


def coverage_ratio(avail: pl.Expr, amount: pl.Expr) -> pl.Expr:
    """avail ÷ payroll amount to 3 decimals, rounded half away from zero in exact integer cents,
    so the figure never depends on how a float happened to round (or on which companies were
    computed together)."""
    num = (avail * 100).cast(pl.Int64) * 1000
    den = (amount * 100).cast(pl.Int64)
    thousandths = (num.abs() * 2 + den) // (den * 2) * num.sign()
    return pl.when(den > 0).then((thousandths.cast(pl.Float64) / 1000).round(3)).otherwise(None)
