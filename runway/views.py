"""The result types of the calculators: ``FirmView`` (every company at once) and ``CompanyView``
(one company's slice). Their own module so the pipeline that fills them, the facade that hands
them out and the calculators that read them (drift, firm) share the types without importing
each other."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

import polars as pl

from runway.aging import Aging
from runway.settings import CompanySettings

DEFAULTS = CompanySettings()


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


@dataclass(frozen=True)
class FirmView:
    """Every calculator result for all companies (frames keyed by realm_id)."""

    as_of: date
    companies: pl.DataFrame
    company_settings: pl.DataFrame
    cash: pl.DataFrame
    cash_position: pl.DataFrame
    aging_ar: Aging
    aging_ap: Aging
    dso: pl.DataFrame
    dpo: pl.DataFrame
    payers: pl.DataFrame
    recurring: pl.DataFrame
    recurring_schedule: pl.DataFrame
    bills: pl.DataFrame
    forecast: pl.DataFrame
    forecast_items: pl.DataFrame
    runway: pl.DataFrame
    payroll: pl.DataFrame
    tray: pl.DataFrame
    tray_effects: pl.DataFrame
    hygiene: pl.DataFrame
    hygiene_score: pl.DataFrame
    freshness: pl.DataFrame
    drift: pl.DataFrame
    firm: pl.DataFrame
    # expected retainer invoices (see runway.inflows.inflow_schedule); the confirmed ones are in
    # the forecast
    recurring_inflow_schedule: pl.DataFrame = field(default_factory=pl.DataFrame)

    def only(self, realm_ids: Iterable[str]) -> FirmView:
        """The same results restricted to some companies (whom a person may see): every frame
        that carries a realm_id keeps only their rows; nothing is recomputed."""
        keep = pl.col("realm_id").is_in(list(realm_ids))

        def pick(value: Any) -> Any:
            if isinstance(value, pl.DataFrame) and "realm_id" in value.columns:
                return value.filter(keep)
            if isinstance(value, Aging):
                return Aging(*(pick(getattr(value, f.name)) for f in fields(Aging)))
            return value

        return replace(self, **{f.name: pick(getattr(self, f.name)) for f in fields(self)})

    def company(self, realm_id: str, settings: CompanySettings | None = None) -> CompanyView:
        keep = pl.col("realm_id") == realm_id

        def pick(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.filter(keep)

        def side(aging: Aging) -> Aging:
            return Aging(*(pick(getattr(aging, f.name)) for f in fields(Aging)))

        names = self.companies.filter(keep)["company_name"].to_list()
        return CompanyView(
            realm_id=realm_id,
            company_name=names[0] if names else realm_id,
            as_of=self.as_of,
            settings=settings or DEFAULTS,
            cash=pick(self.cash),
            cash_position=pick(self.cash_position),
            aging_ar=side(self.aging_ar),
            aging_ap=side(self.aging_ap),
            dso=pick(self.dso),
            dpo=pick(self.dpo),
            payers=pick(self.payers),
            recurring=pick(self.recurring),
            recurring_schedule=pick(self.recurring_schedule),
            forecast=pick(self.forecast),
            forecast_items=pick(self.forecast_items),
            runway=pick(self.runway),
            payroll=pick(self.payroll),
            tray=pick(self.tray),
            tray_effects=pick(self.tray_effects),
            drift=pick(self.drift),
            hygiene=pick(self.hygiene),
            freshness=pick(self.freshness),
            firm_row=pick(self.firm),
            recurring_inflow_schedule=pick(self.recurring_inflow_schedule),
        )
