"""Digest: the weekly PDF (one company or the whole firm), drawn by the digest package's page."""

import streamlit as st

from digest import render
from pages import _state, _ui
from pages._route import through_app

through_app()

st.title("Weekly digest")
with _ui.section("showing the digest"):
    render(_state.settings(), _state.selected_realm(), _state.as_of())
