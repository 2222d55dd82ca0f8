"""All companies (the CAS analyst's grid): exceptions first, filters, trends, click-through."""

import polars as pl
import streamlit as st

from pages import _frame, _state, _ui
from pages._route import through_app

through_app()

PAYROLL_STATUSES = ["red", "amber", "green", "none"]
FRESHNESS = ["reconnect_needed", "unreachable", "never", "stale", "fresh"]


st.title("All companies")
firm = _ui.attempt(_state.firm_table, "computing the firm table")
if firm is None:
    st.stop()
st.caption(
    f"{firm.height} companies, exceptions first · as of {_ui.day(_state.as_of())} · click a row to open the company."
)

with st.expander("Filters", expanded=False):
    left, middle, right = st.columns(3)
    max_weeks = left.slider("Runway at most (weeks)", 0, 104, 104, key="f_weeks")
    statuses = middle.multiselect(
        "Payroll status", PAYROLL_STATUSES, default=PAYROLL_STATUSES, key="f_payroll"
    )
    freshness = right.multiselect("Freshness", FRESHNESS, default=FRESHNESS, key="f_fresh")
    min_91 = left.slider("Overdue 91+ share at least (%)", 0, 100, 0, key="f_91")
    max_hygiene = middle.slider("Hygiene score at most", 0, 100, 100, key="f_hyg")
    dso_up = right.checkbox("Only DSO rising", key="f_dso")

shown = firm.filter(
    (pl.col("runway_weeks").is_null() & (max_weeks >= 104)) | (pl.col("runway_weeks") <= max_weeks),
    pl.col("payroll_status").fill_null("none").is_in(statuses),
    pl.col("freshness_status").fill_null("never").is_in(freshness),
    pl.col("overdue_91_share").fill_null(0) * 100 >= min_91,
    pl.col("hygiene_score").fill_null(100) <= max_hygiene,
)
if dso_up:
    shown = shown.filter(pl.col("dso_trend_days").fill_null(0) > 0)

config = _ui.money_columns(
    shown,
    {
        "company_name": "Company",
        "runway_weeks": "Runway (weeks)",
        "breach_date": "Below reserve",
        "payroll_status": "Payroll",
        "payrolls_covered": "Payrolls covered",
        "dso_days": "DSO (days)",
        "dso_trend_days": "DSO change (28 d)",
        "hygiene_score": "Hygiene",
        "freshness_badge": "Data",
        "exception_score": "Exception score",
    },
)
config["overdue_91_share"] = st.column_config.ProgressColumn(
    "Overdue 91+", min_value=0.0, max_value=1.0, format="percent"
)
config["balance_trend"] = st.column_config.LineChartColumn(
    "Balance, next 13 weeks (P50)", width="small"
)
first = [
    "company_name",
    "balance_trend",
    "runway_weeks",
    "breach_date",
    "payroll_status",
    "payrolls_covered",
    "cash",
    "overdue_91_share",
    "dso_days",
    "dso_trend_days",
    "hygiene_score",
    "freshness_badge",
]
hidden = {"realm_id", "freshness_status"}
order = [c for c in first if c in shown.columns] + [
    c for c in shown.columns if c not in hidden and c not in first
]
event = st.dataframe(
    _ui.to_pandas_safe(shown),
    key="firm_grid",
    hide_index=True,
    column_order=order,
    column_config=config,
    on_select="rerun",
    selection_mode="single-row",
)
_ui.csv_button(shown, "firm", key="firm_csv")
picked = [row for row in event.selection.rows if row < shown.height]
if (
    picked
):  # click-through: the picker takes the company (before its widget exists), then its Runway page
    st.session_state[_frame.PENDING_REALM] = shown["realm_id"][picked[0]]
    st.switch_page("pages/runway.py")
