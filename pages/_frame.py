"""The frame around every page: OAuth return, scheduler, company picker, freshness badge, Sync now.

Only calls into ``sync`` (oauth, freshness, queue, scheduler); no logic of its own beyond layout.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from oodaloo.present import TONE_COLOR
from pages import _state

FLASH_KEY = "flash"
PENDING_REALM = "pending_realm"
SYNC_COOLDOWN_SECONDS = 30


# ---- OAuth return ----------------------------------------------------------------------


def handle_oauth_return() -> None:
    """Intuit (or the sandbox) redirects back with ?code&state&realmId: finish the connect.

    The ``state`` is checked and consumed server-side by ``sync.oauth.complete_connect`` (the
    redirect opens a new browser session, so session state cannot hold it). The query params are
    cleared first so that a refresh cannot replay the code.
    """
    params = st.query_params.to_dict()
    if "code" not in params and "error" not in params:
        return
    st.query_params.clear()
    if "error" in params:
        _flash(
            "warning", "The QuickBooks connection was not completed (it was cancelled or refused)."
        )
        return
    code, state, realm_id = (
        params.get("code", ""),
        params.get("state", ""),
        params.get("realmId", ""),
    )
    if not (code and state and realm_id):
        _flash("error", "The QuickBooks redirect was incomplete (code, state or company missing).")
        return
    try:
        from oodaloo.auth import oauth_session
        from sync.oauth import complete_connect

        company = complete_connect(
            _state.settings(), code, state, realm_id, session=oauth_session()
        )  # the state must come back to the signed-in session that asked for it
    except Exception as exc:
        _flash(
            "error",
            "QuickBooks could not be connected. Start the connection again from Settings.",
            exc,
        )
        return
    st.cache_data.clear()  # the company list changed
    st.session_state[PENDING_REALM] = realm_id
    _flash(
        "success",
        f"Connected {_escape(getattr(company, 'name', None) or realm_id)}. "
        "Its first sync is queued.",
    )
    _queue_sync([realm_id], reason="connected")


def _flash(kind: str, message: str, exc: BaseException | None = None) -> None:
    from oodaloo.auth import error_reference  # visitors see an id; the log has the details

    detail = None if exc is None else f"Reference {error_reference(exc, message)}"
    st.session_state[FLASH_KEY] = {"kind": kind, "message": message, "detail": detail}


def show_flash() -> None:
    flash = st.session_state.pop(FLASH_KEY, None)
    if not flash:
        return
    getattr(st, flash["kind"])(flash["message"])
    if flash.get("detail"):
        with st.expander("Details"):
            st.code(flash["detail"])


# ---- scheduler -------------------------------------------------------------------------


def _shutdown(scheduler: Any) -> None:
    if getattr(scheduler, "running", False):
        scheduler.shutdown(wait=False)


@st.cache_resource(show_spinner=False, on_release=_shutdown)
def _scheduler(data_dir: str) -> Any:
    """One background scheduler per process and data directory (not per session or rerun)."""
    from oodaloo.jobs import build_scheduler

    scheduler = build_scheduler(_state.settings(), background=True)
    if not scheduler.running:
        scheduler.start()
    return scheduler


def start_scheduler() -> None:
    """Keep the data fresh in-process (unless a dedicated scheduler process does it); a failing
    scheduler never blocks the console."""
    if not _state.settings().console_scheduler:
        st.session_state["scheduler_down"] = False
        return
    try:
        _scheduler(str(_state.settings().data_dir))
    except Exception:
        st.session_state["scheduler_down"] = True
    else:
        st.session_state["scheduler_down"] = False


# ---- sidebar: picker and Sync now ------------------------------------------------------


def sidebar(*, firm_page: bool) -> None:
    """Company picker (its choice kept across pages) and "Sync now"."""
    names = _state.company_names()
    pending = st.session_state.pop(PENDING_REALM, None)
    if pending is not None:
        _state.select_company(pending)
    options = [_state.ALL_COMPANIES, *names]
    # Streamlit drops a widget's value when st.switch_page changes the page; the choice lives in
    # a plain session key and is written back into the widget on every run, on every page.
    current = st.session_state.get(_state.CHOSEN_KEY, st.session_state.get(_state.REALM_KEY))
    if current not in options:
        current = next(iter(names), _state.ALL_COMPANIES)
    _state.select_company(None if current == _state.ALL_COMPANIES else current)
    with st.sidebar:
        st.selectbox(
            "Company",
            options,
            key=_state.REALM_KEY,
            format_func=lambda r: "All companies" if r == _state.ALL_COMPANIES else names.get(r, r),
            on_change=_picker_changed,
        )
        realm = _state.selected_realm()
        targets = list(names) if (realm is None or firm_page) else [realm]
        queued_at = st.session_state.get("sync_queued_at", 0.0)
        cooling = time.time() - queued_at < SYNC_COOLDOWN_SECONDS
        st.button(
            "Sync now",
            key="sync_now",
            icon=":material/sync:",
            disabled=cooling or not targets,
            on_click=_queue_sync,
            args=(targets, "user"),
            help="Queues a sync of the company shown (or of all companies); the page stays usable.",
        )
        if cooling:
            st.caption("Sync queued — the figures update when it finishes.")


def _picker_changed() -> None:
    """Remember the choice across pages; each page shows its firm-wide view for "All
    companies" (the page stays where the user is)."""
    st.session_state[_state.CHOSEN_KEY] = st.session_state.get(_state.REALM_KEY)


def _queue_sync(realm_ids: list[str], reason: str) -> None:
    """Non-blocking: only writes sync requests; the scheduler's drain job does the work."""
    try:
        from sync.queue import request_sync

        for realm_id in realm_ids:
            request_sync(_state.settings(), realm_id, reason)
    except Exception as exc:
        _flash("error", "The sync could not be queued.", exc)
        return
    st.session_state["sync_queued_at"] = time.time()


# ---- freshness badge -------------------------------------------------------------------

_BADGE_STYLE = {
    "fresh": ("success", ":material/check_circle:"),
    "stale": ("info", ":material/schedule:"),
    "never": ("info", ":material/hourglass_empty:"),
    "unreachable": ("warning", ":material/cloud_off:"),
    "reconnect_needed": ("error", ":material/link_off:"),
}
_WORST_FIRST = ["reconnect_needed", "unreachable", "never", "stale", "fresh"]


REFRESHED = ("stale", "never", "unreachable")  # the statuses ``ensure_fresh`` refreshes


def freshness_rows(realm_ids: list[str] | None, *, refresh: bool = False) -> list[Any]:
    """The companies' freshness. ``refresh``: first bring a stale company up to date within the
    bounded wait of ``sync.freshness.ensure_fresh`` (the page then reads the refreshed store);
    a firm-wide page only reports (the scheduler keeps every company fresh)."""
    from sync.freshness import company_freshness, ensure_fresh

    rows = list(company_freshness(_state.settings(), realm_ids))
    if refresh and realm_ids and any(r.status in REFRESHED for r in rows):
        # only a company that needs it pays for ensure_fresh's second reading (and its wait)
        return list(ensure_fresh(_state.settings(), realm_ids))
    return rows


def badge_text(rows: list[Any], firm: bool) -> tuple[str, str]:
    """(status, text) for one company, or a count summary for the firm (worst status wins)."""
    if not rows:
        return "never", "Not synced yet"
    if not firm or len(rows) == 1:
        row = rows[0]
        return str(row.status), str(row.badge)
    statuses = [str(r.status) for r in rows]
    worst = min(statuses, key=lambda s: _WORST_FIRST.index(s) if s in _WORST_FIRST else 0)
    counts = {s: statuses.count(s) for s in _WORST_FIRST if statuses.count(s)}
    words = {
        "fresh": "synced recently",
        "stale": "stale",
        "never": "never synced",
        "unreachable": "QuickBooks unreachable",
        "reconnect_needed": "reconnect needed",
    }
    return worst, f"{len(rows)} companies: " + ", ".join(
        f"{n} {words[s]}" for s, n in counts.items()
    )


# Streamlit draws captions and widget help at 60% opacity (about 3.9:1 on white); WCAG AA asks
# for 4.5:1. A solid grey (#4d5160, about 8:1) keeps them quiet and readable.
ACCESSIBLE_CSS = """<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] *,
[data-testid="stWidgetLabel"] small, [data-testid="stMetricDelta"] { color: #4d5160 !important;
  opacity: 1 !important; }
</style>"""

# The static tables (``_ui.static_table``): body text #31333f on white (12:1), headers on
# #f0f2f6 (11:1), status words in the presentation layer's AA colours; the header stays in
# view while a long table scrolls in its box, and the first column while a wide one does.
# The headline figures (``present.html_figures``) as st.metric draws them, notes at 8:1.
TABLE_CSS = (
    """<style>
.oo-table { overflow: auto; max-width: 100%; }
.oo-table.oo-scroll { max-height: 27rem; }
.oo-table:focus-visible { outline: 2px solid #1f5fa8; outline-offset: 2px; }
.oo-table table { border-collapse: separate; border-spacing: 0; width: 100%;
  font-size: 0.875rem; color: #31333f; }
.oo-table th, .oo-table td { padding: 0.35rem 0.6rem; text-align: left; vertical-align: top;
  border-bottom: 1px solid #e6e9ef; background: #ffffff; }
.oo-table th { position: sticky; top: 0; z-index: 2; background: #f0f2f6; font-weight: 600;
  white-space: nowrap; }
.oo-table th:first-child, .oo-table td:first-child { position: sticky; left: 0; z-index: 1; }
.oo-table th:first-child { z-index: 3; }
.oo-table .oo-num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.oo-figures { display: flex; flex-wrap: wrap; gap: 1rem; margin: 0; padding: 0 !important;
  color: #31333f; }
.oo-figure { flex: 1 1 9rem; min-width: 0; }
.oo-figures dt { font-size: 0.875rem; }
.oo-figures dd { margin: 0; }
.oo-figures .oo-value { font-size: 2.25rem; line-height: 1.4; white-space: nowrap; }
.oo-figures .oo-note { font-size: 0.875rem; color: #4d5160; }
"""
    + "".join(
        f".oo-table .oo-{tone} {{ color: {colour}; font-weight: 600; }}\n"
        for tone, colour in TONE_COLOR.items()
    )
    + "</style>"
)


def accessible_styles() -> None:
    """Text contrast at WCAG AA for the quiet text (captions, help), and the static tables'
    look (one element: each element costs the browser a render)."""
    st.html(ACCESSIBLE_CSS + TABLE_CSS)


def badge(*, firm_page: bool = False) -> None:
    """The freshness badge at the top of every page (plus any message from the last action):
    the chosen company's, or a summary of every company on the firm view."""
    accessible_styles()
    show_flash()
    realm = _state.selected_realm()
    firm = realm is None or firm_page
    try:
        rows = freshness_rows(None if firm or realm is None else [realm], refresh=not firm)
    except Exception as exc:
        from oodaloo import auth

        reference = auth.error_reference(exc, "reading data freshness")
        st.warning(f"Data freshness is unknown right now (reference {reference}).")
        return
    status, text = badge_text(rows, firm)
    kind, icon = _BADGE_STYLE.get(status, ("info", ":material/info:"))
    getattr(st, kind)(text, icon=icon)
    unconverted_accounts_flag(realm, firm)
    if st.session_state.get("scheduler_down"):
        st.caption("Automatic sync is not running in this process; 'Sync now' queues a sync.")


def unconverted_accounts_flag(realm: str | None, firm: bool) -> None:
    """A bank account left out of cash for want of an exchange rate is said on every page (and in
    the PDF), never dropped silently; the sentences come from the one presentation layer."""
    from oodaloo.present import currency_notes

    try:
        if firm or realm is None:  # precomputed with the firm grid: no calculator runs here
            rows = _state.firm_unconverted().to_dicts()
        else:
            cash = _state.company_view(realm).cash
            unconverted = "unconverted" in cash.columns
            rows = cash.filter(cash["unconverted"]).to_dicts() if unconverted else []
    except Exception:  # the page itself reports what cannot be read; the flag stays quiet
        return
    names = _state.company_names() if firm else {}
    for row in rows:
        prefix = f"{names.get(str(row.get('realm_id')), '')}: " if firm else ""
        for note in currency_notes([row]):
            st.warning(_escape(prefix + note), icon=":material/currency_exchange:")


def _escape(text: str) -> str:
    """QuickBooks-supplied text shown through Markdown stays text (oodaloo.present)."""
    from oodaloo.present import escape_markdown

    return escape_markdown(text)
