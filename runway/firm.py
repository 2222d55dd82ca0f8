"""The firm table: one row per company, with an exception score so trouble sorts first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # the type only: the view is built from what this module returns
    from runway.views import FirmView

EXCEPTION_WEIGHTS = (
    "red payroll 100, amber 40; P90 breach within 4 weeks 50, within 13 weeks 20; stale data 10; "
    "91+ share > 20% 10; hygiene < 70 5; each high drift 5"
)


def firm_rows(view: FirmView, drift: pl.DataFrame) -> pl.DataFrame:
    """realm_id, company_name, cash, runway_weeks, breach_date, payroll_status, payrolls_covered,
    overdue_91_share, dso_days, dso_trend_days, hygiene_score, freshness_status, freshness_badge,
    exception_score."""
    pay = view.payroll.filter(pl.col("seq") == 1).select(
        "realm_id", pl.col("status").alias("payroll_status"), "payrolls_covered"
    )
    ar = view.aging_ar.totals.select(
        "realm_id",
        pl.when(pl.col("total") > 0)
        .then(pl.col("d91_plus").cast(pl.Float64) / pl.col("total").cast(pl.Float64))
        .otherwise(0.0)
        .round(4)
        .alias("overdue_91_share"),
    )
    highs = (
        drift.filter(pl.col("severity") == "high")
        .group_by("realm_id")
        .agg(pl.len().alias("high_drift"))
    )
    frame = (
        view.companies.select("realm_id", "company_name")
        .join(
            view.runway.select(
                "realm_id",
                "cash",
                "runway_weeks",
                "breach_date",
                "runway_weeks_p90",
                "breach_date_p90",
            ),
            on="realm_id",
            how="left",
        )
        .join(pay, on="realm_id", how="left")
        .join(ar, on="realm_id", how="left")
        .join(
            view.dso.select(
                "realm_id",
                pl.col("dso_simple_days").round(1).alias("dso_days"),
                pl.col("dso_trend_days").round(1),
            ),
            on="realm_id",
            how="left",
        )
        .join(view.hygiene_score, on="realm_id", how="left")
        .join(
            view.freshness.select(
                "realm_id",
                pl.col("status").alias("freshness_status"),
                pl.col("badge").alias("freshness_badge"),
            ),
            on="realm_id",
            how="left",
        )
        .join(highs, on="realm_id", how="left")
        .with_columns(
            pl.col("payroll_status").fill_null("none"),
            pl.col("payrolls_covered").fill_null(0),
            pl.col("freshness_status").fill_null("never"),
        )
    )
    weeks = pl.col("runway_weeks_p90")  # the firm ranks by the pessimistic (P90) date
    score = (
        pl.when(pl.col("payroll_status") == "red")
        .then(100)
        .when(pl.col("payroll_status") == "amber")
        .then(40)
        .otherwise(0)
        + pl.when(weeks.is_not_null() & (weeks < 4))
        .then(50)
        .when(weeks.is_not_null() & (weeks < 13))
        .then(20)
        .otherwise(0)
        + pl.when(pl.col("freshness_status") != "fresh").then(10).otherwise(0)
        + pl.when(pl.col("overdue_91_share") > 0.2).then(10).otherwise(0)
        + pl.when(pl.col("hygiene_score") < 70).then(5).otherwise(0)
        + pl.col("high_drift").fill_null(0) * 5
    )
    return (
        frame.with_columns(exception_score=score.cast(pl.Int32)).drop("high_drift").sort("realm_id")
    )
