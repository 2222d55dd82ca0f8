"""The console's gate in AppTest: an anonymous session and a signed-in person without any role
get one page each, and nothing of the product (no navigation, no company data)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from oodaloo import auth
from oodaloo.config import load_settings

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "header", "subheader", "markdown", "warning", "info")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_anonymous_sees_only_sign_in(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OODALOO_AUTH_LOCAL_IDENTITY")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    text = _texts(at)
    assert "Sign in" in text and "Cash Console" not in text and "Runway" not in text
    assert not (isolated_env / "warehouse.duckdb").exists()  # nothing of the product ran


def test_signed_in_without_a_role_gets_no_access(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OODALOO_AUTH_LOCAL_IDENTITY", "stranger@example.com")
    monkeypatch.setenv("OODALOO_AUTH_ADMINS", "")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("no role is given to you" in w.value for w in at.warning)
    assert "Cash Console" not in _texts(at)

    auth.grant(load_settings(), "stranger@example.com", auth.VIEWER)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not any("no role is given to you" in w.value for w in at.warning)
