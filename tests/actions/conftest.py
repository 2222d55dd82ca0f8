"""Fixtures for the action tests: a sandbox world and real child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions_world import SandboxWorld

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def world(tmp_path: Path):  # noqa: ANN201
    w = SandboxWorld(tmp_path, companies=2)
    yield w
    w.close()


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OODALOO_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE)])
    return env


def spawn_child(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "actions_child.py"), *args], cwd=ROOT, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def spawn_cli(data_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oodaloo.cli", "--data-dir", str(data_dir), *args], cwd=ROOT,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
