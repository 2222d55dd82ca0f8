"""Making a digest: pick the cut-off, load "what we knew then", compute, draw, store.

The cut-off of week W is Friday 07:00 local (the company's zone; the firm's for the firm digest).
Made after the cut-off, the digest reads the snapshot at the cut-off (basis ``ingest``), so the
same week always regenerates with the same numbers. Made before it (a "make it now" click), it
reads the snapshot at ``now`` and is kept as an early preview, replaced at the cut-off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from digest import ledger
from digest.actions_feed import load_intents
from digest.charts import forecast_png
from digest.figures import build_company_digest, first_row, rows_of
from digest.model import Column, CompanyDigest, FirmDigest, Table, to_manifest
from digest.pdf import render_company_pdf, render_firm_pdf
from digest.weeks import IsoWeek, zone
from oodaloo.clock import DEFAULT_TZ
from oodaloo.config import Settings

FIRM = ledger.FIRM_SCOPE


@dataclass(frozen=True)
class Produced:
    scope: str  # realm id or "firm"
    week: IsoWeek
    pdf: bytes
    manifest: dict[str, Any]
    data_as_of: datetime
    pages: int
    early: bool


def digest_paths(settings: Settings, week: IsoWeek | str, scope: str) -> tuple[Path, Path]:
    """``digests/<week>/<realm or firm>.pdf`` and its ``.json`` manifest."""
    folder = settings.digests_dir / str(week)
    return folder / f"{scope}.pdf", folder / f"{scope}.json"


def stored_manifest(settings: Settings, week: IsoWeek | str, scope: str) -> dict[str, Any] | None:
    path = digest_paths(settings, week, scope)[1]
    return orjson.loads(path.read_bytes()) if path.exists() else None


def store_digest(settings: Settings, produced: Produced) -> tuple[Path, Path]:
    """Write PDF and manifest atomically (temp file + rename), manifest last."""
    pdf_path, json_path = digest_paths(settings, produced.week, produced.scope)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    for path, payload in (
        (pdf_path, produced.pdf),
        (
            json_path,
            orjson.dumps(produced.manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
        ),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    return pdf_path, json_path


def valid_zone(tz: str | None) -> str | None:
    if not tz:
        return None
    try:
        zone(tz)
    except ValueError:
        return None
    return tz


def company_directory(settings: Settings) -> dict[str, dict[str, str]]:
    """realm id -> name and time zone (company setting, else CompanyInfo, else the default)."""
    from runway.settings import all_company_settings
    from sync.store import warehouse_for

    if not settings.warehouse_path.exists():
        return {}
    with warehouse_for(
        settings
    ).read() as con:  # only CompanyInfo: this runs on every scheduler tick
        rows = con.execute(
            "SELECT realm_id, company_name, time_zone FROM cur_company_info ORDER BY realm_id"
        ).fetchall()
    overrides = all_company_settings(settings)
    directory = {}
    for realm, name, company_tz in rows:
        override = overrides.get(realm)
        tz = (
            valid_zone(override.time_zone if override else None)
            or valid_zone(company_tz)
            or DEFAULT_TZ
        )
        directory[str(realm)] = {"name": name or str(realm), "time_zone": tz}
    return directory


def cut_off(week: IsoWeek, tz: str, now: datetime) -> tuple[datetime, bool]:
    """The snapshot time for ``week`` made at ``now``, and whether that makes it an early
    preview."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    due = week.cutoff(tz)
    if now >= due:
        return due, False
    if now < datetime.combine(week.monday, datetime.min.time(), zone(tz)).astimezone(UTC):
        raise ValueError(f"week {week} has not started yet at {now.isoformat()}")
    return now.astimezone(UTC), True


def snapshot_time(
    settings: Settings, scope: str, week: IsoWeek, tz: str, now: datetime
) -> tuple[datetime, bool]:
    """The time recorded when the digest was first made (so it regenerates identically), else the
    cut-off (or ``now`` for an early preview)."""
    made = ledger.record(settings, scope, str(week))
    if made is not None and made.status == ledger.MADE and made.data_as_of:
        return datetime.fromisoformat(made.data_as_of), False
    return cut_off(week, tz, now)


def latest_known(settings: Settings, realm_ids: list[str] | None, now: datetime) -> datetime:
    """``now``, or the newest ingest time if later (the store's clock may run ahead of a frozen
    sandbox clock): the moment that captures everything synced so far, reproducibly."""
    from runway.snapshot import load_snapshot

    snapshot = load_snapshot(settings, realm_ids)
    stamps = [
        frame["ingested_at"].max()
        for frame in snapshot.tables.values()
        if "ingested_at" in frame.columns and not frame.is_empty()
    ]
    latest: datetime | None = max((s for s in stamps if isinstance(s, datetime)), default=None)
    moment = max(now.astimezone(UTC), latest) if latest is not None else now.astimezone(UTC)
    return max(moment, _latest_action(settings, realm_ids) or moment)


def _latest_action(settings: Settings, realm_ids: list[str] | None) -> datetime | None:
    """When the newest finished action of these companies finished: an early digest made after
    an action lists it (the action ledger's clock can run a moment past the last ingest)."""
    from digest.actions_feed import finished_at

    moments = [
        finished_at(intent)
        for intent in load_intents(settings)
        if realm_ids is None or intent.get("realm_id") in realm_ids
    ]
    return max((m for m in moments if m is not None), default=None)


def _firm_view(
    settings: Settings, realm_ids: list[str] | None, week: IsoWeek, data_as_of: datetime
) -> tuple[Any, Any]:
    """Calculators over the ingest snapshot at the cut-off; drift against the one a week earlier."""
    from runway.api import firm_view
    from runway.snapshot import load_snapshot
    from sync.freshness import company_freshness

    # the freshness service's verdict at the cut-off, stamped on (snapshots carry none of their own)
    snapshot = load_snapshot(settings, realm_ids, at=data_as_of, basis="ingest").with_freshness(
        company_freshness(settings, realm_ids, now=data_as_of)
    )
    previous = load_snapshot(settings, realm_ids, at=data_as_of - timedelta(days=7), basis="ingest")
    return snapshot, firm_view(settings, week.friday, snapshot, previous=previous)


def _company_digest(
    settings: Settings,
    firm: Any,
    snapshot: Any,
    realm_id: str,
    week: IsoWeek,
    tz: str,
    data_as_of: datetime,
    intents: list[dict[str, Any]],
) -> tuple[CompanyDigest, bytes | None]:
    from digest.actions_feed import executed_actions
    from runway.settings import get_company_settings

    view = firm.company(realm_id, get_company_settings(settings, realm_id))
    week_start = datetime.combine(week.monday, datetime.min.time(), zone(tz)).astimezone(UTC)
    digest = build_company_digest(
        view,
        realm_id=realm_id,
        company_name=view.company_name or realm_id,
        week=str(week),
        time_zone=tz,
        as_of=week.friday,
        data_as_of=data_as_of,
        freshness=first_row(snapshot.freshness, realm_id),
        actions=executed_actions(intents, realm_id, week_start, data_as_of, snapshot),
    )
    runway = first_row(view.runway, realm_id)
    payroll_dates = [r["date"] for r in rows_of(view.payroll, realm_id) if r.get("date")]
    chart = forecast_png(
        view.forecast.filter(pl.col("realm_id") == realm_id)
        if "realm_id" in view.forecast.columns
        else view.forecast,
        runway.get("reserve"),
        payroll_dates,
    )
    return digest, chart


def make_company_digest(
    settings: Settings, realm_id: str, week: IsoWeek, *, now: datetime, tz: str | None = None
) -> Produced:
    """One company's digest for ``week`` (not stored; see ``store_digest``)."""
    tz = tz or company_directory(settings).get(realm_id, {}).get("time_zone") or DEFAULT_TZ
    data_as_of, early = snapshot_time(settings, realm_id, week, tz, now)
    if early:
        data_as_of = latest_known(settings, [realm_id], now)
    snapshot, firm = _firm_view(settings, [realm_id], week, data_as_of)
    if realm_id not in snapshot.realm_ids and not early:
        data_as_of = latest_known(
            settings, [realm_id], now
        )  # nothing known at the cut-off: first data, recorded
        snapshot, firm = _firm_view(settings, [realm_id], week, data_as_of)
    if realm_id not in snapshot.realm_ids:
        raise LookupError(f"company {realm_id} has no synced data (digest {week})")
    digest, chart = _company_digest(
        settings, firm, snapshot, realm_id, week, tz, data_as_of, load_intents(settings)
    )
    pdf, pages = render_company_pdf(digest, week.span_text(), chart)
    return Produced(realm_id, week, pdf, to_manifest(digest), data_as_of, pages, early)


ROLLUP_COLUMNS = [
    Column("company_name", "Company", "text", 1.9),
    Column("cash", "Cash", "money", 1.0),
    Column("runway_weeks", "Runway", "weeks", 1.05),
    Column("breach_date", "Below reserve", "date", 1.35),
    Column("payroll_status", "Next payroll", "text", 0.8),
    Column("payrolls_covered", "Payrolls covered", "int", 0.85),
    Column("overdue_91_share", "A/R 91+", "percent", 0.65),
    Column("freshness_status", "Data", "text", 0.7),
]


def make_firm_digest(settings: Settings, week: IsoWeek, *, now: datetime) -> Produced:
    """The firm roll-up (exceptions first) followed by every company's pages."""
    from runway.api import exceptions_first

    tz = ledger.firm_time_zone(settings)
    data_as_of, early = snapshot_time(settings, FIRM, week, tz, now)
    if early:
        data_as_of = latest_known(settings, None, now)
    snapshot, firm = _firm_view(settings, None, week, data_as_of)
    if not snapshot.realm_ids and not early:
        data_as_of = latest_known(
            settings, None, now
        )  # nothing known at the cut-off: first data, recorded
        snapshot, firm = _firm_view(settings, None, week, data_as_of)
    table = exceptions_first(firm.firm)
    order = [r for r in table["realm_id"].to_list() if r in snapshot.realm_ids]
    companies: list[CompanyDigest] = []
    charts: dict[str, bytes | None] = {}
    intents = load_intents(settings)
    for realm_id in order:
        digest, chart = _company_digest(
            settings, firm, snapshot, realm_id, week, tz, data_as_of, intents
        )
        companies.append(digest)
        charts[realm_id] = chart
    rollup = Table(
        "rollup",
        "Every company",
        ROLLUP_COLUMNS,
        [
            {c.key: row.get(c.key) for c in ROLLUP_COLUMNS}
            for row in table.to_dicts()
            if row["realm_id"] in order
        ],
        empty_text="No company had synced data at the cut-off.",
    )
    firm_digest = FirmDigest(
        week=str(week), as_of=week.friday, data_as_of=data_as_of, rollup=rollup, companies=companies
    )
    pdf, pages = render_firm_pdf(
        firm_digest, week.span_text(), tz, lambda c: charts.get(c.realm_id)
    )
    return Produced(FIRM, week, pdf, to_manifest(firm_digest), data_as_of, pages, early)


def make_digest(
    settings: Settings, scope: str, week: IsoWeek, *, now: datetime, store: bool = True
) -> Produced:
    """Make (and by default store and record) the digest of ``scope`` (a realm id or "firm")."""
    produced = (
        make_firm_digest(settings, week, now=now)
        if scope == FIRM
        else make_company_digest(settings, scope, week, now=now)
    )
    if store:
        store_digest(settings, produced)
        ledger.mark_made(
            settings,
            scope,
            str(week),
            made_at=now,
            data_as_of=produced.data_as_of,
            pages=produced.pages,
            early=produced.early,
        )
    return produced


__all__ = [
    "Produced",
    "digest_paths",
    "stored_manifest",
    "store_digest",
    "company_directory",
    "cut_off",
    "make_company_digest",
    "make_firm_digest",
    "make_digest",
]
