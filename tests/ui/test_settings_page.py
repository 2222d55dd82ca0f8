"""Settings page: saving a company's settings changes what the console shows."""

from __future__ import annotations

from decimal import Decimal

from ui_support import open_app

from oodaloo.clock import today
from oodaloo.config import Settings
from runway.api import company_view
from runway.settings import get_company_settings
from sync.connections import list_companies


def test_saving_a_reserve_moves_the_runway_figures(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    at = open_app("settings", realm)
    form = at.get("form")[0] if at.get("form") else None
    assert form is not None, "the settings form is shown"
    at.text_input[0].set_value("250000")
    at.number_input[1].set_value(3)  # reminder cooldown
    at.text_area[0].set_value("owner@example.com\ncfo@example.com")
    at.button(key="FormSubmitter:company_settings-Save settings").click().run()
    assert not at.exception
    assert any(s.value.startswith("Saved") for s in at.success), [e.value for e in at.error]
    stored = get_company_settings(demo_settings, realm)
    assert stored.reserve == Decimal("250000") and stored.reminder_cooldown_days == 3
    assert stored.digest_recipients == ["owner@example.com", "cfo@example.com"]

    at.switch_page("pages/runway.py").run()
    reserve = company_view(demo_settings, realm, today(demo_settings)).runway["reserve"][0]
    assert reserve == Decimal("250000.00")
    assert "reserve $250,000" in [c.value for c in at.caption]


def test_bad_input_gets_a_short_error(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    at = open_app("settings", realm)
    at.text_input[0].set_value("lots")
    at.button(key="FormSubmitter:company_settings-Save settings").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Cash reserve is not an amount: 'lots'"]


def test_confirming_retainers_puts_them_in_the_forecast(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    day = today(demo_settings)
    before = company_view(demo_settings, realm, day)
    assert (
        before.forecast_items.filter(before.forecast_items["kind"] == "recurring_inflow").height
        == 0
    )
    at = open_app("settings", realm)
    retainers = at.multiselect[0]
    assert retainers.label.startswith("Retainers"), retainers.label
    assert retainers.options, "the demo's retainer clients are detected"
    retainers.set_value(list(retainers.options))
    at.button(key="FormSubmitter:company_settings-Save settings").click().run()
    assert not at.exception and any(s.value.startswith("Saved") for s in at.success)
    stored = get_company_settings(demo_settings, realm)
    assert stored.confirmed_inflows and all(
        pid.startswith("inflow:") for pid in stored.confirmed_inflows
    )
    after = company_view(demo_settings, realm, day)
    items = after.forecast_items.filter(after.forecast_items["kind"] == "recurring_inflow")
    assert items.height > 0 and set(items["source_id"].unique()) <= set(stored.confirmed_inflows)
