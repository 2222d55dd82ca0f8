"""Console test fixtures: the demo firm built and synced once per session into a template data
directory, a private copy per test (tests that approve actions change it), and AppTest drivers.

The template is built with the product's own path (``sandbox.demo.build_demo_firm`` ->
``sync.oauth.connect_sandbox_companies`` -> ``sync.engine.sync_all``), the same as ``oodaloo demo``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from ui_support import DEMO_COMPANIES, navigation_like_the_server

from oodaloo.config import Settings, load_settings


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synced demo firm (sandbox + tokens + warehouse) built once for the whole session."""
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies
    from sync.store import Warehouse

    build_dir = tmp_path_factory.mktemp("demo-build") / "data"
    build_dir.mkdir()
    settings = load_settings(data_dir=build_dir)
    build_demo_firm(
        settings.sandbox_path,
        seed=settings.demo_seed,
        today=settings.demo_today,
        companies=DEMO_COMPANIES,
    )
    connect_sandbox_companies(settings)
    sync_all(settings)
    with Warehouse(settings.warehouse_path).read():  # no writer mid-copy: a frozen template
        return copy_demo(build_dir, tmp_path_factory.mktemp("demo-template") / "data")


def copy_demo(template: Path, target: Path) -> Path:
    """A private copy of the demo data directory (lock files are per copy, like the stores)."""
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


@pytest.fixture
def demo_settings(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings over this test's own copy of the demo firm (also what the app reads: the env)."""
    data_dir = copy_demo(demo_template, tmp_path / "demo")
    monkeypatch.setenv("OODALOO_DATA_DIR", str(data_dir))
    # One process runs many console sessions here: only the tests about the scheduler start it
    # (its digest slot would otherwise make a digest in the background of every test).
    monkeypatch.setenv("OODALOO_CONSOLE_SCHEDULER", "false")
    return load_settings(data_dir=data_dir)


@pytest.fixture(autouse=True, scope="session")
def app_frame_on_every_run() -> None:
    navigation_like_the_server()


@pytest.fixture(autouse=True)
def fresh_streamlit_caches() -> Iterator[None]:
    """Caches are per process: clear them after each test (releases schedulers and services)."""
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
