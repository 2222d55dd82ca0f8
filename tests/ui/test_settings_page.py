"""Settings page: saving a company's settings changes what the console shows."""

from __future__ import annotations

from decimal import Decimal

from ui_support import open_app, static_figures

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
    field(at, "Cash reserve").set_value("250000")
    field(at, "Reminder cooldown").set_value("3")
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
    assert static_figures(at)["Cash"][1].endswith("reserve $250,000")  # the Cash figure's note


def test_bad_input_is_refused_in_words_and_nothing_is_stored(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    before = get_company_settings(demo_settings, realm)
    at = open_app("settings", realm)
    field(at, "Cash reserve").set_value("1e400")
    field(at, "A known payroll date").set_value("2026/13/45")
    field(at, "Delay tolerance").set_value("500")
    at.text_area[0].set_value("owner at example")
    at.button(key="FormSubmitter:company_settings-Save settings").click().run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Cash reserve: 1e400 is too large" in errors
    assert "2026/13/45 is not a real date" in errors  # refused, never rolled into March
    assert "Delay tolerance: 500 is out of range; it must be from 0 to 180" in errors
    assert "owner at example is not an e-mail address" in errors
    assert "Value error" not in errors
    assert not any(s.value.startswith("Saved") for s in at.success)
    assert get_company_settings(demo_settings, realm) == before  # nothing half-saved

    field(at, "Cash reserve").set_value("lots")
    field(at, "A known payroll date").set_value("")
    field(at, "Delay tolerance").set_value("14")
    at.text_area[0].set_value("")
    at.button(key="FormSubmitter:company_settings-Save settings").click().run()
    assert [e.value for e in at.error] == [
        "Not saved — please correct:\n\n- Cash reserve: “lots” is not an amount; type a "
        "number like 12500."
    ]


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


def field(at: object, label: str) -> object:
    """The text input whose label starts with ``label``."""
    return next(w for w in at.text_input if w.label.startswith(label))  # type: ignore[attr-defined]
