"""Cash Console: the prep tray (Must Pay / Can Delay / Chase), one approval, then execution."""

import polars as pl
import streamlit as st

from pages import _approval, _company, _state, _ui
from pages._route import through_app

through_app()

SECTIONS = {
    "must_pay": (
        "Must Pay",
        "Payroll, taxes, rent, loans, critical vendors and bills far past due.",
    ),
    "can_delay": (
        "Can Delay",
        "Bills that can move to a later date within the terms set, with what that does to the runway.",
    ),
    "chase": (
        "Chase",
        "Overdue invoices ranked by what collecting them gains; reminded recently or without an e-mail are left out.",
    ),
}
COLUMNS = {
    "must_pay": ["party_name", "amount", "due_date", "days_past_due", "reason", "effect_text"],
    "can_delay": ["party_name", "amount", "due_date", "latest_safe_date", "effect_text", "reason"],
    "chase": ["party_name", "amount", "due_date", "days_past_due", "email", "effect_text"],
}
LABELS = {
    "party_name": "Who",
    "amount": "Amount",
    "due_date": "Due",
    "days_past_due": "Days late",
    "reason": "Why",
    "latest_safe_date": "Latest safe date",
    "effect_text": "Runway effect",
    "email": "E-mail",
}


@st.dialog("Review and approve", width="large", on_dismiss=_approval.close_approval)
def approval_step() -> None:
    pending = st.session_state[_approval.SELECTION_KEY]
    ident, requests, facts = pending["id"], pending["requests"], pending["facts"]
    before, after = facts["effect"]["before"], facts["effect"]["after"]
    st.markdown(
        f"**{len(requests)} action{'s' if len(requests) != 1 else ''}** · cash out now "
        f"**{_ui.money(facts['cash_out'])}** · combined runway effect **{facts['effect_text']}**"
    )
    st.markdown(
        f"Runway {_runway(before)} → **{_runway(after)}** · lowest projected balance "
        f"{_ui.money(before['lowest_balance'])} → **{_ui.money(after['lowest_balance'])}**"
    )
    st.caption("Combined effect: the forecast re-run once with every selected change together.")
    st.dataframe(
        pl.DataFrame(requests, infer_schema_length=None), hide_index=True, key="approval_requests"
    )
    for note in pending["notes"]:
        st.caption(note)
    done = _approval.results_for(ident)
    wanted = st.session_state.get(_approval.RUN_KEY) == ident
    st.button(
        "Approve and run",
        key="approve_run",
        type="primary",
        disabled=done is not None or wanted or not requests,
        on_click=_approval.request_run,
        args=(ident,),
    )
    st.caption(f"Approval {ident}")
    if wanted and done is None:
        with st.status("Carrying out the approved actions…", expanded=True) as status:
            bar = st.progress(0.0, text=f"0 of {len(requests)}")

            def on_progress(done_count: int, total: int, result: object) -> None:
                bar.progress(min(done_count / max(total, 1), 1.0), text=f"{done_count} of {total}")
                status.write(getattr(result, "message", str(result)))

            try:
                done = _approval.execute(ident, requests, on_progress)
            except Exception as exc:
                status.update(label="The actions could not be carried out", state="error")
                _ui.show_error(exc, "carrying out the approved actions")
            else:
                status.update(label="Finished", state="complete")
            finally:
                st.session_state.pop(_approval.RUN_KEY, None)
    if done is not None:
        st.dataframe(
            pl.DataFrame(done, infer_schema_length=None).select(
                "action", "target_id", "outcome", "message", "qbo_entity", "qbo_id"
            ),
            hide_index=True,
            key="approval_results",
        )
    if st.button("Close", key="approval_close", on_click=_approval.close_approval):
        st.rerun()


def _runway(figures: dict) -> str:
    """Runway weeks and the breach date, or that the balance stays above the reserve."""
    if figures["breach_date"] is None:
        return "above the reserve throughout"
    return f"{_ui.weeks(figures['runway_weeks'])} (to {_ui.day(figures['breach_date'])})"


realm = _state.selected_realm()
st.title("Cash Console")
if realm is None:
    st.info("Choose a company in the sidebar to prepare its payments and reminders.")
    st.stop()
view = _ui.attempt(lambda: _state.company_view(realm), "preparing this company's tray")
if view is None:
    st.stop()
st.caption(
    f"{view.company_name} · as of {_ui.day(view.as_of)} · select rows, then review and approve."
)

selected: dict[str, pl.DataFrame] = {}
for section, (title, blurb) in SECTIONS.items():
    rows = _company.tray_section(view, section)
    st.subheader(f"{title} ({rows.height})")
    st.caption(blurb)
    shown = rows.select([c for c in COLUMNS[section] if c in rows.columns])
    event = _ui.table(
        shown,
        f"{section}_{realm}",
        key=_approval.tray_key(section, realm),
        on_select="rerun",
        selection_mode="multi-row",
        column_config=_ui.money_columns(shown, LABELS),
    )
    picked = [i for i in (event.selection.rows if event is not None else []) if i < rows.height]
    selected[section] = rows[picked] if picked else rows.clear()

requests: list[dict] = []
notes: list[str] = []
for section, rows in selected.items():
    more, why = _approval.requests_for(section, rows)
    requests += more
    notes += why
facts = _ui.attempt(
    lambda: _approval.summary(view, selected, requests), "computing the selection's runway effect"
)
if facts is None:
    st.stop()
count = sum(frame.height for frame in selected.values())
st.divider()
st.markdown(
    f"**{count} selected** · cash out {_ui.money(facts['cash_out'])} · "
    f"combined runway effect: {facts['effect_text']}"
)
st.button(
    "Review and approve",
    key="review_approve",
    type="primary",
    disabled=not requests,
    on_click=_approval.open_approval,
    args=(requests, notes, facts),
)

if st.session_state.get(_approval.OPEN_KEY) and st.session_state.get(_approval.SELECTION_KEY):
    approval_step()
