"""Digest: the weekly PDF, rendered by the digest package when it provides ``digest.ui``."""

import importlib.util

import streamlit as st

from pages import _state, _ui
from pages._route import through_app

through_app()

st.title("Weekly digest")
if importlib.util.find_spec("digest.ui") is None:
    st.info(
        "The weekly PDF digest (one company or the whole firm, every Friday morning) will appear here."
    )
else:
    from digest.ui import render

    with _ui.section("showing the digest"):
        render(_state.settings(), _state.selected_realm(), _state.as_of())
