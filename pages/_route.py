"""Deep links run through app.py's router.

With a ``pages/`` folder beside app.py, Streamlit starts in its old folder mode: a first visit to
``/firm`` would run pages/firm.py alone — no frame, and every helper module listed as a page —
until some session has run app.py's ``st.navigation``. The first page script to notice switches
the server to st.navigation for good and reruns through app.py.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_app() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
