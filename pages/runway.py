"""Runway: the owner's home — the three questions, key figures, the 13-week forecast, aging."""

import functools
from datetime import timedelta

import streamlit as st

from oodaloo import charts, present
from pages import _company, _state, _ui
from pages._route import through_app

through_app()

FIRM_COLUMNS = [
    "company_name",
    "cash",
    "runway_weeks",
    "breach_date",
    "payroll_status",
    "freshness_badge",
]

realm = _state.selected_realm()
if realm is None:
    st.title("Runway — all companies")
    st.caption("Each company's runway, exceptions first. Choose a company for its forecast.")
    with _ui.section("reading the pending actions"):
        _company.show_pending(None)
    firm = _ui.attempt(_state.firm_table, "computing every company's runway")
    if firm is not None:
        shown = firm.select([c for c in FIRM_COLUMNS if c in firm.columns])
        _ui.table(
            shown,
            "runway_all",
            key="runway_all",
            labels={"runway_weeks": "Runway (P50, weeks)"},
            caption=f"{present.plural(shown.height, 'company', 'companies')} shown",
        )
    st.page_link("pages/firm.py", label="Open the firm view", icon=":material/apartment:")
    st.stop()

view = _ui.attempt(functools.partial(_state.company_view, realm), "computing this company's runway")
if view is None:
    st.stop()

st.title(present.escape_markdown(view.company_name))  # QBO text is data, not markup
st.caption(f"Figures as of {_ui.day(view.as_of)} · 13-week direct-method forecast")
# The page's blocks in reading order; the forecast's is filled first, so its chart reaches the
# browser first and the chart's JavaScript loads while the text above it is drawn.
pending_block, answers_block = st.container(), st.container()
st.header("Next 13 weeks")
forecast_block = st.container()

with forecast_block, _ui.section("drawing the forecast"):
    st.markdown("\n\n".join(_company.runway_lines(view)))
    low = _company.daily_low(view)
    reserve = _company.reserve(view)
    payroll_dates = _company.payroll_dates(view)
    chart = _state.chart_spec(realm, "forecast", functools.partial(_company.forecast_chart, view))
    event = st.vega_lite_chart(
        chart, key="forecast_chart", on_select="rerun", selection_mode=charts.WEEK_SELECTION
    )
    st.caption(charts.describe_forecast(view.forecast, reserve, payroll_dates, low))
    week = charts.selected_week(event)
    items = _company.week_items(view, week)
    label = (
        "every week"
        if week is None
        else f"week {week + 1} (from {_ui.day(view.as_of + timedelta(days=7 * week))})"
    )
    st.subheader(f"What is behind {label}")
    st.caption("Click a week's bars to narrow the list; double-click to show every week.")
    _ui.static_table(
        items,
        f"forecast_items_{realm}",
        key="forecast_items",
        caption=f"{present.plural(items.height, 'item')} shown",
    )

with pending_block, _ui.section("reading the pending actions"):
    _company.show_pending(realm, view)

with answers_block:
    st.header("This week's answers")
    with _ui.section("writing this week's answers"):
        # one element per block, not per line: each element costs the browser a React render
        st.markdown("\n\n".join(f"**{q}** {a}" for q, a in _company.answers(view).items()))
    with _ui.section("showing the key figures"):
        # one static element (label, value, note per figure) where columns of metrics and
        # captions were sixteen: each costs the browser a render on the first paint
        st.html(present.html_figures(_company.key_figures(view), name="key_figures"))

st.header("Cash position")
with _ui.section("showing the cash position"):
    accounts = _company.accounts_table(view)
    _ui.static_table(
        accounts,
        f"cash_accounts_{realm}",
        key="cash_accounts",
        labels={"included": "In cash", "note": "Note", "balance_as_of": "Balance as of"},
        caption=f"{present.plural(accounts.height, 'bank account')} shown",
    )

st.header("Aging")
# Only the open tab is drawn (choosing the other reruns the page): a hidden tab's chart and
# table would cost the browser as much as the shown ones on every first paint.
ar_tab, ap_tab = st.tabs(
    ["Receivables (A/R)", "Payables (A/P)"], key="aging_tab", on_change="rerun"
)
for tab, aging, side in ((ar_tab, view.aging_ar, "ar"), (ap_tab, view.aging_ap, "ap")):
    if not tab.open:
        continue
    with tab, _ui.section("showing the aging"):
        st.vega_lite_chart(
            _state.chart_spec(
                realm, f"aging_{side}", functools.partial(_company.aging_chart, view, side)
            ),
            key=f"aging_chart_{side}",
        )
        totals = _company.first(aging.totals)
        st.caption(
            "Chart: open amounts by days past due — "
            + ", ".join(
                f"{name} {present.money(totals.get(key))}"
                for key, name in (
                    ("current", "not yet due"),
                    ("d1_30", "1–30 days"),
                    ("d31_60", "31–60 days"),
                    ("d61_90", "61–90 days"),
                    ("d91_plus", "91+ days"),
                )
            )
            + "."
        )
        by_party = aging.by_party.drop("realm_id", "party_id", strict=False)
        _ui.static_table(
            by_party,
            f"aging_{side}_{realm}",
            key=f"aging_{side}",
            labels={"party_name": "Customer" if side == "ar" else "Vendor"},
            caption=f"{present.plural(by_party.height, 'party', 'parties')} with open items",
        )
