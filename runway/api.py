"""The facade of the runway package for pages, the digest and the CLI.

Everything is computed for all companies of a snapshot at once (``pipeline.compute``); a
``CompanyView`` is the slice for one company. JSON forms live in ``runway.reports``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from oodaloo.config import Settings
from runway.aging import Aging
from runway.pipeline import FirmView, compute
from runway.settings import (
    CompanySettings,
    all_company_settings,
    confirmed_inflows_frame,
    frames_from_settings,
    planned_pay_dates,
)
from runway.snapshot import Basis, Snapshot, load_snapshot

__all__ = [
    "CompanyView",
    "FirmView",
    "Snapshot",
    "load_snapshot",
    "company_view",
    "firm_view",
    "firm_table",
    "exceptions_first",
    "report",
    "firm_report",
    "REPORT_KINDS",
    "snapshot_for",
    "selection_effect",
]

REPORT_KINDS = (
    "cash",
    "aging-ar",
    "aging-ap",
    "payers",
    "recurring",
    "forecast",
    "runway",
    "payroll",
    "tray",
    "drift",
    "hygiene",
)
DEFAULT_TZ = "America/New_York"


@dataclass(frozen=True)
class CompanyView:
    """Every calculator result for one company (frames filtered to its realm_id)."""

    realm_id: str
    company_name: str
    as_of: date
    settings: CompanySettings
    cash: pl.DataFrame
    cash_position: pl.DataFrame
    aging_ar: Aging
    aging_ap: Aging
    dso: pl.DataFrame
    dpo: pl.DataFrame
    payers: pl.DataFrame
    recurring: pl.DataFrame
    recurring_schedule: pl.DataFrame
    forecast: pl.DataFrame
    forecast_items: pl.DataFrame
    runway: pl.DataFrame
    payroll: pl.DataFrame
    tray: pl.DataFrame
    tray_effects: pl.DataFrame
    drift: pl.DataFrame
    hygiene: pl.DataFrame
    freshness: pl.DataFrame
    firm_row: pl.DataFrame
    recurring_inflow_schedule: pl.DataFrame = field(default_factory=pl.DataFrame)


def end_of_day(as_of: date, tz: str | None = None) -> datetime:
    """The last instant of ``as_of`` in the company's zone, in UTC (historical snapshot time)."""
    local = datetime.combine(as_of + timedelta(days=1), time(0), ZoneInfo(tz or DEFAULT_TZ))
    return (local - timedelta(microseconds=1)).astimezone(UTC)


def snapshot_for(
    settings: Settings,
    as_of: date,
    realm_ids: list[str] | None = None,
    today: date | None = None,
    basis: Basis = "source",
) -> Snapshot:
    """Current snapshot for today's figures; a historical one (end of ``as_of``) for a past date."""
    if today is None:
        from oodaloo.clock import today as clock_today

        today = clock_today(settings)
    at = end_of_day(as_of) if as_of < today else None
    return load_snapshot(settings, realm_ids, at=at, basis=basis)


def _inputs(
    settings: Settings, snapshot: Snapshot
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    by_realm = all_company_settings(settings)
    company, critical = frames_from_settings(by_realm, snapshot.realm_ids)
    return (
        company,
        critical,
        planned_pay_dates(settings),
        confirmed_inflows_frame(by_realm, snapshot.realm_ids),
    )


def firm_view(
    settings: Settings,
    as_of: date,
    snapshot: Snapshot | None = None,
    previous: Snapshot | None = None,
    qbo_aging: pl.DataFrame | None = None,
) -> FirmView:
    """All calculators for every company of the snapshot, vectorised; drift against ``previous``
    (default: the historical snapshot of a week before ``as_of``)."""
    if snapshot is None:
        snapshot = snapshot_for(settings, as_of)
    if previous is None and settings.warehouse_path.exists():
        previous = load_snapshot(
            settings, snapshot.realm_ids or None, at=end_of_day(as_of - timedelta(days=7))
        )
    company, critical, plans, confirmed = _inputs(settings, snapshot)
    return compute(
        snapshot,
        as_of,
        company,
        critical,
        plans,
        previous=previous,
        qbo_aging=qbo_aging,
        confirmed=confirmed,
    )


def company_view(
    settings: Settings, realm_id: str, as_of: date, snapshot: Snapshot | None = None
) -> CompanyView:
    """Every result for one company."""
    if snapshot is None:
        snapshot = snapshot_for(settings, as_of, [realm_id])
    else:
        snapshot = snapshot.only([realm_id])
    if realm_id not in snapshot.realm_ids:
        raise KeyError(
            f"company {realm_id!r} is not in the store (known: {', '.join(snapshot.realm_ids) or 'none'})"
        )
    view = firm_view(settings, as_of, snapshot)
    return view.company(realm_id, all_company_settings(settings).get(realm_id, CompanySettings()))


def selection_effect(
    settings: Settings,
    realm_id: str,
    as_of: date,
    changes: list[dict[str, Any]],
    snapshot: Snapshot | None = None,
    view: CompanyView | None = None,
) -> dict[str, Any]:
    """Runway before/after a whole selection of tray actions, the forecast re-run once with every
    change together (``runway.selection.combined_effect``; money as Decimal). ``view``: the
    company's already computed view (the console has it), else it is computed here."""
    from runway.selection import combined_effect, effect_text

    if view is None:
        view = company_view(settings, realm_id, as_of, snapshot)
    elif view.realm_id != realm_id or view.as_of != as_of:
        raise ValueError(
            f"view is for {view.realm_id} as of {view.as_of}, not {realm_id} as of {as_of}"
        )
    run = view.runway
    effect = combined_effect(
        view.forecast_items,
        view.cash_position,
        run.select("realm_id", "reserve"),
        run.select("realm_id", "avg_weekly_net_outflow"),
        realm_id,
        as_of,
        changes,
    )
    return {**effect, "text": effect_text(effect)}


def firm_table(settings: Settings, as_of: date, snapshot: Snapshot | None = None) -> pl.DataFrame:
    """One row per company (see docs/reports.md), exceptions first."""
    return exceptions_first(firm_view(settings, as_of, snapshot).firm)


def exceptions_first(firm: pl.DataFrame) -> pl.DataFrame:
    """Companies in trouble first: highest exception score, then shortest runway, then name."""
    return firm.sort(
        ["exception_score", "runway_weeks", "company_name"],
        descending=[True, False, False],
        nulls_last=True,
    )


def report(kind: str, settings: Settings, realm_id: str, as_of: date) -> dict[str, Any]:
    """One report as a JSON-ready dict (money as decimal strings, ISO dates)."""
    from runway.reports import company_report

    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report {kind!r}; choose one of: {', '.join(REPORT_KINDS)}")
    return company_report(kind, company_view(settings, realm_id, as_of))


def firm_report(settings: Settings, as_of: date) -> list[dict[str, Any]]:
    from runway.reports import firm_rows

    return firm_rows(firm_table(settings, as_of))


def view_fields() -> list[str]:
    return [f.name for f in fields(CompanyView)]
