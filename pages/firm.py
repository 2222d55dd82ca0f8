"""All companies (the CAS analyst's grid): exceptions first, filters, trends, click-through."""

import polars as pl
import streamlit as st

from oodaloo import present
from pages import _frame, _state, _ui
from pages._route import through_app

through_app()

PAYROLL_STATUSES = ["red", "amber", "green", "none"]
FRESHNESS = ["reconnect_needed", "unreachable", "never", "stale", "fresh"]
LABELS = {
    "company_name": "Company",
    "balance_trend": "Balance, next 13 weeks (P50)",
    "runway_text": "Runway (P50)",
    "breach_date": "Below reserve",
    "payroll_status": "Next payroll",
    "payrolls_covered": "Payrolls covered",
    "cash": "Cash",
    "overdue_91_share": "Overdue 91+",
    "dso_days": "DSO (days)",
    "dso_trend_days": "DSO change (28 days)",
    "hygiene_score": "Hygiene score",
    "freshness_status": "Data",
    "exception_score": "Exception score",
}
HELPS = {
    "exception_score": "Why this company is listed first. Points: next payroll short 100 (tight "
    "40); runway under 4 weeks 50 (under 13 weeks 20); data not synced recently 10; over 20% "
    "of A/R 91+ days late 10; hygiene score under 70 5; each high-severity drift alert 5. "
    "0 means nothing needs attention.",
    "hygiene_score": "100 × (1 − flagged items ÷ open documents and customers): documents "
    "without due dates, customers without e-mail, likely duplicate bills, items open 91+ days, "
    "unapplied payments. 100 is clean.",
    "runway_text": "Weeks until the P50 balance falls below the reserve; 'never' when it stays "
    "above it for 2 years.",
    "payroll_status": "Coverage of the next payroll with late collections (P90): Covered, "
    "Tight (only by using the reserve), Short.",
    "dso_days": "Days sales outstanding, simple method: A/R ÷ (revenue over the window ÷ days).",
    "dso_trend_days": "Change in DSO over the last 28 days; positive means customers pay slower.",
    "payrolls_covered": "How many of the next payrolls are covered (green or amber).",
    "overdue_91_share": "Share of open A/R more than 91 days past due.",
}
ORDER = [
    "company_name",
    "exception_score",
    "balance_trend",
    "runway_text",
    "breach_date",
    "payroll_status",
    "payrolls_covered",
    "cash",
    "overdue_91_share",
    "dso_days",
    "dso_trend_days",
    "hygiene_score",
    "freshness_status",
]


st.title("All companies")
firm = _ui.attempt(_state.firm_table, "computing the firm table")
if firm is None:
    st.stop()

with st.expander("Filters", expanded=False):
    left, middle, right = st.columns(3)
    max_weeks = left.slider("Runway at most (weeks)", 0, 104, 104, key="f_weeks")
    statuses = middle.multiselect(
        "Payroll status",
        PAYROLL_STATUSES,
        default=PAYROLL_STATUSES,
        key="f_payroll",
        format_func=present.status,
    )
    freshness = right.multiselect(
        "Freshness", FRESHNESS, default=FRESHNESS, key="f_fresh", format_func=present.status
    )
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
st.caption(
    f"{present.plural(shown.height, 'company', 'companies')} shown of {firm.height}, exceptions "
    f"first · as of {_ui.day(_state.as_of())} · click a row to open the company."
)

grid = shown.with_columns(
    pl.col("runway_weeks")
    .map_elements(
        lambda w: present.weeks(w, none_text="never below the reserve"), return_dtype=pl.String
    )
    .alias("runway_text"),
    pl.col("dso_days").round(1),
    pl.col("dso_trend_days").round(1),
)
frame, config = _ui.display_frame(grid, LABELS, helps=HELPS)
config["overdue_91_share"] = st.column_config.ProgressColumn(
    LABELS["overdue_91_share"],
    min_value=0.0,
    max_value=1.0,
    format="percent",
    help=HELPS["overdue_91_share"],
)
config["balance_trend"] = st.column_config.LineChartColumn(LABELS["balance_trend"], width="small")
event = st.dataframe(
    frame,
    key="firm_grid",
    hide_index=True,
    column_order=[c for c in ORDER if c in frame.columns],
    column_config=config,
    on_select="rerun",
    selection_mode="single-row",
)
_ui.csv_button(shown, "firm", key="firm_csv")
picked = [row for row in event.selection.rows if row < shown.height]
if picked:  # click-through: the picker takes the company (before its widget exists), then Runway
    st.session_state[_frame.PENDING_REALM] = shown["realm_id"][picked[0]]
    st.switch_page("pages/runway.py")
