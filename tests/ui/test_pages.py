"""Every page renders on the demo firm, with its key elements, and the numbers are runway's."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import polars as pl
import pytest
from ui_support import PAGES, open_app, qbo_all, static_figures, static_rows, table_texts, texts

from oodaloo import present
from oodaloo.clock import today
from oodaloo.config import Settings
from runway.api import company_view, firm_table
from sync.connections import list_companies

ALL = "__all__"


def first_realm(settings: Settings) -> str:
    return list_companies(settings)[0].realm_id


@pytest.mark.parametrize("scope", ["company", "all"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_a_company_and_for_all(
    demo_settings: Settings, page: str, scope: str
) -> None:
    at = open_app(page, first_realm(demo_settings) if scope == "company" else ALL)
    assert not at.exception, at.exception
    assert not [e.value for e in at.error], [e.value for e in at.error]  # no "something went wrong"
    assert at.title, "every page has a title"
    badge = [e.value for kind in ("success", "info", "warning", "error") for e in getattr(at, kind)]
    assert any("Synced" in text or "companies" in text for text in badge), badge
    shown = texts(at) + "\n" + table_texts(at)
    assert not re.search(r"\b(None|NaN|nan|null)\b", shown), "a cell or a sentence reads 'None'"
    assert not re.search(r"\b(party_id|source_id|realm_id|outflow_neg|d91_plus)\b", shown)


def overdue_receivables(settings: Settings, realm: str, as_of: date) -> Decimal:
    """Overdue A/R recomputed from QuickBooks' raw documents: open invoice balances past their due
    date, less open credit memos and unapplied payments dated before today (QuickBooks' aging)."""

    def amount(doc: dict, key: str) -> Decimal:
        return Decimal(str(doc.get(key) or 0))

    invoices = sum(
        (
            amount(i, "Balance")
            for i in qbo_all(settings, realm, "Invoice")
            if amount(i, "Balance") > 0
            and date.fromisoformat(i.get("DueDate") or i["TxnDate"]) < as_of
        ),
        Decimal(0),
    )
    credits = sum(
        (
            amount(c, "Balance")
            for c in qbo_all(settings, realm, "CreditMemo")
            if amount(c, "Balance") > 0 and date.fromisoformat(c["TxnDate"]) < as_of
        ),
        Decimal(0),
    )
    unapplied = sum(
        (
            amount(p, "UnappliedAmt")
            for p in qbo_all(settings, realm, "Payment")
            if amount(p, "UnappliedAmt") > 0 and date.fromisoformat(p["TxnDate"]) < as_of
        ),
        Decimal(0),
    )
    return invoices - credits - unapplied


def bank_cash(settings: Settings, realm: str, as_of: date) -> Decimal:
    """Opening cash recomputed from QuickBooks: active Bank accounts, a foreign-currency one
    converted at QuickBooks' latest ExchangeRate on or before today (half-up to the cent)."""
    prefs = qbo_all(settings, realm, "Preferences")
    home = ((prefs[0].get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value", "USD")
    rates: dict[str, tuple[str, Decimal]] = {}
    for rate in qbo_all(settings, realm, "ExchangeRate"):
        when, code = rate["AsOfDate"], rate["SourceCurrencyCode"]
        usable = rate.get("TargetCurrencyCode", home) == home and when <= as_of.isoformat()
        if usable and (code not in rates or rates[code][0] < when):
            rates[code] = (when, Decimal(str(rate["Rate"])))
    total = Decimal(0)
    for account in qbo_all(settings, realm, "Account"):
        if account.get("AccountType") != "Bank" or account.get("Active", True) is False:
            continue
        balance = Decimal(str(account.get("CurrentBalance") or 0))
        currency = (account.get("CurrencyRef") or {}).get("value", home)
        if currency != home:
            balance = (balance * rates[currency][1]).quantize(Decimal("0.01"), "ROUND_HALF_UP")
        total += balance
    return total


def shown_money(text: str) -> Decimal:
    """An amount as a table shows it ('−$1,200.50') back as a Decimal."""
    return Decimal(text.replace(present.MINUS, "-").replace("$", "").replace(",", ""))


def test_runway_page_figures_match_quickbooks(demo_settings: Settings) -> None:
    realm = first_realm(demo_settings)
    at = open_app("runway", realm)
    as_of = today(demo_settings)
    metrics = {label: value for label, (value, _note) in static_figures(at).items()}
    assert metrics["Overdue A/R"] == present.money(overdue_receivables(demo_settings, realm, as_of))
    assert metrics["Cash"] == present.money(bank_cash(demo_settings, realm, as_of))
    page_text = texts(at)
    assert "(P90" in page_text and "(P50" in page_text  # both runway dates, each labelled
    assert "Forecast chart, 13 weeks" in page_text  # the chart's text alternative
    assert at.get("vega_lite_chart"), "the 13-week chart is drawn"
    # the static tables: every forecast item to the cent, the bills by their QuickBooks number,
    # and the accounts counted in cash adding up to QuickBooks' bank balances
    items = static_rows(at, "forecast_items")
    p50 = company_view(demo_settings, realm, as_of).forecast_items.filter(pl.col("line") == "p50")
    assert len(items) == p50.height
    assert sorted(shown_money(r["Amount"]) for r in items) == sorted(
        Decimal(str(a)).quantize(Decimal("0.01"), ROUND_HALF_UP) for a in p50["amount"]
    )
    bills = {str(b.get("DocNumber")) for b in qbo_all(demo_settings, realm, "Bill")}
    named = [r["Document"].removeprefix("Bill ") for r in items if r["Document"].startswith("Bill")]
    assert named and set(named) <= bills
    counted = [r for r in static_rows(at, "cash_accounts") if r["In cash"] == "Counted in cash"]
    assert sum(shown_money(r["Balance"]) for r in counted) == bank_cash(demo_settings, realm, as_of)
    assert {r["Date"] for r in items} <= {present.day(d) for d in p50["date"]}  # one date format


def test_selecting_a_week_lists_its_items(demo_settings: Settings) -> None:
    realm = first_realm(demo_settings)
    at = open_app("runway", realm)
    view = company_view(demo_settings, realm, today(demo_settings))
    p50 = view.forecast_items.filter(pl.col("line") == "p50")
    busy = p50["week"].mode().sort()[0]
    at.session_state["forecast_chart"] = {"selection": {"week": [{"week": busy}]}}
    at.run()
    items = static_rows(at, "forecast_items")
    assert len(items) == p50.filter(pl.col("week") == busy).height > 0
    assert {int(r["Week"]) for r in items} == {busy + 1}  # weeks are counted from 1 on the page


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
    assert at.title[0].value == present.escape_markdown(
        grid["company_name"].iloc[-1]
    )  # now on that company's Runway page


def test_all_companies_stays_chosen_on_every_page(demo_settings: Settings) -> None:
    at = open_app("runway", first_realm(demo_settings))
    at.sidebar.selectbox(key="realm_id").select(ALL).run()
    assert at.title[0].value == "Runway — all companies"
    for page in ("data", "console", "firm", "settings", "digest", "runway"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page
        assert at.sidebar.selectbox(key="realm_id").value == ALL, page
    at.switch_page("pages/data.py").run()
    assert "Showing all companies" in texts(at)  # the firm-wide Data & audit


def test_every_table_exports_csv(demo_settings: Settings) -> None:
    at = open_app("data", first_realm(demo_settings))
    buttons = {button.key for button in at.download_button}
    tables = ["connections", "sync_runs", "changes", "drift", "hygiene", "audit"]
    assert {f"{key}_csv" for key in tables} <= buttons
    assert len(at.dataframe) == len(tables)  # one export per table shown


def test_a_viewer_of_one_company_sees_no_other_company_anywhere(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oodaloo import auth

    companies = list_companies(demo_settings)
    mine, theirs = companies[0], companies[-1]
    monkeypatch.setenv("OODALOO_AUTH_LOCAL_IDENTITY", "viewer-one@example.com")
    monkeypatch.setenv("OODALOO_AUTH_ADMINS", "")
    auth.grant(demo_settings, "viewer-one@example.com", "viewer", mine.realm_id)

    at = open_app("firm", mine.realm_id)
    assert not at.exception
    grid = at.dataframe(key="firm_grid").value
    assert list(grid["realm_id"]) == [mine.realm_id]
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert theirs.name not in texts(at) and theirs.name not in table_texts(at)
    # a deep link to a company without a role is refused, not shown
    denied = open_app("runway", theirs.realm_id)
    assert theirs.name not in texts(denied)
