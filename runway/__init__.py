"""Cash-runway calculators: pure Polars functions over snapshots of the store (see docs/reports.md).

The public API is ``__all__`` below (imported on first use): the facade ``runway.api`` for
pages, the digest and the CLI, snapshots, and the per-company settings. Calculator modules are
internal: they take frames and ``as_of`` and never read a clock, the network or QBO."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oodaloo.faces import export

if TYPE_CHECKING:  # for type checkers; at run time each name is imported on first use
    from runway.api import (
        REPORT_KINDS,
        company_view,
        confirm_all_detected_inflows,
        end_of_day,
        exceptions_first,
        firm_report,
        firm_table,
        firm_view,
        report,
        selection_effect,
        snapshot_for,
    )
    from runway.pipeline import CalculatorInputs, compute
    from runway.settings import (
        CompanySettings,
        get_company_settings,
        planned_pay_dates,
        save_company_settings,
        set_planned_pay_date,
    )
    from runway.snapshot import Snapshot, load_snapshot
    from runway.views import CompanyView, FirmView

__all__ = [
    "load_snapshot",
    "Snapshot",
    "snapshot_for",
    "company_view",
    "firm_view",
    "firm_table",
    "exceptions_first",
    "selection_effect",
    "report",
    "firm_report",
    "REPORT_KINDS",
    "end_of_day",
    "confirm_all_detected_inflows",
    "CompanyView",
    "FirmView",
    "CalculatorInputs",
    "compute",
    "CompanySettings",
    "get_company_settings",
    "save_company_settings",
    "set_planned_pay_date",
    "planned_pay_dates",
]
_EXPORTS = {
    "load_snapshot": "runway.snapshot",
    "Snapshot": "runway.snapshot",
    "snapshot_for": "runway.api",
    "company_view": "runway.api",
    "firm_view": "runway.api",
    "firm_table": "runway.api",
    "exceptions_first": "runway.api",
    "selection_effect": "runway.api",
    "report": "runway.api",
    "firm_report": "runway.api",
    "REPORT_KINDS": "runway.api",
    "end_of_day": "runway.api",
    "confirm_all_detected_inflows": "runway.api",
    "CompanyView": "runway.views",
    "FirmView": "runway.views",
    "CalculatorInputs": "runway.pipeline",
    "compute": "runway.pipeline",
    "CompanySettings": "runway.settings",
    "get_company_settings": "runway.settings",
    "save_company_settings": "runway.settings",
    "set_planned_pay_date": "runway.settings",
    "planned_pay_dates": "runway.settings",
}


def __getattr__(name: str) -> object:
    return export(__name__, _EXPORTS, name)
