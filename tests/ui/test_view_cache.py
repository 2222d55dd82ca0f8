"""The console's view cache key: saved settings and bill plans change it, other writes to
state.sqlite (token refreshes, request counting) do not, so a new session reuses the views."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

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


def test_the_launchers_warm_up_leaves_a_first_session_nothing_to_compute(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``oodaloo console`` warms the process before it listens (pages._warm): the default
    company's Runway and the firm grid are then served without running a calculator."""
    from ui_support import open_app, texts

    import runway.api
    from pages._warm import warm

    took = warm(demo_settings)
    assert {"snapshot", "default company", "firm grid"} <= set(took)

    def recomputed(*args: object, **kwargs: object) -> None:
        raise AssertionError("a view was computed again after the warm-up")

    monkeypatch.setattr(runway.api, "company_view", recomputed)
    monkeypatch.setattr(runway.api, "firm_view", recomputed)
    first = list_companies(demo_settings)[0]  # the picker's first company (ordered by name)
    at = open_app("runway", first.realm_id)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert first.name in texts(at)
    assert at.get("vega_lite_chart"), "the 13-week chart is drawn"
    firm = open_app("firm")
    assert not firm.exception and not firm.error, [e.value for e in firm.error]
    assert len(firm.dataframe[0].value) == len(list_companies(demo_settings))


def test_settings_are_built_once_per_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page run asks for the settings many times: built once, yet never stale when the
    environment changes (a test's, or an operator's next start)."""
    monkeypatch.setenv("OODALOO_DATA_DIR", str(tmp_path / "a"))
    first = _state.settings()
    assert _state.settings() is first and first.data_dir == tmp_path / "a"
    monkeypatch.setenv("OODALOO_DATA_DIR", str(tmp_path / "b"))
    assert _state.settings().data_dir == tmp_path / "b"
    monkeypatch.setenv("OODALOO_FRESHNESS_MINUTES", "7")
    assert _state.settings().freshness_minutes == 7
