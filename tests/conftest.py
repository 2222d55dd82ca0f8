"""Shared test setup: every test gets its own data directory and a clean environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from oodaloo.config import Settings, load_settings

# CI replays a fixed, seeded set of generated examples (a red build is then reproducible from its
# log); local runs keep exploring new ones. Failures found locally are kept in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# Encryption keys never live in a data folder: the tests keep theirs in a private config home of
# this run (not the developer's ~/.config), shared by session fixtures and child processes.
os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="oodaloo-test-config-"))
# Tests run as a signed-in firm admin on loopback; tests/security/ sign in for real instead.
TEST_IDENTITY = "admin@tests.local"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No OODALOO_* variable from the developer's shell leaks in; data goes to a fresh directory."""
    for name in list(os.environ):
        if name.startswith("OODALOO_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("OODALOO_DATA_DIR", str(data_dir))
    monkeypatch.setenv("OODALOO_AUTH_LOCAL_IDENTITY", TEST_IDENTITY)
    monkeypatch.setenv("OODALOO_AUTH_ADMINS", TEST_IDENTITY)
    # One signed-in admin approves alone in these tests; tests/security/ sets real thresholds.
    monkeypatch.setenv("OODALOO_SECOND_APPROVER_THRESHOLD", "1000000000")
    return data_dir


@pytest.fixture
def settings(isolated_env: Path) -> Settings:
    """Settings for the embedded sandbox under the test's own data directory."""
    return load_settings(data_dir=isolated_env)
