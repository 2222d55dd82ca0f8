"""Fixtures for the action tests: a sandbox world and real child processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from actions_world import SandboxWorld


@pytest.fixture
def world(tmp_path: Path):
    w = SandboxWorld(tmp_path, companies=2)
    yield w
    w.close()
