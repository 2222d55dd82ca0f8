"""Recurring inflows — retainers: a customer invoiced on a steady calendar (monthly, bi-weekly,
quarterly) for similar amounts. Detected from invoice history like the outflow patterns, but they
enter the forecast only once the owner confirmed them (cash-domain.md: "recurring inflows only if
confirmed"), each expected invoice collected at its date + the customer's usual terms + P50/P90
lag, and never for a period already invoiced (that invoice is forecast instead)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

from runway.common import (
    gap_days,
    group_size,
    in_group_order,
    last_three,
    middle_of_last_three,
    sorted_by,
    to_home_currency,
    with_usual_day_of_month,
)
from runway.money import MONEY
from runway.recurring import (
    CADENCE_DAYS,
    HISTORY_DAYS,
    PATTERN_SCHEMA,
    expected_dates,
)

__all__ = [
    "CONFIRMED_SCHEMA",
    "INFLOW_CADENCES",
    "INFLOW_KIND",
    "INFLOW_SCHEMA",
    "ITEM_KIND",
    "MAX_AMOUNT_SPREAD",
    "MIN_OCCURRENCES",
    "PATTERN_ID",
    "RECENT",
    "detect_inflows",
    "inflow_items",
    "inflow_schedule",
    "invoice_events",
    "pattern_id",
    "validate_pattern_ids",
    "with_directions",
]

INFLOW_CADENCES = ("biweekly", "monthly", "quarterly")
INFLOW_KIND = "retainer"
ITEM_KIND = "recurring_inflow"
MIN_OCCURRENCES = 3
MAX_AMOUNT_SPREAD = (
    0.35  # coefficient of variation of recent amounts beyond which it is not "similar"
)
RECENT = 6  # invoices the amount spread and typical amount are judged on
PATTERN_ID = re.compile(r"^inflow:[^:\s]+:(" + "|".join(INFLOW_CADENCES) + r")$")

INFLOW_SCHEMA = pl.Schema({**PATTERN_SCHEMA, "terms_days": pl.Int32(), "confirmed": pl.Boolean()})
CONFIRMED_SCHEMA = pl.Schema({"realm_id": pl.String, "pattern_id": pl.String})


def pattern_id(customer_id: str, cadence: str) -> str:
    """Stable id of a customer's inflow pattern: ``inflow:<customer id>:<cadence>``."""
    return f"inflow:{customer_id}:{cadence}"


# the order invoice_events gives: the order retainers and billing rhythms are read in, so each
# of them reads the events without sorting half a million rows again
EVENT_ORDER = ("realm_id", "party_id", "date")


def invoice_events(
    invoices: pl.DataFrame,
    customers: pl.DataFrame,
    company_info: pl.DataFrame,
    as_of: date,
    sales_receipts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, party_id, party, date, amount (home currency), terms_days: invoices issued in the
    history window (voided, zero and unconvertible foreign ones left out); with
    ``sales_receipts``, cash sales too (billed and paid at once: 0 days' terms), so a customer
    who pays on the spot every month is seen billing like one invoiced every month. In
    ``EVENT_ORDER`` (stable)."""
    since = as_of - timedelta(days=HISTORY_DAYS)
    names = customers.select(
        "realm_id", pl.col("id").alias("party_id"), pl.col("display_name").alias("party")
    )
    if sales_receipts is not None and sales_receipts.height:
        invoices = pl.concat(
            [
                invoices.select(
                    "realm_id",
                    "customer_id",
                    "txn_date",
                    "due_date",
                    "total_amt",
                    "currency",
                    "exchange_rate",
                    "voided",
                ),
                sales_receipts.select(
                    "realm_id",
                    "customer_id",
                    "txn_date",
                    pl.col("txn_date").alias("due_date"),
                    "total_amt",
                    "currency",
                    "exchange_rate",
                    "voided",
                ),
            ],
            how="vertical_relaxed",
        )
    frame = (
        invoices.lazy()  # a lazy plan filters only the columns read, not the whole table
        .filter(
            (pl.col("txn_date") <= as_of)
            & (pl.col("txn_date") > since)
            & ~pl.col("voided").fill_null(False)
            & (pl.col("total_amt") > 0)
        )
        .select(
            "realm_id",
            pl.col("customer_id").alias("party_id"),
            "txn_date",
            "due_date",
            "total_amt",
            "currency",
            "exchange_rate",
        )
        .collect()
    )
    return (
        to_home_currency(frame, company_info, "total_amt", "amount")
        .filter(pl.col("fx_ok"))
        .join(names, on=["realm_id", "party_id"], how="left")
        .select(
            "realm_id",
            "party_id",
            pl.col("party").fill_null(pl.col("party_id")),
            pl.col("txn_date").alias("date"),
            pl.col("amount").cast(MONEY),
            (pl.col("due_date") - pl.col("txn_date"))
            .dt.total_days()
            .fill_null(0)
            .cast(pl.Int32)
            .alias("terms_days"),
        )
        .pipe(sorted_by, *EVENT_ORDER)
    )


def detect_inflows(
    events: pl.DataFrame, confirmed: pl.DataFrame | None, as_of: date, *, in_order: bool = False
) -> pl.DataFrame:
    """Retainer patterns per customer (INFLOW_SCHEMA): cadence from the gaps between invoices,
    typical amount (median of the last three), confidence = calendar fit × history length ×
    amount steadiness; ``confirmed`` when the owner confirmed the pattern id. ``in_order``:
    ``events`` are in ``EVENT_ORDER`` already (as ``invoice_events`` gives them)."""
    keys = ["realm_id", "party_id"]
    ordered = with_usual_day_of_month(
        in_group_order(events, keys, "date", in_order=in_order).filter(
            group_size() >= MIN_OCCURRENCES
        )
    ).with_columns(
        _gap=gap_days(),
        _recent=pl.when(pl.col("_from_end") < RECENT).then(pl.col("amount").cast(pl.Float64)),
    )
    gap = pl.col("_gap")
    pairs = (pl.len() - 1).clip(lower_bound=1)
    # one sort + one group-by on plain columns: only the statistics a retainer needs (big firms:
    # ~0.5M invoices)
    stats = (
        ordered.group_by("_g")
        .agg(
            pl.col("realm_id").first(),
            pl.col("party_id").first(),
            pl.len().cast(pl.UInt32).alias("occurrences"),
            pl.col("party").last(),
            pl.col("date").max().alias("last_date"),
            ((gap == 14).sum() / pairs).alias("s_biweekly"),
            (gap.is_between(26, 35).sum() / pairs).alias("s_monthly"),
            (gap.is_between(84, 98).sum() / pairs).alias("s_quarterly"),
            *last_three("amount"),
            (pl.col("_recent").std() / pl.col("_recent").mean())
            .fill_null(0.0)
            .fill_nan(1.0)
            .alias("spread"),
            pl.col("terms_days").median().round(0).cast(pl.Int32).alias("terms_days"),
            # the calendar anchors on the usual day of month, not on an early or late one-off
            pl.when(pl.col("date").dt.day() == pl.col("_usual")).then("date").max().alias("usual"),
        )
        .with_columns(amount=middle_of_last_three("occurrences").cast(MONEY))
    )
    cadence = (
        pl.when(pl.col("s_biweekly") >= 0.7)
        .then(pl.lit("biweekly"))
        .when(pl.col("s_monthly") >= 0.6)
        .then(pl.lit("monthly"))
        .when(pl.col("s_quarterly") >= 0.6)
        .then(pl.lit("quarterly"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    fit = (
        pl.when(pl.col("cadence") == "biweekly")
        .then("s_biweekly")
        .when(pl.col("cadence") == "monthly")
        .then("s_monthly")
        .otherwise("s_quarterly")
    )
    steadiness = (
        1.0 - (pl.col("spread") - 0.1).clip(lower_bound=0.0) / (MAX_AMOUNT_SPREAD - 0.1)
    ).clip(0.0, 1.0)
    stale_after = pl.col("cadence").replace_strict(CADENCE_DAYS, default=30) * 2
    found = (
        stats.with_columns(cadence=cadence)
        .filter(
            pl.col("cadence").is_not_null()
            & (pl.col("occurrences") >= MIN_OCCURRENCES)
            & (pl.col("spread") <= MAX_AMOUNT_SPREAD)
            & ((pl.lit(as_of) - pl.col("last_date")).dt.total_days() <= stale_after)
        )
        .with_columns(
            pattern_id=pl.format("inflow:{}:{}", "party_id", "cadence"),
            kind=pl.lit(INFLOW_KIND),
            anchor=pl.when(pl.col("cadence") == "biweekly").then("last_date").otherwise("usual"),
            source=pl.lit("detected"),
            confidence=(
                fit * pl.min_horizontal(pl.lit(1.0), pl.col("occurrences") / 6) * steadiness
            ).round(3),
        )
    )
    ok = (
        (pl.DataFrame(schema=CONFIRMED_SCHEMA) if confirmed is None else confirmed)
        .select("realm_id", "pattern_id", pl.lit(True).alias("confirmed"))
        .unique()
    )
    return (
        found.join(ok, on=["realm_id", "pattern_id"], how="left")
        .with_columns(pl.col("confirmed").fill_null(False))
        .select(INFLOW_SCHEMA.names())
        .cast(INFLOW_SCHEMA)
        .sort("realm_id", "pattern_id")
    )


def inflow_schedule(
    patterns: pl.DataFrame, events: pl.DataFrame, payers: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Expected invoices of every detected pattern in the horizon: realm_id, pattern_id, kind,
    party_id, party, date (expected invoice date), amount, covered_by_invoice (an invoice of that
    customer already issued for the period: not forecast twice), confirmed, collect_p50, collect_p90
    (date + the customer's usual terms + its P50/P90 days late, never before as_of)."""
    occ = expected_dates(patterns, as_of).join(
        patterns.select("realm_id", "pattern_id", "cadence", "terms_days", "confirmed"),
        on=["realm_id", "pattern_id"],
        how="left",
    )
    tolerance = (pl.col("cadence").replace_strict(CADENCE_DAYS, default=30) // 2).cast(pl.Int64)
    issued = events.select("realm_id", "party_id", pl.col("date").alias("issued"))
    covered = (
        occ.join(issued, on=["realm_id", "party_id"], how="inner")
        .filter((pl.col("issued") - pl.col("date")).dt.total_days().abs() <= tolerance)
        .group_by("realm_id", "pattern_id", "date")
        .agg(pl.col("issued").max().cast(pl.String).alias("covered_by_invoice"))
    )
    lags = payers.select(
        "realm_id", pl.col("customer_id").alias("party_id"), "p50_days_late", "p90_days_late"
    )

    def collect(lag: str) -> pl.Expr:
        return pl.max_horizontal(
            pl.col("date")
            + pl.duration(
                days=pl.col("terms_days").fill_null(0)
                + pl.col(lag).fill_null(0.0).ceil().cast(pl.Int64)
            ),
            pl.lit(as_of),
        )

    return (
        occ.join(covered, on=["realm_id", "pattern_id", "date"], how="left")
        .join(lags, on=["realm_id", "party_id"], how="left")
        .with_columns(collect_p50=collect("p50_days_late"), collect_p90=collect("p90_days_late"))
        .select(
            "realm_id",
            "pattern_id",
            "kind",
            "party_id",
            "party",
            "date",
            "amount",
            "covered_by_invoice",
            "confirmed",
            "collect_p50",
            "collect_p90",
        )
        .sort("realm_id", "date", "pattern_id")
    )


def inflow_items(sched: pl.DataFrame) -> pl.DataFrame:
    """Forecast items (ITEM_SCHEMA order) for confirmed, not yet invoiced occurrences: one per line,
    at the collection date of that line; source_id = the pattern id."""
    todo = sched.filter(pl.col("confirmed") & pl.col("covered_by_invoice").is_null())
    return pl.concat(
        [
            todo.select(
                "realm_id",
                pl.lit(line).alias("line"),
                pl.col(f"collect_{line}").alias("date"),
                pl.lit(ITEM_KIND).alias("kind"),
                pl.col("pattern_id").alias("source_id"),
                "party",
                pl.lit("in").alias("direction"),
                "amount",
            )
            for line in ("p50", "p90")
        ]
    )


def with_directions(
    outflows: pl.DataFrame, inflows: pl.DataFrame, inflow_sched: pl.DataFrame, company: pl.DataFrame
) -> pl.DataFrame:
    """The recurring report frame: outflow patterns (direction "outflow", always in the forecast;
    confirmed = the owner confirmed/overrode it) then inflow patterns (direction "inflow", in the
    forecast only when confirmed), each with its upcoming dates."""
    payroll_ok = company.select(
        "realm_id", pl.col("payroll_confirmed").fill_null(False).alias("_payroll_ok")
    )
    out = (
        outflows.join(payroll_ok, on="realm_id", how="left")
        .with_columns(
            direction=pl.lit("outflow"),
            confirmed=(pl.col("source") == "override")
            | ((pl.col("kind") == "payroll") & pl.col("_payroll_ok").fill_null(False)),
            in_forecast=pl.lit(True),
        )
        .drop("_payroll_ok")
    )
    upcoming = (
        inflow_sched.filter(pl.col("covered_by_invoice").is_null())
        .group_by("realm_id", "pattern_id")
        .agg(pl.col("date").sort().alias("next_dates"))
    )
    ins = inflows.join(upcoming, on=["realm_id", "pattern_id"], how="left").with_columns(
        next_date=pl.col("next_dates").list.first(),
        direction=pl.lit("inflow"),
        in_forecast=pl.col("confirmed"),
    )
    return pl.concat([out, ins], how="diagonal_relaxed").sort(
        "realm_id", "direction", "kind", "pattern_id", descending=[False, True, False, False]
    )


def validate_pattern_ids(pattern_ids: list[str]) -> list[str]:
    """Sorted, de-duplicated inflow pattern ids; ValueError naming any malformed one."""
    bad = [p for p in pattern_ids if not isinstance(p, str) or not PATTERN_ID.match(p)]
    if bad:
        raise ValueError(
            f"not inflow pattern ids: {', '.join(map(repr, bad))} (expected 'inflow:<customer id>:<"
            + "|".join(INFLOW_CADENCES)
            + ">')"
        )
    return sorted(set(pattern_ids))
