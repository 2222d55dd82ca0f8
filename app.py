"""Oodaloo console: the router and the frame every page shares.

The frame: the QuickBooks OAuth return (handled before navigation), the in-process scheduler
(started once per process), the company picker, the freshness badge and "Sync now". Everything
else lives in pages/ (thin) and the packages they call.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # pages import their shared helpers as ``pages._state`` etc.
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402  # after the sys.path set-up above

from oodaloo import auth  # noqa: E402  # after the sys.path set-up above
from oodaloo.config import load_settings  # noqa: E402  # after the sys.path set-up
from pages import _frame, _state  # noqa: E402  # after the sys.path set-up above

st.set_page_config(
    page_title="Oodaloo — cash runway",
    page_icon=str(ROOT / "oodaloo/assets/icon.png"),  # served by us, fetched from nowhere
    layout="wide",
)

# Nothing below runs for an anonymous visitor, a foreign Host header or a remote address on a
# loopback-only console: they see the sign-in page (or one sentence) and the script stops.
auth.sign_in_gate(load_settings())

_frame.handle_oauth_return()
_frame.start_scheduler()

PAGES = {
    "Company": [
        st.Page(
            ROOT / "pages/runway.py", title="Runway", icon=":material/trending_up:", default=True
        ),
        st.Page(ROOT / "pages/console.py", title="Cash Console", icon=":material/payments:"),
    ],
    "Firm": [st.Page(ROOT / "pages/firm.py", title="All companies", icon=":material/apartment:")],
    "Data": [
        st.Page(ROOT / "pages/data.py", title="Data & audit", icon=":material/fact_check:"),
        st.Page(ROOT / "pages/digest.py", title="Digest", icon=":material/picture_as_pdf:"),
        st.Page(ROOT / "pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}

page = st.navigation(PAGES)
on_firm_page = page.url_path == "firm"
_frame.sidebar(firm_page=on_firm_page)
_state.prefetch(_state.selected_realm(), page.url_path or "runway")  # overlaps the badge
_frame.badge(firm_page=on_firm_page)
with st.sidebar:
    auth.sign_out_button()  # who is signed in, and Sign out
page.run()
