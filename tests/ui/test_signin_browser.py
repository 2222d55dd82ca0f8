"""Sign-in and roles in a real browser: the console as `make run` serves it (sandbox on loopback
HTTP acting as the OIDC provider for the demo users, st.login, the demo secrets.toml), headless
Chromium signing in as each role through the provider's login form.

* an anonymous visitor sees only the sign-in page, whatever URL it opens;
* a viewer cannot prepare or approve;
* a preparer's selection waits for an approver, who approves it from the waiting panel;
* above the company's threshold one approver is not enough: a second, different one is;
* the audit names the people.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, free_port
from ui_support import ROOT

from oodaloo import auth
from oodaloo.config import Settings, load_settings

pytestmark = pytest.mark.browser

HOSTILE = "![pwn](http://evil.example/p.png) [Reconnect QuickBooks](http://evil.example/x)"
PASSWORDS = {
    "owner@demo.local": "owner-demo",
    "partner@demo.local": "partner-demo",
    "analyst@demo.local": "analyst-demo",
    "viewer@demo.local": "viewer-demo",
}


@dataclass
class Served:
    url: str
    sandbox: str
    settings: Settings


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{url} did not answer within 60 s"
        time.sleep(0.3)


@pytest.fixture
def served(demo_settings: Settings, tmp_path: Path) -> Iterator[Served]:
    """Sandbox server + console, signed-in mode (no local identity), demo roles granted."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "OODALOO_AUTH_LOCAL_IDENTITY",
            "OODALOO_AUTH_ADMINS",
            "OODALOO_SECOND_APPROVER_THRESHOLD",
        )
    }
    env["OODALOO_DATA_DIR"] = str(demo_settings.data_dir)
    env["OODALOO_CONSOLE_SCHEDULER"] = "false"
    settings = load_settings(
        data_dir=demo_settings.data_dir, auth_local_identity=None, auth_admins=""
    )
    auth.seed_demo_roles(settings)
    from sync.connections import list_companies
    from sync.store import Warehouse

    first = list_companies(settings)[0].realm_id
    with Warehouse(settings.warehouse_path).write() as con:  # QBO text that looks like markup
        con.execute(
            "UPDATE log_company_info SET company_name = ? WHERE realm_id = ?", [HOSTILE, first]
        )

    sandbox_port, console_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    env["OODALOO_QBO_BASE_URL"] = sandbox_url
    env["OODALOO_QBO_REDIRECT_URI"] = f"http://127.0.0.1:{console_port}/"
    # The console runs from its own folder so the demo secrets.toml is the test's, not the repo's.
    home = tmp_path / "console"
    (home / ".streamlit").mkdir(parents=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", home / ".streamlit" / "config.toml")
    from oodaloo.auth_cli import demo_secrets_text

    (home / ".streamlit" / "secrets.toml").write_text(demo_secrets_text(console_port, sandbox_url))

    sandbox_log, console_log = tmp_path / "sandbox.log", tmp_path / "console.log"
    with sandbox_log.open("w") as slog, console_log.open("w") as clog:
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "oodaloo.cli", "sandbox", "serve", "--port", str(sandbox_port)],
            cwd=ROOT,
            env=env,
            stdout=slog,
            stderr=subprocess.STDOUT,
        )
        console = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.port",
                str(console_port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=home,
            env=env,
            stdout=clog,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(f"{sandbox_url}/admin/health", sandbox, sandbox_log)
            _wait_healthy(f"http://127.0.0.1:{console_port}/_stcore/health", console, console_log)
            yield Served(f"http://127.0.0.1:{console_port}", sandbox_url, settings)
        finally:
            for process in (console, sandbox):
                process.kill()
                process.wait(timeout=10)


def settled(page: Any) -> None:
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60_000
    )
    page.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000
    )
    page.wait_for_timeout(300)


def sign_in(browser: Any, served: Served, email: str) -> Any:
    """A fresh browser context signed in through the provider's login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(served.url)
    settled(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.sandbox}/oidc/authorize*", timeout=30_000)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORDS[email])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.url}/**", timeout=30_000)
    settled(page)
    assert (
        page.get_by_text("Signed in as").count() > 0
        or page.locator("[data-testid='stSidebarNav']").count() > 0
    ), page.content()[:2000]
    return page


def open_console(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/console")
    settled(page)
    page.wait_for_selector("h1", timeout=30_000)


def select_rows(page: Any, heading: str, until_enabled: str | None = None, rows: int = 1) -> None:
    """Tick rows of the table under ``heading`` (the grid's row-marker column), one by one,
    until the button ``until_enabled`` is enabled (a recurring outflow row is not an action)."""
    section = page.locator("[data-testid='stHeading']", has_text=heading).first
    grid = section.locator("xpath=following::*[@data-testid='stDataFrame'][1]")
    grid.scroll_into_view_if_needed()
    for index in range(rows if until_enabled is None else 8):
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 14, box["y"] + 35 * (index + 1) + 17)  # 35 px rows + header
        settled(page)
        if until_enabled and page.get_by_role("button", name=until_enabled).is_enabled():
            return
    if until_enabled:
        page.screenshot(path=str(ROOT / "test-artifacts" / "select_rows.png"), full_page=True)
        raise AssertionError(f"no row under {heading!r} enabled {until_enabled!r}")


def waiting_for(served: Served, realm: str) -> list[dict[str, Any]]:
    from actions.service import ActionService

    with ActionService(served.settings) as svc:
        return svc.waiting_approvals(realm)


def intents(served: Served) -> list[dict[str, Any]]:
    from actions.service import ActionService

    with ActionService(served.settings) as svc:
        return svc.list_intents()


def test_sign_in_and_roles_in_a_real_browser(served: Served) -> None:
    from playwright.sync_api import sync_playwright

    from sync.connections import list_companies

    realm = list_companies(served.settings)[0].realm_id
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # 1. Anonymous: only the sign-in page, on every URL.
            anonymous = browser.new_page()
            for path in ("", "console", "settings", "data"):
                anonymous.goto(f"{served.url}/{path}")
                settled(anonymous)
                assert anonymous.get_by_role("button", name="Sign in").count() == 1, path
                assert anonymous.locator("[data-testid='stSidebarNav']").count() == 0, path
                body = anonymous.locator("[data-testid='stMain']").inner_text()
                assert "Cash Console" not in body and "Must Pay" not in body, path

            # 2. Viewer: reads, cannot prepare or approve, no Settings. The company's hostile
            #    name reads as text on the pages: no image, no link.
            viewer = sign_in(browser, served, "viewer@demo.local")
            open_console(viewer, served)
            for where in ("console", ""):
                viewer.goto(f"{served.url}/{where}")
                settled(viewer)
                viewer.wait_for_selector("h1", timeout=30_000)
                main = viewer.locator("[data-testid='stMain']")
                assert "[Reconnect QuickBooks](http" in main.inner_text(), where
                # (a heading's own "#pwn-http-evil..." anchor is a same-page link: harmless)
                live = main.locator("img[src*='evil'], a[href*='evil']:not([href^='#'])")
                assert live.count() == 0, (
                    where,
                    [e.evaluate("n => n.outerHTML") for e in live.all()],
                )
            open_console(viewer, served)
            assert viewer.get_by_text("Must Pay").count() > 0
            select_rows(viewer, "Must Pay", rows=2)
            assert viewer.get_by_role("button", name="Review and approve").is_disabled()
            assert viewer.get_by_text("Your role in this company is viewer").count() == 1
            viewer.goto(f"{served.url}/settings")
            settled(viewer)
            assert (
                viewer.get_by_text(
                    "Settings and QuickBooks connections are for firm admins"
                ).count()
                == 1
            )

            # 3. Preparer: the selection is submitted and waits; nothing is paid. The company's
            #    threshold is 0, so any payment needs two different approvers.
            auth.set_threshold(served.settings, realm, "0", by="test")
            analyst = sign_in(browser, served, "analyst@demo.local")
            open_console(analyst, served)
            select_rows(analyst, "Must Pay", until_enabled="Review and approve")
            analyst.get_by_role("button", name="Review and approve").click()
            analyst.get_by_role("button", name="Submit for approval").click()
            settled(analyst)
            [proposal] = waiting_for(served, realm)
            assert proposal["proposed_by"] == "analyst@demo.local"
            assert proposal["approvers"] == [] and intents(served) == []
            assert proposal["approvals_needed"] == 2 and Decimal(proposal["cash_out"]) > 0

            # 4. The viewer sees it waiting, with no button to approve it.
            open_console(viewer, served)
            assert viewer.get_by_text("Waiting for approval (1)").count() == 1
            assert viewer.get_by_role("button", name="Approve", exact=True).count() == 0

            # 5. Above the threshold one approver is not enough ...
            owner = sign_in(browser, served, "owner@demo.local")
            open_console(owner, served)
            owner.get_by_role("button", name="Approve", exact=True).click()
            settled(owner)
            assert [p["approvers"] for p in waiting_for(served, realm)] == [["owner@demo.local"]]
            assert intents(served) == []
            # the approval is stored before the page's rerun redraws it: wait, bounded, for that
            owner.get_by_text("You approved this").first.wait_for(timeout=60_000)
            assert owner.get_by_text("You approved this").count() == 1

            # 6. ... a second, different approver is, and the actions run under both names.
            partner = sign_in(browser, served, "partner@demo.local")
            open_console(partner, served)
            partner.get_by_role("button", name="Approve", exact=True).click()
            settled(partner)
            assert waiting_for(served, realm) == []
            done = intents(served)
            assert done and {i["state"] for i in done} == {"succeeded"}, done
            assert {i["actor"] for i in done} == {"owner@demo.local, partner@demo.local"}
            from actions.service import ActionService

            with ActionService(served.settings) as svc:
                events = {(a["event"], a["actor"]) for a in svc.audit(realm)}
            assert ("submitted_for_approval", "analyst@demo.local") in events
            assert ("approval_given", "owner@demo.local") in events
            assert ("approval_given", "partner@demo.local") in events
        finally:
            browser.close()


def _handshake(url: str, host: str) -> str:
    """The status line the console answers to a WebSocket handshake with this Host header."""
    import base64
    import secrets
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(url).port
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Origin: http://{host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(secrets.token_bytes(16)).decode()}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_a_foreign_host_header_gets_no_websocket(served: Served) -> None:
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 cannot open the app's
    WebSocket (config.toml allowedHosts), while the console's own address can."""
    assert " 101 " in _handshake(served.url, "127.0.0.1")
    refused = _handshake(served.url, "attacker.example")
    assert " 101 " not in refused and refused.startswith("HTTP/1.1 4"), refused
