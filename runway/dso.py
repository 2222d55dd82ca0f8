"""DSO (simple and countback, labelled) and DPO (denominator: all bills entered in the window)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.common import companies, to_home_currency
from runway.money import MONEY, zero
from runway.payers import invoice_payments, payment_links

WINDOW_DAYS = 91
COUNTBACK_MONTHS = 12
TREND_DAYS = 28


def trend_day(as_of: date) -> date:
    """The day DSO's trend compares with: 28 days before ``as_of``."""
    return as_of - timedelta(days=TREND_DAYS)


WINDOW_READ = ("realm_id", "txn_date", "total_amt", "currency", "exchange_rate")


def _window_sum(
    docs: pl.DataFrame, company_info: pl.DataFrame, end: date, name: str
) -> pl.DataFrame:
    start = end - timedelta(days=WINDOW_DAYS)
    voided = ~pl.col("voided").fill_null(False) if "voided" in docs.columns else pl.lit(True)
    frame = (  # a lazy plan filters only the columns read, not the whole table
        docs.lazy()
        .filter(voided & (pl.col("txn_date") > start) & (pl.col("txn_date") <= end))
        .select(c for c in WINDOW_READ if c in docs.columns)
        .collect()
    )
    frame = to_home_currency(frame, company_info, "total_amt", "home_amt").filter(pl.col("fx_ok"))
    return frame.group_by("realm_id").agg(pl.col("home_amt").sum().alias(name))


def ar_at(
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    company_info: pl.DataFrame,
    day: date,
    links: pl.DataFrame | None = None,
    applications: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """A/R as it stood on ``day``, rebuilt from invoice totals minus payments applied by then.
    ``links``: ``payment_links`` of these payments up to ``day`` or any later day (the ones after
    ``day`` are left out here), when the caller has them already; ``applications``:
    ``invoice_payments`` of these invoices with ``earlier=day``, likewise."""
    if applications is None:
        if links is None:
            links = payment_links(payments, day)
        applications = invoice_payments(invoices, links, earlier=day)
    open_amt = pl.col("total_amt") - pl.col("applied_earlier").fill_null(zero())
    # only invoices still open that day (a few of many): a paid one adds nothing to the sum
    frame = (
        applications.lazy()
        .filter((pl.col("txn_date") <= day) & (open_amt > 0))
        .with_columns(open_amt=open_amt.cast(MONEY))
        .collect()
    )
    frame = to_home_currency(frame, company_info, "open_amt", "home_open").filter(pl.col("fx_ok"))
    return (
        companies(company_info)
        .select("realm_id")
        .join(
            frame.group_by("realm_id").agg(pl.col("home_open").sum().alias("ar")),
            on="realm_id",
            how="left",
        )
        .with_columns(pl.col("ar").fill_null(zero()))
    )


def _ratio_days(amount: pl.Expr, flow: pl.Expr) -> pl.Expr:
    return (
        pl.when(flow > 0)
        .then(amount.cast(pl.Float64) / (flow.cast(pl.Float64) / WINDOW_DAYS))
        .otherwise(None)
    )


def countback(
    invoices: pl.DataFrame, company_info: pl.DataFrame, ar_totals: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """realm_id, dso_countback_days: peel back calendar months of sales, newest first, until A/R is
    used up."""
    realms = companies(company_info).select("realm_id")
    months = pl.DataFrame({"k": list(range(COUNTBACK_MONTHS))}, schema={"k": pl.Int32})
    month_start = pl.lit(as_of).dt.month_start().dt.offset_by(pl.format("-{}mo", pl.col("k")))
    grid = (
        realms.join(months, how="cross")
        .with_columns(start=month_start)
        .with_columns(end=pl.min_horizontal(pl.col("start").dt.month_end(), pl.lit(as_of)))
        .with_columns(days=(pl.col("end") - pl.col("start")).dt.total_days() + 1)
    )
    sales = (
        to_home_currency(
            invoices.lazy()  # only the columns read are filtered
            .filter(~pl.col("voided").fill_null(False) & (pl.col("txn_date") <= as_of))
            .select(c for c in WINDOW_READ if c in invoices.columns)
            .collect(),
            company_info,
            "total_amt",
            "home_amt",
        )
        .filter(pl.col("fx_ok"))
        .with_columns(start=pl.col("txn_date").dt.month_start())
    )
    sales = sales.group_by("realm_id", "start").agg(
        pl.col("home_amt").sum().cast(pl.Float64).alias("sales")
    )
    peeled = (
        grid.join(sales, on=["realm_id", "start"], how="left")
        .join(
            ar_totals.select("realm_id", pl.col("total").cast(pl.Float64).alias("ar")),
            on="realm_id",
            how="left",
        )
        .with_columns(pl.col("sales").fill_null(0.0))
        .sort("realm_id", "k")
        .with_columns(before=(pl.col("sales").cum_sum() - pl.col("sales")).over("realm_id"))
        .with_columns(remaining=(pl.col("ar") - pl.col("before")).clip(lower_bound=0.0))
        .with_columns(
            part=pl.when(pl.col("remaining") <= 0)
            .then(0.0)
            .when(pl.col("remaining") >= pl.col("sales"))
            .then(pl.col("days").cast(pl.Float64))
            .when(pl.col("sales") > 0)
            .then(pl.col("remaining") / pl.col("sales") * pl.col("days"))
            .otherwise(0.0)
        )
    )
    return peeled.group_by("realm_id").agg(
        pl.when(pl.col("ar").first() > 0)
        .then(pl.col("part").sum())
        .otherwise(0.0)
        .alias("dso_countback_days")
    )


def dso(
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    company_info: pl.DataFrame,
    ar_totals: pl.DataFrame,
    as_of: date,
    links: pl.DataFrame | None = None,
    applications: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """DSO simple (A/R ÷ revenue per day over 91 days), countback, and the simple figure 28 days
    earlier (``trend_day``). ``links``: as in ``ar_at``; ``applications``: ``invoice_payments``
    with ``earlier=trend_day(as_of)``, when the caller has them."""
    prev_day = trend_day(as_of)
    revenue = _window_sum(invoices, company_info, as_of, "revenue_window")
    prev_rev = _window_sum(invoices, company_info, prev_day, "prev_revenue")
    prev_ar = ar_at(invoices, payments, company_info, prev_day, links, applications).rename(
        {"ar": "prev_ar"}
    )
    frame = (
        companies(company_info)
        .select("realm_id")
        .join(
            ar_totals.select("realm_id", pl.col("total").alias("ar_total")),
            on="realm_id",
            how="left",
        )
        .join(revenue, on="realm_id", how="left")
        .join(prev_rev, on="realm_id", how="left")
        .join(prev_ar, on="realm_id", how="left")
        .join(countback(invoices, company_info, ar_totals, as_of), on="realm_id", how="left")
        .with_columns(
            pl.col(c).fill_null(zero()).cast(MONEY)
            for c in ["ar_total", "revenue_window", "prev_revenue", "prev_ar"]
        )
    )
    return (
        frame.select(
            "realm_id",
            "ar_total",
            pl.lit(WINDOW_DAYS).alias("window_days"),
            "revenue_window",
            _ratio_days(pl.col("ar_total"), pl.col("revenue_window")).alias("dso_simple_days"),
            "dso_countback_days",
            _ratio_days(pl.col("prev_ar"), pl.col("prev_revenue")).alias("dso_simple_prev_days"),
        )
        .with_columns(dso_trend_days=pl.col("dso_simple_days") - pl.col("dso_simple_prev_days"))
        .sort("realm_id")
    )


def dpo(
    bills: pl.DataFrame, company_info: pl.DataFrame, ap_totals: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """DPO = A/P ÷ (bills entered over 91 days ÷ 91); the denominator is every bill, not COGS."""
    entered = _window_sum(bills, company_info, as_of, "bills_window")
    return (
        companies(company_info)
        .select("realm_id")
        .join(
            ap_totals.select("realm_id", pl.col("total").alias("ap_total")),
            on="realm_id",
            how="left",
        )
        .join(entered, on="realm_id", how="left")
        .with_columns(pl.col(c).fill_null(zero()).cast(MONEY) for c in ["ap_total", "bills_window"])
        .select(
            "realm_id",
            "ap_total",
            pl.lit(WINDOW_DAYS).alias("window_days"),
            "bills_window",
            _ratio_days(pl.col("ap_total"), pl.col("bills_window")).alias("dpo_days"),
            pl.lit("bills entered in the window (all expense types)").alias("denominator"),
        )
        .sort("realm_id")
    )
