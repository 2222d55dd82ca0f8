"""Runway: the owner's home — the three questions, key figures, the 13-week forecast, aging."""

from datetime import timedelta

import streamlit as st

from oodaloo import charts
from pages import _company, _state, _ui
from pages._route import through_app

through_app()

realm = _state.selected_realm()
if realm is None:
    st.title("Runway")
    st.info("Choose a company in the sidebar to see its runway; the firm view lists every company.")
    st.page_link("pages/firm.py", label="Open the firm view", icon=":material/apartment:")
    st.stop()

view = _ui.attempt(lambda: _state.company_view(realm), "computing this company's runway")
if view is None:
    st.stop()

st.title(view.company_name)
st.caption(f"Figures as of {_ui.day(view.as_of)} · 13-week direct-method forecast")

with _ui.section("writing this week's answers"):
    for question, answer in _company.answers(view).items():
        st.markdown(f"**{question}** {answer}")

with _ui.section("showing the key figures"):
    for column, (label, value, note) in zip(st.columns(5), _company.key_figures(view)):
        column.metric(label, value)
        column.caption(note)

st.subheader("Next 13 weeks")
with _ui.section("drawing the forecast"):
    chart = charts.forecast_chart(
        view.forecast, _company.reserve(view), _company.payroll_dates(view)
    )
    event = st.altair_chart(
        chart, key="forecast_chart", on_select="rerun", selection_mode=charts.WEEK_SELECTION
    )
    week = charts.selected_week(event)
    items = _company.week_items(view, week)
    label = (
        "every week"
        if week is None
        else f"week {week + 1} (from {_ui.day(view.as_of + timedelta(days=7 * week))})"
    )
    st.markdown(f"**What is behind {label}** — click a week's bars to narrow the list.")
    _ui.table(
        items,
        f"forecast_items_{realm}",
        key="forecast_items",
        column_config=_ui.money_columns(items),
    )

st.subheader("Aging")
ar_tab, ap_tab = st.tabs(["Receivables (A/R)", "Payables (A/P)"])
for tab, aging, side in ((ar_tab, view.aging_ar, "ar"), (ap_tab, view.aging_ap, "ap")):
    with tab, _ui.section("showing the aging"):
        st.altair_chart(charts.aging_chart(aging.totals), key=f"aging_chart_{side}")
        by_party = aging.by_party.drop("realm_id")
        _ui.table(
            by_party,
            f"aging_{side}_{realm}",
            key=f"aging_{side}",
            column_config=_ui.money_columns(by_party),
        )
