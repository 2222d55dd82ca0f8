"""Every page renders on the demo firm, with its key elements, and the numbers are runway's."""

from __future__ import annotations

import polars as pl
import pytest
from ui_support import PAGES, frame_with, open_app, texts

from oodaloo.clock import today
from oodaloo.config import Settings
from pages import _company, _ui
from runway.api import company_view, firm_table
from sync.connections import list_companies


def first_realm(settings: Settings) -> str:
    return list_companies(settings)[0].realm_id


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_a_company(demo_settings: Settings, page: str) -> None:
    at = open_app(page, first_realm(demo_settings))
    assert not at.exception, at.exception
    assert not [e.value for e in at.error], [e.value for e in at.error]  # no "something went wrong"
    assert at.title, "every page has a title"
    badge = [e.value for kind in ("success", "info", "warning", "error") for e in getattr(at, kind)]
    assert any("Synced" in text or "companies" in text for text in badge), badge


def test_runway_page_shows_the_calculators_numbers(demo_settings: Settings) -> None:
    realm = first_realm(demo_settings)
    at = open_app("runway", realm)
    view = company_view(demo_settings, realm, today(demo_settings))
    metrics = {m.label: m.value for m in at.metric}
    expected = {label: value for label, value, _ in _company.key_figures(view)}
    assert metrics == expected
    runway = view.runway.row(0, named=True)
    assert metrics["Cash"] == _ui.money(runway["cash"])
    page_text = texts(at)
    for question, answer in _company.answers(view).items():
        assert f"**{question}** {answer}" in page_text
    assert at.get("vega_lite_chart"), "the 13-week chart is drawn"
    items = frame_with(at, "direction", "source_id")
    assert len(items) == view.forecast_items.filter(pl.col("line") == "p50").height


def test_selecting_a_week_lists_its_items(demo_settings: Settings) -> None:
    realm = first_realm(demo_settings)
    at = open_app("runway", realm)
    view = company_view(demo_settings, realm, today(demo_settings))
    busy = view.forecast_items.filter(pl.col("line") == "p50")["week"].mode().sort()[0]
    at.session_state["forecast_chart"] = {"selection": {"week": [{"week": busy}]}}
    at.run()
    items = frame_with(at, "direction", "source_id")
    assert len(items) == _company.week_items(view, busy).height > 0
    assert set(items["week"]) == {busy}


def test_firm_grid_lists_every_company_exceptions_first(demo_settings: Settings) -> None:
    at = open_app("firm", first_realm(demo_settings))
    grid = at.dataframe(key="firm_grid").value
    expected = firm_table(demo_settings, today(demo_settings))
    assert list(grid["realm_id"]) == expected["realm_id"].to_list()
    assert len(grid) == len(list_companies(demo_settings))
    assert "balance_trend" in grid.columns


def test_firm_row_click_opens_the_company(demo_settings: Settings) -> None:
    at = open_app("firm", first_realm(demo_settings))
    grid = at.dataframe(key="firm_grid").value
    target = grid["realm_id"].iloc[-1]
    at.session_state["firm_grid"] = {
        "selection": {"rows": [len(grid) - 1], "columns": [], "cells": []}
    }
    at.run()
    assert at.session_state["realm_id"] == target
    assert at.title[0].value == grid["company_name"].iloc[-1]  # now on that company's Runway page


def test_all_companies_in_the_picker_opens_the_firm_view(demo_settings: Settings) -> None:
    at = open_app("runway", first_realm(demo_settings))
    at.sidebar.selectbox(key="realm_id").select("__all__").run()
    assert at.title[0].value == "All companies"
    assert not at.exception


def test_every_table_exports_csv(demo_settings: Settings) -> None:
    at = open_app("data", first_realm(demo_settings))
    buttons = {button.key for button in at.download_button}
    tables = ["connections", "sync_runs", "changes", "drift", "hygiene", "audit"]
    assert {f"{key}_csv" for key in tables} <= buttons
    assert len(at.dataframe) == len(tables)  # one export per table shown
