"""The console's view cache key: saved settings and bill plans change it, other writes to
state.sqlite (token refreshes, request counting) do not, so a new session reuses the views."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal

from oodaloo.clock import today
from oodaloo.config import Settings
from pages import _state
from runway.settings import clear_planned_pay_date, save_company_settings, set_planned_pay_date
from sync.connections import list_companies


def test_only_forecast_inputs_change_the_view_stamp(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    before = _state._saved_settings_stamp()

    mtime = demo_settings.state_path.stat().st_mtime_ns
    with sqlite3.connect(demo_settings.state_path) as con:  # a write the views do not read
        con.execute("UPDATE qbo_connections SET realm_id = realm_id")
    con.close()
    wal = demo_settings.state_path.with_name(demo_settings.state_path.name + "-wal")
    moved = demo_settings.state_path.stat().st_mtime_ns != mtime or wal.exists()
    assert moved  # the file's modification stamp alone would have dropped every view
    assert _state._saved_settings_stamp() == before

    save_company_settings(demo_settings, realm, reserve=Decimal("1234.00"))
    after_setting = _state._saved_settings_stamp()
    assert after_setting != before

    planned = today(demo_settings) + timedelta(days=10)
    set_planned_pay_date(demo_settings, realm, "bill-1", planned)
    after_plan = _state._saved_settings_stamp()
    assert after_plan not in (before, after_setting)

    clear_planned_pay_date(demo_settings, realm, "bill-1")
    assert _state._saved_settings_stamp() != after_plan
