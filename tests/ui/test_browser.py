"""The real thing: `streamlit run app.py` headless, every page opened in headless Chromium,
no error or exception element, one screenshot per page under test-artifacts/screenshots/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ui_support import ROOT

from oodaloo.config import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# A deep link comes first: a fresh server must route it through app.py (frame + st.navigation),
# not run the page file alone in Streamlit's old pages/ folder mode.
URLS = {
    "firm": "firm",
    "runway": "",
    "console": "console",
    "data": "data",
    "settings": "settings",
    "digest": "digest",
}
HELPER_MODULES = ("frame", "state", "approval", "route")

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def console_server(demo_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The console as users run it, on a free loopback port; killed (and its log shown) after."""
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    env = {
        **os.environ,
        "OODALOO_DATA_DIR": str(demo_settings.data_dir),
        "OODALOO_CONSOLE_SCHEDULER": "true",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "streamlit.log").read_text()
            assert time.monotonic() < deadline, "the console did not become healthy within 60 s"
            time.sleep(0.3)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


def test_every_page_in_a_real_browser(console_server: str, demo_settings: Settings) -> None:
    from playwright.sync_api import sync_playwright

    from sync.connections import list_companies

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first = list_companies(demo_settings)[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name, path in URLS.items():
                page.goto(f"{console_server}/{path}")
                page.wait_for_selector(
                    "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60_000
                )
                page.wait_for_selector(
                    "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000
                )
                page.wait_for_selector("h1", timeout=30_000)
                page.wait_for_timeout(
                    800 if name == "runway" else 300
                )  # charts draw after the run ends
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
                assert page.locator("[data-testid='stException']").count() == 0, name
                nav = page.locator("[data-testid='stSidebarNav']").inner_text()
                assert "All companies" in nav and not any(
                    m in nav.split() for m in HELPER_MODULES
                ), (name, nav)
                errors = page.locator("[data-testid='stAlertContentError']").all_inner_texts()
                assert not errors, (name, errors)
                if name == "runway":
                    assert page.get_by_text(first.name or first.realm_id).count() > 0
                    assert page.locator("[data-testid='stVegaLiteChart'], .vega-embed").count() > 0
        finally:
            browser.close()
