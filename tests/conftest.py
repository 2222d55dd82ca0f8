"""Shared test setup: every test gets its own data directory and a clean environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from oodaloo.config import Settings, load_settings

# CI replays a fixed, seeded set of generated examples (a red build is then reproducible from its
# log); local runs keep exploring new ones. Failures found locally are kept in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No OODALOO_* variable from the developer's shell leaks in; data goes to a fresh directory."""
    for name in list(os.environ):
        if name.startswith("OODALOO_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    monkeypatch.setenv("OODALOO_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def settings(isolated_env: Path) -> Settings:
    """Settings for the embedded sandbox under the test's own data directory."""
    return load_settings(data_dir=isolated_env)
