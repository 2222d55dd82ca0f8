"""The frame around every page: freshness badge, Sync now, and the QuickBooks OAuth return."""

from __future__ import annotations

import os
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from ui_support import open_app, static_figures

from oodaloo.auth import Identity, session_key
from oodaloo.config import Settings, load_settings
from oodaloo.wiring import http_client
from sync.client import QBOClient
from sync.connections import list_companies
from sync.engine import sync_company
from sync.oauth import authorize_url
from sync.queue import pending_requests
from sync.retry import FAST


def badge_of(at: object) -> str:
    alerts = [
        e.value for kind in ("success", "info", "warning", "error") for e in getattr(at, kind)
    ]  # type: ignore[attr-defined]
    return alerts[0] if alerts else ""


def dead_loopback_url() -> str:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_badge_turns_unreachable_when_quickbooks_is_down(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    at = open_app("runway", realm)
    assert badge_of(at).startswith("Synced"), badge_of(at)

    monkeypatch.setenv("OODALOO_QBO_BASE_URL", dead_loopback_url())
    down = load_settings()
    with QBOClient(
        down, retry=FAST
    ) as client:  # the product's retry policy, without the real waits
        assert sync_company(down, realm, client=client).outcome == "unreachable"
    at.run()
    assert badge_of(at).startswith("QuickBooks unreachable — showing data from"), badge_of(at)
    assert not at.exception
    assert static_figures(at), "the page still shows the last synced figures"


def test_sync_now_queues_without_blocking(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    at = open_app("runway", realm)
    at.sidebar.button(key="sync_now").click().run()
    assert [r["realm_id"] for r in pending_requests(demo_settings)] == [realm]
    assert at.sidebar.button(key="sync_now").disabled  # a double click cannot queue twice
    assert "Sync queued" in " ".join(c.value for c in at.sidebar.caption)


def sandbox_redirect(settings: Settings, realm_id: str) -> dict[str, str]:
    """What Intuit (here: the sandbox) puts on the redirect back to us."""
    with http_client(settings, follow_redirects=False) as client:
        session = session_key(Identity(os.environ["OODALOO_AUTH_LOCAL_IDENTITY"], source="local"))
        location = client.get(  # started by the signed-in console session (issue 14)
            authorize_url(settings, realm_id=realm_id, session=session)
        ).headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_oauth_return_connects_once_and_clears_the_params(demo_settings: Settings) -> None:
    realm = list_companies(demo_settings)[0].realm_id
    params = sandbox_redirect(demo_settings, realm)
    assert {"code", "state", "realmId"} <= set(params)

    at = open_app()
    at.query_params.update(params)
    at.run()
    assert not at.exception
    assert not dict(at.query_params), "code and state are cleared so a refresh cannot replay them"
    assert any(s.value.startswith("Connected") for s in at.success), (
        [s.value for s in at.success],
        [e.value for e in at.error],
        [w.value for w in at.warning],
    )
    assert at.session_state["realm_id"] == realm

    replay = open_app()  # a new session replaying the same redirect: the state was used once
    replay.query_params.update(params)
    replay.run()
    assert any("could not be connected" in e.value for e in replay.error), [
        e.value for e in replay.error
    ]
    assert not replay.exception


def test_one_scheduler_per_process_shut_down_on_release(
    demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st

    from pages import _frame

    monkeypatch.setenv("OODALOO_CONSOLE_SCHEDULER", "true")  # the production default
    first, second = open_app("runway"), open_app("firm")  # two sessions, several reruns
    first.run()
    assert not first.exception and not second.exception
    scheduler = _frame._scheduler(str(demo_settings.data_dir))
    assert scheduler.running
    assert {job.id for job in scheduler.get_jobs()} >= {"sync-incremental", "sync-requests"}
    assert (
        _frame._scheduler(str(demo_settings.data_dir)) is scheduler
    )  # the same one, not one per run
    st.cache_resource.clear()
    assert not scheduler.running


def test_no_scheduler_when_a_dedicated_process_runs_it(demo_settings: Settings) -> None:
    import threading

    at = open_app("runway")  # OODALOO_CONSOLE_SCHEDULER=false (the fixture's setting)
    assert not at.exception
    assert not [t for t in threading.enumerate() if t.name == "APScheduler" and t.is_alive()]
