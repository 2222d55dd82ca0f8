"""Settings: connect QuickBooks, and one company's reserve, payroll calendar, vendors, terms, digest."""

from decimal import Decimal, InvalidOperation

import streamlit as st

from pages import _state, _ui
from pages._route import through_app

through_app()

CADENCES = {
    None: "As detected",
    "biweekly": "Every other week",
    "semimonthly_1_15": "1st and 15th",
    "semimonthly_15_last": "15th and last day",
    "monthly": "Monthly",
}

st.title("Settings")
st.subheader("QuickBooks connection")
s = _state.settings()
if s.uses_embedded_sandbox:
    st.caption(
        "This console talks to the built-in QuickBooks sandbox. Connecting runs the same OAuth flow the "
        "real QuickBooks uses, inside this process."
    )

    def connect_sandbox() -> None:
        from sync.oauth import connect_sandbox_companies

        try:
            done = connect_sandbox_companies(_state.settings())
        except Exception as exc:
            st.session_state["connect_error"] = f"{type(exc).__name__}: {exc}"
        else:
            st.session_state["connect_done"] = len(done)
            st.cache_data.clear()

    st.button("Connect the sandbox's companies", key="connect_sandbox", on_click=connect_sandbox)
    if "connect_done" in st.session_state:
        st.success(f"{st.session_state.pop('connect_done')} companies connected.")
    if "connect_error" in st.session_state:
        st.error("The sandbox companies could not be connected.")
        with st.expander("Details"):
            st.code(st.session_state.pop("connect_error"))
else:
    if "authorize_url" not in st.session_state:  # one server-side state per visit, not per rerun
        from sync.oauth import authorize_url

        st.session_state["authorize_url"] = _ui.attempt(
            lambda: authorize_url(s), "preparing the connection"
        )
    if st.session_state["authorize_url"]:
        st.link_button("Connect to QuickBooks", st.session_state["authorize_url"], type="primary")
        st.caption(
            "QuickBooks sends you back here; the connection finishes on return, even in a new browser tab."
        )

realm = _state.selected_realm()
if realm is None:
    st.info("Choose a company in the sidebar to edit its settings.")
    st.stop()

from runway.settings import get_company_settings, save_company_settings  # noqa: E402

current = _ui.attempt(lambda: get_company_settings(s, realm), "reading this company's settings")
if current is None:
    st.stop()
view = _ui.attempt(lambda: _state.company_view(realm), "reading the detected payroll and vendors")
vendors: dict[str, str] = {}
retainers: dict[str, str] = {}
detected = ""
if view is not None:
    snapshot_vendors = _state.snapshot().tables.get("vendor")
    if snapshot_vendors is not None and snapshot_vendors.height:
        mine = snapshot_vendors.filter(snapshot_vendors["realm_id"] == realm)
        vendors = {
            r["id"]: r["display_name"] or r["id"]
            for r in mine.select("id", "display_name").iter_rows(named=True)
        }
    payroll = view.recurring.filter(view.recurring["kind"] == "payroll")
    if payroll.height:
        p = payroll.row(0, named=True)
        detected = f"Detected payroll: {_ui.money(p['amount'])} {CADENCES.get(p['cadence'], p['cadence']).lower()}, next {_ui.day(p['next_date'])} (confidence {p['confidence']:.0%})."
    inflows = view.recurring.filter(view.recurring["direction"] == "inflow")
    retainers = {
        r[
            "pattern_id"
        ]: f"{r['party']} · {r['cadence']} · {_ui.money(r['amount'])} (confidence {r['confidence']:.0%})"
        for r in inflows.iter_rows(named=True)
    }
retainers.update({pid: pid for pid in current.confirmed_inflows if pid not in retainers})

st.subheader(f"{_state.company_names().get(realm, realm)}")
with st.form("company_settings"):
    reserve = st.text_input(
        "Cash reserve (empty: next payroll + must-pay bills)",
        "" if current.reserve is None else str(current.reserve),
    )
    st.markdown("**Payroll calendar**")
    st.caption(detected or "No payroll pattern detected in the books yet.")
    confirmed = st.checkbox("The detected payroll is right", value=current.payroll_confirmed)
    cadence = st.selectbox(
        "Cadence override",
        list(CADENCES),
        index=list(CADENCES).index(current.payroll_cadence),
        format_func=lambda c: CADENCES[c],
    )
    amount = st.text_input(
        "Payroll amount override (empty: as detected)",
        "" if current.payroll_amount is None else str(current.payroll_amount),
    )
    anchor = st.date_input(
        "A known payroll date (anchors every-other-week)", value=current.payroll_anchor_date
    )
    st.markdown("**Recurring retainers**")
    confirmed_inflows = st.multiselect(
        "Retainers counted in the forecast (only confirmed ones are)",
        list(retainers),
        default=[pid for pid in current.confirmed_inflows if pid in retainers],
        format_func=lambda pid: retainers.get(pid, pid),
    )
    critical = st.multiselect(
        "Critical vendors (always Must Pay)",
        list(vendors),
        default=[v for v in current.critical_vendors if v in vendors],
        format_func=lambda v: vendors.get(v, v),
    )
    tolerance = st.number_input(
        "Delay tolerance: days past due a non-critical bill may wait",
        0,
        180,
        current.delay_tolerance_days,
    )
    cooldown = st.number_input("Reminder cooldown (days)", 0, 90, current.reminder_cooldown_days)
    recipients = st.text_area(
        "Digest recipients (one e-mail per line)", "\n".join(current.digest_recipients)
    )
    submitted = st.form_submit_button("Save settings", type="primary")


def money_or_none(text: str, what: str) -> Decimal | None:
    text = text.strip().replace(",", "").replace("$", "")
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} is not an amount: {text!r}") from None


if submitted:
    try:
        save_company_settings(
            s,
            realm,
            {
                "reserve": money_or_none(reserve, "Cash reserve"),
                "payroll_confirmed": confirmed,
                "payroll_cadence": cadence,
                "payroll_amount": money_or_none(amount, "Payroll amount"),
                "payroll_anchor_date": anchor,
                "critical_vendors": critical,
                "delay_tolerance_days": int(tolerance),
                "reminder_cooldown_days": int(cooldown),
                "digest_recipients": [
                    line.strip() for line in recipients.splitlines() if line.strip()
                ],
                "confirmed_inflows": confirmed_inflows,
            },
        )
    except ValueError as exc:  # SettingsError names the field and the problem
        st.error(str(exc).split(";")[0])
        with st.expander("Details"):
            st.code(str(exc))
    else:
        _state.clear_views()
        st.success("Saved. The forecast and the tray now use these settings.")
