"""The prep tray's bill sections: every open bill due within the tray's horizon (or overdue) in
exactly one of Check first (a likely duplicate: never offered for payment), Must Pay (payroll,
taxes, rent, loans, utilities, critical vendors, bills past the delay tolerance) or Can Delay —
plus the expected must-pay outflows not yet entered as bills."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.hygiene import likely_duplicates
from runway.tray_schema import PAYROLL_PROVIDER_NOTE, TRAY_HORIZON_DAYS, conform, row_head
from runway.words import day


def bill_rows(
    bills: pl.DataFrame,
    all_bills: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    as_of: date,
    duplicates: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every open bill due by the tray's horizon (or overdue) in exactly one bill section, plus the
    expected must-pay outflows not yet entered as bills (payroll through the provider, taxes, …).

    ``bills``: classified open bills (``mustpay.classify_bills``: must_pay, latest_safe_date);
    ``all_bills``: the bill table (paid ones too) the duplicate check compares against;
    ``duplicates``: ``likely_duplicates(all_bills, as_of)`` if the caller has it already."""
    soon = as_of + timedelta(days=TRAY_HORIZON_DAYS)
    plan = plans.select("realm_id", pl.col("bill_id").alias("doc_id"), "planned_date")
    if duplicates is None:
        duplicates = likely_duplicates(all_bills, as_of)
    dups = duplicates.select(
        "realm_id", pl.col("id").alias("doc_id"), pl.col("other_id").alias("duplicate_of"), "why"
    )
    frame = (
        bills.filter(pl.col("aging_date") <= soon)
        .join(plan, on=["realm_id", "doc_id"], how="left")
        .join(dups, on=["realm_id", "doc_id"], how="left")
        .with_columns(
            planned_date=pl.max_horizontal(
                pl.coalesce("planned_date", "aging_date"), pl.lit(as_of)
            ),
            section=pl.when(pl.col("duplicate_of").is_not_null())
            .then(pl.lit("check_first"))
            .when(pl.col("must_pay"))
            .then(pl.lit("must_pay"))
            .otherwise(pl.lit("can_delay")),
        )
    )
    section = pl.col("section")
    provider = (section == "must_pay") & (pl.col("bill_kind") == "payroll")
    delay_moves = (section == "can_delay") & (pl.col("latest_safe_date") > pl.col("planned_date"))
    docs = frame.select(
        *row_head("bill"),
        pl.when(section == "check_first")
        .then(pl.format("likely duplicate: {}", "why"))
        .when(section == "must_pay")
        .then(pl.col("must_pay_reason"))
        .otherwise(pl.format("can wait until {}", day("latest_safe_date")))
        .alias("reason"),
        "planned_date",
        "latest_safe_date",
        "duplicate_of",
        ((section != "check_first") & ~provider).alias("selectable"),
        pl.when(section == "can_delay")
        .then(pl.lit("delay_bill"))
        .otherwise(pl.lit("pay_bill"))
        .alias("action"),
        pl.when(section == "check_first")
        .then(
            pl.format(
                "likely duplicate of bill {}: paying it needs an explicit override with a reason",
                "duplicate_of",
            )
        )
        .when(provider)
        .then(pl.lit(PAYROLL_PROVIDER_NOTE))
        .alias("not_selectable_reason"),
        pl.when(section == "must_pay")
        .then(pl.format("without:{}", "doc_id"))
        .when(delay_moves)
        .then(pl.format("delay:{}", "doc_id"))
        .alias("scenario_id"),
        pl.when(delay_moves).then(pl.col("latest_safe_date")).alias("new_date"),
    )
    kind = pl.col("kind")
    recurring = sched.filter(
        pl.col("covered_by_bill").is_null()
        & kind.is_in(["payroll", "tax", "rent", "loan", "utilities"])
        & (pl.col("date") <= soon)
    ).select(
        "realm_id",
        pl.lit("must_pay").alias("section"),
        pl.lit("recurring").alias("doc_type"),
        pl.col("pattern_id").alias("doc_id"),
        "party_id",
        pl.col("party").alias("party_name"),
        "amount",
        pl.col("date").alias("due_date"),
        pl.lit(0, dtype=pl.Int32).alias("days_past_due"),
        pl.format("expected {}", kind).alias("reason"),
        pl.lit(False).alias("selectable"),
        pl.when(kind == "payroll")
        .then(pl.lit(PAYROLL_PROVIDER_NOTE))
        .otherwise(pl.format("expected {}: not yet entered as a bill in QuickBooks", kind))
        .alias("not_selectable_reason"),
        # a pattern recurs: the scenario names the occurrence
        pl.format("without:{}@{}", "pattern_id", "date").alias("scenario_id"),
    )
    return pl.concat([conform(docs), conform(recurring)])
