"""The prep tray — Must Pay, Can Delay, Check first, Chase (with Disputed and Apply credit apart)
— each row with its effect where the owner feels it: the balance on the next payday, the next
payroll's coverage before → after, and the weeks to the reserve, each from the forecast re-run
with that one change (every row of every company in one vectorised pass).

Sections, so that nothing falls between them:
  * every open bill due within the tray's horizon (two weeks) or overdue is in exactly one of
    ``check_first`` (a likely duplicate: never offered for payment), ``must_pay`` (payroll, taxes,
    rent, loans, utilities, critical vendors, bills past the delay tolerance) or ``can_delay``;
  * every overdue invoice is in exactly one of ``apply_credit`` (the customer's unapplied payments
    and open credit memos cover it), ``disputed`` (a note on the invoice or the owner's flag) or
    ``chase`` (ranked by the cash a reminder is likely to bring within the horizon; customers
    without an e-mail appear as "call", recently reminded ones with the reminder's date).

Built by concept: the row shape (``runway.tray_schema``), the bill sections
(``runway.tray_bills``), the invoice sections and chase ranking (``runway.tray_chase``), the
re-runs each row's one change needs (``runway.tray_scenarios``), their reading as effects
(``runway.tray_effects``) and the row words (``runway.words``); this module puts them together
and keeps every name importable from ``runway.tray``.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from runway.common import DISPUTE_NOTE, Tables
from runway.tray_bills import bill_rows
from runway.tray_chase import (
    COLLECT_HORIZON_DAYS,
    DEFAULT_COLLECT_SHARE,
    DEFAULT_REMINDER_LAG_DAYS,
    REMINDER_HISTORY_MIN,
    collect_likelihood,
    invoice_rows,
    open_credits,
)
from runway.tray_effects import with_effects
from runway.tray_scenarios import (
    CHUNK,
    PRIOR,
    SCENARIOS_PER_SECTION,
    cap_scenarios,
    effect_pair,
    effects,
    prior_id,
    recurring_occurrences,
    scenarios_of,
)
from runway.tray_schema import (
    BILL_SECTIONS,
    INVOICE_SECTIONS,
    PAYROLL_PROVIDER_NOTE,
    SECTIONS,
    TRAY_HORIZON_DAYS,
    TRAY_SCHEMA,
)

__all__ = [
    "BILL_SECTIONS",
    "CHUNK",
    "COLLECT_HORIZON_DAYS",
    "DEFAULT_COLLECT_SHARE",
    "DEFAULT_REMINDER_LAG_DAYS",
    "DISPUTE_NOTE",
    "INVOICE_SECTIONS",
    "PAYROLL_PROVIDER_NOTE",
    "PRIOR",
    "REMINDER_HISTORY_MIN",
    "SCENARIOS_PER_SECTION",
    "SECTIONS",
    "TRAY_HORIZON_DAYS",
    "TRAY_SCHEMA",
    "TrayDraft",
    "bill_rows",
    "cap_scenarios",
    "collect_likelihood",
    "draft_rows",
    "effects",
    "invoice_rows",
    "open_credits",
    "prep_tray",
    "recurring_occurrences",
    "scenarios_of",
    "tray_rows",
    "with_effects",
]


TrayDraft = tuple[pl.DataFrame, pl.DataFrame]  # (bill rows, invoice rows) before the forecast


def draft_rows(
    tables: Tables,
    *,
    bills: pl.DataFrame,
    ar_detail: pl.DataFrame,
    unapplied: pl.DataFrame,
    payers: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
    duplicates: pl.DataFrame | None = None,
) -> TrayDraft:
    """(bill rows, invoice rows) of every company: what the tray's sections hold before the
    forecast dates the bills are paid on. Why apart: none of it reads the forecast, so the
    pipeline draws it up while the forecast items are still being computed."""
    return (
        bill_rows(bills, tables["bill"], sched, plans, as_of, duplicates),
        invoice_rows(tables, ar_detail, unapplied, payers, company, as_of),
    )


def tray_rows(
    tables: Tables,
    *,
    bills: pl.DataFrame,
    ar_detail: pl.DataFrame,
    unapplied: pl.DataFrame,
    payers: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
    items: pl.DataFrame | None = None,
    duplicates: pl.DataFrame | None = None,
    draft: TrayDraft | None = None,
) -> pl.DataFrame:
    """Every tray row of every company (sections in the module doc), scenarios capped; with the
    forecast's ``items``, each bill planned on the day the forecast pays it. ``duplicates``: the
    bill table's ``likely_duplicates`` on ``as_of``, and ``draft``: the ``draft_rows`` of these
    inputs, if the caller has them."""
    if draft is None:
        draft = draft_rows(
            tables,
            bills=bills,
            ar_detail=ar_detail,
            unapplied=unapplied,
            payers=payers,
            sched=sched,
            plans=plans,
            company=company,
            as_of=as_of,
            duplicates=duplicates,
        )
    bill_part, invoice_part = draft
    if items is not None:  # the bill rows only: the invoice rows are the larger part
        bill_part = _on_forecast_dates(bill_part, items)
    return cap_scenarios(pl.concat([bill_part, invoice_part]))


def _on_forecast_dates(rows: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """A bill's planned date is when the forecast pays it: the owner's plan, else this company's
    usual day for such bills (which may already be past the latest safe date: the effect then
    weighs paying today against waiting as the forecast expects)."""
    paid_on = (
        items.filter((pl.col("line") == "p50") & (pl.col("kind") == "bill"))
        .group_by("realm_id", pl.col("source_id").alias("doc_id"))
        .agg(pl.col("date").min().alias("forecast_date"))
        .with_columns(doc_type=pl.lit("bill"))
    )
    return (
        rows.join(paid_on, on=["realm_id", "doc_type", "doc_id"], how="left")
        .with_columns(planned_date=pl.coalesce("forecast_date", "planned_date"))
        .drop("forecast_date")
    )


def prep_tray(
    tables: Tables,
    *,
    bills: pl.DataFrame,
    ar_detail: pl.DataFrame,
    unapplied: pl.DataFrame,
    payers: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    company: pl.DataFrame,
    items: pl.DataFrame,
    position: pl.DataFrame,
    reserve: pl.DataFrame,
    payroll: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
    base_paths: pl.DataFrame | None = None,
    duplicates: pl.DataFrame | None = None,
    draft: TrayDraft | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tray with effects, the re-run figures per scenario): the whole tray in one pass.
    ``base_paths``: the P50 daily paths of ``items`` from ``position``, and ``duplicates``: the
    bill table's ``likely_duplicates`` on ``as_of``, if the caller has them (the pipeline computes
    them for the runway and hygiene; the tray then need not); ``draft``: the ``draft_rows`` of
    these inputs, likewise (the pipeline draws them up beside the forecast)."""
    rows = tray_rows(
        tables,
        bills=bills,
        ar_detail=ar_detail,
        unapplied=unapplied,
        payers=payers,
        sched=sched,
        plans=plans,
        company=company,
        as_of=as_of,
        items=items,
        duplicates=duplicates,
        draft=draft,
    )
    payday = payroll.filter(pl.col("seq") == 1).select("realm_id", pl.col("date").alias("payday"))
    uncounted = (  # coverage already leaves out a bill the tray can delay past the payday
        rows.filter(pl.col("section") == "can_delay")
        .join(payday, on="realm_id", how="inner")
        .filter(pl.col("latest_safe_date") >= pl.col("payday"))
        .select("realm_id", "scenario_id", prior_id().alias("prior"))
        .drop_nulls()
        .unpivot(index="realm_id", value_name="sid")
        .select("realm_id", pl.col("sid").alias("scenario_id"))
    )
    fx, lows = effects(
        items,
        cash=position,
        reserve=reserve,
        scenarios=scenarios_of(rows, as_of, recurring_occurrences(sched, items)),
        as_of=as_of,
        trend=trend,
        payroll=payroll,
        uncounted=uncounted,
        pairs=rows.filter(pl.col("scenario_id").is_not_null())
        .select("realm_id", *effect_pair())
        .unique(),
        base_paths=base_paths,
    )
    return with_effects(rows, fx, payroll, lows), fx
