"""Settings: connect QuickBooks, and one company's reserve, payroll calendar, vendors, terms,
digest. Every typed value is checked (``oodaloo.present.parse_*``) and refused in words."""

import functools

import streamlit as st

from oodaloo import auth, present
from pages import _state, _ui
from pages._route import through_app

through_app()
auth.admin_only()  # Settings and QuickBooks connections are for firm admins (oodaloo.auth)

CADENCES = {
    None: "As detected",
    "biweekly": "Every other week",
    "semimonthly_1_15": "1st and 15th",
    "semimonthly_15_last": "15th and last day",
    "monthly": "Monthly",
}

TOLERANCE = (0, 180)  # the bounds runway.settings.CompanySettings enforces
COOLDOWN = (0, 90)

st.title("Settings")
st.header("QuickBooks connection")
s = _state.settings()
if s.uses_embedded_sandbox:
    st.caption(
        "This console talks to the built-in QuickBooks sandbox. Connecting runs the same OAuth "
        "flow the real QuickBooks uses, inside this process."
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
            lambda: authorize_url(s, session=auth.oauth_session()), "preparing the connection"
        )
    if st.session_state["authorize_url"]:
        st.link_button("Connect to QuickBooks", st.session_state["authorize_url"], type="primary")
        st.caption(
            "QuickBooks sends you back here; the connection finishes on return, even in a new "
            "browser tab."
        )

realm = _state.selected_realm()
if realm is None:
    st.info("Choose a company in the sidebar to edit its settings.")
    st.stop()

from runway.settings import get_company_settings, save_company_settings  # noqa: E402  # after st.stop()

current = _ui.attempt(
    functools.partial(get_company_settings, s, realm), "reading this company's settings"
)
if current is None:
    st.stop()
view = _ui.attempt(
    functools.partial(_state.company_view, realm), "reading the detected payroll and vendors"
)
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
        cadence_words = CADENCES.get(p["cadence"], present.phrase(p["cadence"])).lower()
        detected = (
            f"Detected payroll: {present.money(p['amount'])} {cadence_words}, next "
            f"{present.day(p['next_date'])} (confidence {present.percent(p['confidence'])})."
        )
    inflows = view.recurring.filter(view.recurring["direction"] == "inflow")
    retainers = {
        r["pattern_id"]: (
            f"{r['party']} · {present.phrase(r['cadence'])} · {present.money(r['amount'])} "
            f"(confidence {present.percent(r['confidence'])})"
        )
        for r in inflows.iter_rows(named=True)
    }
retainers.update({pid: pid for pid in current.confirmed_inflows if pid not in retainers})

st.header(present.escape_markdown(_state.company_names().get(realm, realm)))
with st.form("company_settings"):
    reserve = st.text_input(
        "Cash reserve in dollars (empty: next payroll + must-pay bills)",
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
        "Payroll amount override in dollars (empty: as detected)",
        "" if current.payroll_amount is None else str(current.payroll_amount),
    )
    anchor = st.text_input(
        "A known payroll date, year-month-day (anchors every-other-week; empty: none)",
        "" if current.payroll_anchor_date is None else current.payroll_anchor_date.isoformat(),
        placeholder="2026-11-20",
    )
    st.markdown("**Recurring retainers**")
    confirmed_inflows = st.multiselect(
        "Retainers counted in the forecast (only confirmed ones are)",
        list(retainers),
        default=[pid for pid in current.confirmed_inflows if pid in retainers],
        format_func=lambda pid: retainers.get(pid, pid),
    )
    expected = (
        st.checkbox(
            "Forecast expected billing not invoiced yet (labelled 'expected')",
            value=bool(current.expected_billing),
        )
        if hasattr(current, "expected_billing")
        else None
    )
    critical = st.multiselect(
        "Critical vendors (always Must Pay)",
        list(vendors),
        default=[v for v in current.critical_vendors if v in vendors],
        format_func=lambda v: vendors.get(v, v),
    )
    tolerance = st.text_input(
        f"Delay tolerance: days past due a non-critical bill may wait ({TOLERANCE[0]}–"
        f"{TOLERANCE[1]})",
        str(current.delay_tolerance_days),
    )
    cooldown = st.text_input(
        f"Reminder cooldown in days ({COOLDOWN[0]}–{COOLDOWN[1]})",
        str(current.reminder_cooldown_days),
    )
    recipients = st.text_area(
        "Digest recipients (one e-mail per line)", "\n".join(current.digest_recipients)
    )
    submitted = st.form_submit_button("Save settings", type="primary")


def read_form() -> dict:
    """Every field checked before anything is stored; all problems named at once."""
    values: dict = {
        "payroll_confirmed": confirmed,
        "payroll_cadence": cadence,
        "critical_vendors": critical,
        "confirmed_inflows": confirmed_inflows,
    }
    if expected is not None:
        values["expected_billing"] = expected
    checks = {
        "reserve": lambda: present.parse_amount(reserve, "Cash reserve"),
        "payroll_amount": lambda: present.parse_amount(amount, "Payroll amount", allow_zero=False),
        "payroll_anchor_date": lambda: present.parse_day(anchor, "Known payroll date"),
        "delay_tolerance_days": lambda: present.parse_whole(
            tolerance, "Delay tolerance", *TOLERANCE
        ),
        "reminder_cooldown_days": lambda: present.parse_whole(
            cooldown, "Reminder cooldown", *COOLDOWN
        ),
        "digest_recipients": lambda: present.parse_emails(recipients, "Digest recipients"),
    }
    problems = []
    for field, check in checks.items():
        try:
            values[field] = check()
        except present.InputError as exc:
            problems.append(str(exc))
    if problems:
        raise present.InputError("\n".join(problems))
    return values


if submitted:
    try:
        save_company_settings(s, realm, read_form())
    except present.InputError as exc:
        st.error(
            "Not saved — please correct:\n\n" + "\n".join(f"- {p}" for p in str(exc).splitlines())
        )
    except ValueError as exc:  # SettingsError names the field and the problem
        st.error("Not saved: " + str(exc).split(";")[0])
    else:
        _state.clear_views()
        st.success("Saved. The forecast and the tray now use these settings.")
