"""Cash Console: the prep tray (Must Pay / Can Delay / Chase), one approval, then execution."""

import functools

import polars as pl
import streamlit as st

from oodaloo import approval_panel, auth, present
from pages import _approval, _company, _state, _tray, _ui
from pages._route import through_app

through_app()

SECTIONS = {
    "check_first": (
        "Check first",
        "Bills that look like duplicates or carry another anomaly: never offered for payment.",
    ),
    "must_pay": (
        "Must Pay",
        "Payroll, taxes, rent, loans, critical vendors and bills far past due.",
    ),
    "can_delay": (
        "Can Delay",
        "Bills that can move to a later date within the terms set, with what that does to the "
        "runway.",
    ),
    "chase": (
        "Chase",
        "Overdue invoices ranked by the cash collecting them is likely to bring in; customers "
        "reminded recently are shown with the date, customers without an e-mail as a call.",
    ),
    "apply_credit": (
        "Apply a credit",
        "Invoices a customer's own credit or unapplied payment covers: applying it, not chasing.",
    ),
    "disputed": (
        "Disputed",
        "Overdue invoices in dispute: shown apart, never chased.",
    ),
}
OPTIONAL = {"check_first", "apply_credit", "disputed"}  # shown only when the tray has rows
SELECTABLE = {"must_pay", "can_delay", "chase", "apply_credit"}
# Preferred columns per section, in order; a column the tray does not (yet) carry is skipped.
COLUMNS = {
    "check_first": ["party_name", "doc_number", "amount", "due_text", "reason"],
    "must_pay": ["party_name", "doc_number", "amount", "due_date", "due_text", "reason"],
    "can_delay": ["party_name", "doc_number", "amount", "due_date", "latest_safe_date", "reason"],
    "chase": ["party_name", "doc_number", "amount", "due_text", "contact_text", "score"],
    "apply_credit": ["party_name", "doc_number", "amount", "due_text", "credit_text"],
    "disputed": ["party_name", "doc_number", "amount", "due_text", "reason"],
}
EFFECT_COLUMNS = ["effect_payday", "effect_coverage", "effect_reserve", "effect_text"]
LABELS = {
    "party_name": "Who",
    "doc_number": "Number",
    "amount": "Amount",
    "due_date": "Due",
    "due_text": "Due / late",
    "reason": "Why",
    "latest_safe_date": "Latest safe date",
    "effect_text": "Effect",
    "effect_payday": "Balance on the next payday",
    "effect_coverage": "Next payroll coverage",
    "effect_reserve": "Weeks to the reserve",
    "contact_text": "Contact",
    "credit_text": "Credit",
    "score": "Likely to collect",
}
HELPS = {
    "score": "The cash collecting this invoice is likely to bring within the horizon: the "
    "open amount times the share this customer's history says arrives in time. Higher first.",
    "effect_payday": "The balance just before the next payday, before → after this one change "
    "(the forecast re-run with it); when the payday is unchanged, the lowest balance among the "
    "days the change does move.",
    "effect_coverage": "Cash before the next payroll ÷ the payroll, with late collections, "
    "before → after this one change.",
    "effect_reserve": "Weeks until the balance falls below the reserve, before → after.",
    "due_text": "Days past the due date, or how many days remain until it.",
    "effect_text": "What this row alone does to the forecast (re-run with this one change).",
    "latest_safe_date": "The latest pay date within the delay tolerance set in Settings.",
}


@st.dialog("Review and approve", width="large", on_dismiss=_approval.close_approval)
def approval_step() -> None:
    pending = st.session_state.get(_approval.SELECTION_KEY)
    if not pending:  # closed (Close or ×) while the dialog reran on its own
        st.rerun(scope="app")
        return
    ident, requests, facts = pending["id"], pending["requests"], pending["facts"]
    review = pending.get("review") or []
    st.markdown(
        f"**{present.plural(len(requests), 'action')}** · cash out now "
        f"**{_ui.money(facts['cash_out'])}**"
    )
    st.markdown(_approval.effect_words(facts, requests))
    st.caption("Combined effect: the forecast re-run once with every selected change together.")
    if review:  # a plain table: every word is text (readable aloud, findable, copyable)
        st.table(pl.DataFrame(review).to_pandas().set_index("Action"))
    for note in pending["notes"]:
        st.caption(note)
    done = _approval.results_for(ident)
    wanted = st.session_state.get(_approval.RUN_KEY) == ident
    st.button(
        "Approve and run" if auth.may("approve", realm) else "Submit for approval",
        key="approve_run",
        type="primary",
        disabled=done is not None or wanted or not requests,
        on_click=_approval.request_run,
        args=(ident,),
    )
    if wanted and done is None:
        with st.status("Carrying out the approved actions…", expanded=True) as status:
            bar = st.progress(0.0, text=f"0 of {len(requests)}")

            def on_progress(done_count: int, total: int, result: object) -> None:
                bar.progress(min(done_count / max(total, 1), 1.0), text=f"{done_count} of {total}")

            try:
                done = _approval.execute(ident, requests, on_progress)
            except Exception as exc:
                status.update(label="The actions could not be carried out", state="error")
                _ui.show_error(exc, "carrying out the approved actions")
            else:
                status.update(label=_finished_label(done), state="complete", expanded=False)
            finally:
                st.session_state.pop(_approval.RUN_KEY, None)
    if done is not None:
        st.markdown(f"**{_finished_label(done)}**")
        st.table(pl.DataFrame(_approval.result_rows(done, review)).to_pandas().set_index("Result"))
    st.caption(f"Approval reference {ident}")
    if st.button("Close", key="approval_close"):
        _approval.close_approval()
        st.rerun(scope="app")


def _finished_label(done: list[dict]) -> str:
    """'Finished' only when every action finished; otherwise what is still pending."""
    outcomes = [str(r.get("outcome")) for r in done]
    ok = sum(o in ("executed", "already_succeeded") for o in outcomes)
    waiting = sum(o in ("pending", "in_progress", "unknown") for o in outcomes)
    failed = len(outcomes) - ok - waiting
    if waiting == 0 and failed == 0:
        return f"Finished: {present.plural(ok, 'action')} done"
    parts = [f"{ok} done"]
    if waiting:
        parts.append(f"{waiting} pending, retried automatically")
    if failed:
        parts.append(f"{failed} not done")
    return "Not finished: " + ", ".join(parts)


realm = _state.selected_realm()
st.title("Cash Console")
if realm is None:
    st.info("Choose a company in the sidebar to prepare its payments and reminders.")
    with _ui.section("reading the pending actions"):
        _company.show_pending(None)
    st.stop()
view = _ui.attempt(functools.partial(_state.company_view, realm), "preparing this company's tray")
if view is None:
    st.stop()
st.caption(
    f"{present.escape_markdown(view.company_name)} · as of {_ui.day(view.as_of)} · "
    "select rows, then review and approve."
)
with _ui.section("reading the pending actions"):
    _company.show_pending(realm, view)
with _ui.section("reading the selections waiting for approval"):  # roles: oodaloo.auth
    approval_panel.waiting(_approval.service(), realm, on_done=_state.clear_views)

selected: dict[str, pl.DataFrame] = {}
present_sections = set(view.tray["section"].unique().to_list()) if view.tray.height else set()
for section, (title, blurb) in SECTIONS.items():
    if section in OPTIONAL and section not in present_sections:
        continue
    rows = _tray.tray_table(view, _company.tray_section(view, section))
    st.header(f"{title} ({rows.height})")
    st.caption(blurb)
    wanted = COLUMNS[section] + [c for c in EFFECT_COLUMNS if c in rows.columns]
    shown = rows.select([c for c in wanted if c in rows.columns])
    event = _ui.table(
        shown,
        f"{section}_{realm}",
        key=_approval.tray_key(section, realm),
        labels=LABELS,
        helps=HELPS,
        on_select="rerun" if section in SELECTABLE else "ignore",
        selection_mode="multi-row",
        caption=f"{present.plural(rows.height, 'item')} shown",
    )
    if section not in SELECTABLE:
        continue
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
review = _approval.review_rows(view, selected)
count = sum(frame.height for frame in selected.values())
st.divider()
st.markdown(
    f"**{count} selected** · cash out {_ui.money(facts['cash_out'])}"
    + (f" · {_approval.effect_words(facts, requests)}" if requests else "")
)
st.button(
    "Review and approve",
    key="review_approve",
    type="primary",
    disabled=not requests or not auth.may("prepare", realm),
    on_click=_approval.open_approval,
    args=(requests, notes, facts, review),
)
if not auth.may("prepare", realm):
    st.caption("Your role in this company is viewer: you can read, not prepare or approve.")

if st.session_state.get(_approval.OPEN_KEY) and st.session_state.get(_approval.SELECTION_KEY):
    approval_step()
