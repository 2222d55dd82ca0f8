"""Drift: what changed since last week's snapshot that deserves attention."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import polars as pl

from runway.money import MONEY
from runway.words import day, dollars

if TYPE_CHECKING:  # the type only: the view is built from what this module returns
    from runway.views import FirmView

DRIFT_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String,
        "kind": pl.String,
        "severity": pl.String,
        "message": pl.String,
        "before": pl.String,
        "after": pl.String,
    }
)
STATUS_RANK = {"green": 0, "amber": 1, "red": 2}
PAYROLL_WORDS = {"green": "covered", "amber": "tight", "red": "short"}  # oodaloo.present's words


def _frame(
    frame: pl.DataFrame,
    kind: str,
    severity: pl.Expr | str,
    message: pl.Expr,
    before: pl.Expr,
    after: pl.Expr,
) -> pl.DataFrame:
    sev = pl.lit(severity) if isinstance(severity, str) else severity
    return frame.select(
        "realm_id",
        pl.lit(kind).alias("kind"),
        sev.alias("severity"),
        message.alias("message"),
        before.cast(pl.String).alias("before"),
        after.cast(pl.String).alias("after"),
    )


def drift(
    now: FirmView, prev: FirmView | None, as_of: date, qbo_aging: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``now``/``prev`` are FirmViews (prev may be None); ``qbo_aging``: realm_id, side (ar|ap),
    total."""
    parts: list[pl.DataFrame] = []
    if prev is not None:
        r = now.runway.select("realm_id", "breach_date").join(
            prev.runway.select("realm_id", pl.col("breach_date").alias("prev_breach")),
            on="realm_id",
            how="inner",
        )
        moved = r.filter(
            pl.col("breach_date").is_not_null()
            & (pl.col("prev_breach").is_null() | (pl.col("breach_date") < pl.col("prev_breach")))
        )
        parts.append(
            _frame(
                moved,
                "breach_moved_earlier",
                "high",
                pl.format("projected reserve breach now {}", day("breach_date")),
                pl.col("prev_breach"),
                pl.col("breach_date"),
            )
        )

        def first(v: FirmView) -> pl.DataFrame:
            return v.payroll.filter(pl.col("seq") == 1).select("realm_id", "status")

        p = (
            first(now)
            .join(first(prev).rename({"status": "prev_status"}), on="realm_id", how="inner")
            .filter(
                pl.col("status").replace_strict(STATUS_RANK)
                > pl.col("prev_status").replace_strict(STATUS_RANK)
            )
        )
        parts.append(
            _frame(
                p,
                "payroll_status_changed",
                pl.when(pl.col("status") == "red").then(pl.lit("high")).otherwise(pl.lit("medium")),
                pl.format(
                    "next payroll now {}",
                    pl.col("status").replace_strict(PAYROLL_WORDS, default=pl.col("status")),
                ),
                pl.col("prev_status"),
                pl.col("status"),
            )
        )
        known = prev.aging_ap.detail.select("realm_id", "doc_id")
        large = (
            now.aging_ap.detail.join(known, on=["realm_id", "doc_id"], how="anti")
            .join(now.cash_position.select("realm_id", "cash"), on="realm_id", how="left")
            .filter(
                pl.col("balance").cast(pl.Float64)
                >= pl.max_horizontal(pl.lit(1000.0), pl.col("cash").cast(pl.Float64) * 0.05)
            )
        )
        parts.append(
            _frame(
                large,
                "new_large_bill",
                "medium",
                pl.format(
                    "new bill {} from {}: {}",
                    pl.col("doc_number").fill_null(pl.col("doc_id")),
                    "party_name",
                    dollars(pl.col("balance")),
                ),
                pl.lit(None),
                pl.col("balance"),
            )
        )
    lags = now.payers.filter(pl.col("source") == "history").select(
        "realm_id", pl.col("customer_id").alias("party_id"), "p90_days_late"
    )
    broke = now.aging_ar.detail.join(lags, on=["realm_id", "party_id"], how="inner").filter(
        (pl.col("days_past_due") > pl.col("p90_days_late"))
        & (pl.col("days_past_due") - 7 <= pl.col("p90_days_late"))
        & (pl.col("days_past_due") > 0)
    )
    parts.append(
        _frame(
            broke,
            "customer_lag_broken",
            "medium",
            pl.format(
                "{} is later than usual on invoice {}",
                "party_name",
                pl.col("doc_number").fill_null(pl.col("doc_id")),
            ),
            pl.col("p90_days_late").round(0),
            pl.col("days_past_due"),
        )
    )
    if qbo_aging is not None and qbo_aging.height:
        ours = pl.concat(
            [
                now.aging_ar.totals.select(
                    "realm_id", pl.lit("ar").alias("side"), pl.col("total").alias("ours")
                ),
                now.aging_ap.totals.select(
                    "realm_id", pl.lit("ap").alias("side"), pl.col("total").alias("ours")
                ),
            ]
        )
        diff = ours.join(
            qbo_aging.select("realm_id", "side", pl.col("total").cast(MONEY).alias("qbo")),
            on=["realm_id", "side"],
        ).filter(pl.col("ours") != pl.col("qbo"))
        parts.append(
            _frame(
                diff,
                "aging_mismatch",
                "high",
                pl.format(
                    "our {} aging differs from QuickBooks' report",
                    pl.col("side").str.to_uppercase(),
                ),
                pl.col("qbo"),
                pl.col("ours"),
            )
        )
    stale = now.freshness.filter(pl.col("status") != "fresh")
    parts.append(
        _frame(
            stale,
            "data_stale",
            "medium",
            pl.col("badge").fill_null("data not fresh"),
            pl.lit(None),
            pl.col("status"),
        )
    )
    return pl.concat([part.cast(DRIFT_SCHEMA) for part in parts]).sort(
        "realm_id", "severity", "kind"
    )


def week_before(as_of: date) -> date:
    return as_of - timedelta(days=7)
