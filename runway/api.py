"""The facade of the runway package for pages, the digest and the CLI.

Everything is computed for all companies of a snapshot at once (``pipeline.compute``); a
``CompanyView`` is the slice for one company. JSON forms live in ``runway.reports``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from oodaloo.config import Settings
from oodaloo.timezone import DEFAULT_TZ
from runway import settings as settings_mod
from runway.pipeline import CalculatorInputs, compute
from runway.settings import (
    CompanySettings,
    all_company_settings,
    confirmed_inflows_frame,
    frames_from_settings,
    planned_pay_dates,
)
from runway.snapshot import Basis, Snapshot, load_snapshot
from runway.views import CompanyView, FirmView

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
    "confirm_all_detected_inflows",
    "end_of_day",
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


def end_of_day(as_of: date, tz: str | None = None) -> datetime:
    """The last instant of ``as_of`` in the company's zone, in UTC (historical snapshot time)."""
    local = datetime.combine(as_of + timedelta(days=1), time(0), ZoneInfo(tz or DEFAULT_TZ))
    return (local - timedelta(microseconds=1)).astimezone(UTC)


def zone_of(settings: Settings, realm_ids: Sequence[str] | None) -> str:
    """The time zone that ends a day for these companies: the one company's own zone (its
    setting), else the product default (a firm-wide cut spans several zones)."""
    if realm_ids is None or len(realm_ids) != 1:
        return DEFAULT_TZ
    own = all_company_settings(settings).get(realm_ids[0])
    return (own.time_zone if own is not None else None) or DEFAULT_TZ


def data_today(snapshot: Snapshot, tz: str) -> date | None:
    """The newest day the store holds data for (its latest successful sync, in ``tz``): "today"
    as the data knows it, for callers that pass no ``today`` — runway never reads a clock."""
    last = snapshot.freshness["last_success_at"].drop_nulls()
    if last.is_empty():
        return None
    newest: datetime = last.max()  # type: ignore[assignment]  # polars types max() loosely
    return newest.astimezone(ZoneInfo(tz)).date()


def snapshot_for(
    settings: Settings,
    as_of: date,
    realm_ids: list[str] | None = None,
    today: date | None = None,
    basis: Basis = "source",
) -> Snapshot:
    """Current snapshot for today's figures; for a past date the books as they stood at its end:
    ``basis="source"`` (default) = what QuickBooks says now about that day, today's documents
    rebuilt from their own dates (``runway.pointintime.books_as_of``: right for a company
    connected today; past digests and drift use it); ``basis="ingest"`` = what we had synced by
    then (the change log). ``today``: the caller's (``oodaloo.clock.today``); without it, the
    newest day of the data."""
    tz = zone_of(settings, realm_ids)
    current = None if today is not None else load_snapshot(settings, realm_ids)
    if today is None and current is not None:
        today = data_today(current, tz) or as_of
    if today is None or as_of >= today:
        return current if current is not None else load_snapshot(settings, realm_ids)
    if basis == "ingest":  # "what we knew at T": the change log as it had grown by then
        return load_snapshot(settings, realm_ids, at=end_of_day(as_of, tz), basis=basis)
    # "what QuickBooks says now about T": today's documents rebuilt from their own dates
    from runway.pointintime import books_as_of

    return books_as_of(
        current if current is not None else load_snapshot(settings, realm_ids), as_of
    )


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
        if snapshot.basis == "ingest":
            previous = load_snapshot(
                settings,
                snapshot.realm_ids or None,
                at=end_of_day(as_of - timedelta(days=7), zone_of(settings, snapshot.realm_ids)),
                basis="ingest",
            )
        else:  # last week's books rebuilt from the documents' dates (right for a new company)
            from runway.pointintime import books_as_of

            previous = books_as_of(snapshot, as_of - timedelta(days=7))
    company, critical, plans, confirmed = _inputs(settings, snapshot)
    return compute(
        CalculatorInputs(
            snapshot,
            as_of,
            company=company,
            critical=critical,
            plans=plans,
            previous=previous,
            qbo_aging=qbo_aging,
            confirmed=confirmed,
        )
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
            f"company {realm_id!r} is not in the store "
            f"(known: {', '.join(snapshot.realm_ids) or 'none'})"
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
        cash=view.cash_position,
        reserve=run.select("realm_id", "reserve"),
        trend=run.select("realm_id", "avg_weekly_net_outflow"),
        realm_id=realm_id,
        as_of=as_of,
        changes=changes,
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


def report(
    kind: str, settings: Settings, realm_id: str, as_of: date, snapshot: Snapshot | None = None
) -> dict[str, Any]:
    """One report as a JSON-ready dict (money as decimal strings, ISO dates); ``snapshot``: the
    caller's (stamped with freshness), else read here."""
    from runway.reports import company_report

    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report {kind!r}; choose one of: {', '.join(REPORT_KINDS)}")
    return company_report(kind, company_view(settings, realm_id, as_of, snapshot))


def confirm_all_detected_inflows(
    settings: Settings,
    as_of: date,
    realm_ids: Sequence[str] | None = None,
    min_confidence: float = 0.7,
) -> dict[str, list[str]]:
    """Confirm every recurring inflow detected as of ``as_of`` with at least ``min_confidence``
    (the demo owner "has confirmed their retainers"). Returns realm_id -> the ids confirmed now."""
    if not 0.0 <= min_confidence <= 1.0:
        raise settings_mod.SettingsError(
            f"min_confidence must be between 0 and 1, not {min_confidence!r}"
        )
    from runway.inflows import detect_inflows, invoice_events

    snap = snapshot_for(settings, as_of, list(realm_ids) if realm_ids is not None else None)
    events = invoice_events(
        snap["invoice"], snap["customer"], snap["company_info"], as_of, snap["sales_receipt"]
    )
    found = detect_inflows(events, None, as_of).filter(pl.col("confidence") >= min_confidence)
    confirmed: dict[str, list[str]] = {}
    for realm, ids in (
        found.group_by("realm_id").agg(pl.col("pattern_id").sort()).sort("realm_id").iter_rows()
    ):
        settings_mod.confirm_recurring_inflows(settings, realm, ids)
        confirmed[realm] = list(ids)
    return confirmed


def firm_report(
    settings: Settings, as_of: date, snapshot: Snapshot | None = None
) -> list[dict[str, Any]]:
    from runway.reports import firm_rows

    return firm_rows(firm_table(settings, as_of, snapshot))


def view_fields() -> list[str]:
    return [f.name for f in fields(CompanyView)]
