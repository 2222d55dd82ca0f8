"""Reliability of the sync runs: a killed ``--full`` never leaves a deleted document current; the
batch / projection fall-back is decided per company and safely across threads; a refused read
(403) is shown as such on the badge and in ``status``; the run's clock is asked once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson

from oodaloo import clock
from oodaloo.config import Settings
from sandbox.testing import api_client
from sandbox.transport import embedded_transport
from sync import store
from sync.backfill import RECONCILE_PENDING_KEY
from sync.client import QBOClient
from sync.engine import sync_all, sync_company
from sync.freshness import company_freshness
from sync.limiter import LimiterRegistry
from sync.retry import FAST
from sync.status import status_report
from tests.sync.conftest import (
    SMALL_PAGES,
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
)

ROOT = Path(__file__).resolve().parents[2]


def _current_ids(world: World, realm: str, view: str) -> set[str]:
    with world.warehouse.read() as con:
        rows = con.execute(f"SELECT id FROM {view} WHERE realm_id = ?", [realm]).fetchall()
    return {r[0] for r in rows}


def _delete_bill(world: World, realm: str, bill_id: str) -> None:
    with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
        doc = api.get(f"/bill/{bill_id}").json()["Bill"]
        answer = api.post(
            "/bill",
            params={"operation": "delete"},
            json={"Id": bill_id, "SyncToken": doc["SyncToken"]},
        )
        assert answer.status_code == 200, answer.text


def test_a_full_sync_killed_before_its_reconciliation_never_leaves_a_deleted_bill_current(
    world: World,
) -> None:
    realm = world.realms[0]
    assert (
        sync_company(world.settings, realm, client=world.client(), options=SMALL_PAGES).outcome
        == "ok"
    )
    assert "61" in _current_ids(world, realm, "cur_bill")
    _delete_bill(world, realm, "61")
    world.db.advance_clock(2 * 3600)  # far outside the CDC overlap of the --full that follows
    env = {k: v for k, v in os.environ.items() if not k.startswith("OODALOO_")}
    child = subprocess.run(  # SIGKILLed as the Id listing of the reconciliation is sent
        [
            sys.executable,
            "-m",
            "tests.sync.child_sync",
            str(world.settings.data_dir),
            realm,
            "20",
            "full",
            "1",
            "ORDERBY Id",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    with world.warehouse.read() as con:
        assert store.get_checkpoint(con, realm, RECONCILE_PENDING_KEY) == {"entities": None}
    world.db.advance_clock(60)
    result = sync_company(world.settings, realm, client=world.client(), options=SMALL_PAGES)
    assert result.outcome == "ok" and "reconcile" in result.steps, result
    assert "61" not in _current_ids(world, realm, "cur_bill")
    assert_store_matches_truth(world, [realm])
    assert_no_duplicate_versions(world.warehouse)
    with world.warehouse.read() as con:
        assert store.get_checkpoint(con, realm, RECONCILE_PENDING_KEY) is None


class MeetAtFirstIdListing(httpx.BaseTransport):
    """Every company's first plain ``SELECT Id`` query waits for the others' and the answers
    come back in turn: the refusals (code 4000) of all companies overlap."""

    def __init__(self, inner: httpx.BaseTransport, companies: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(companies, timeout=20)
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.order = threading.Semaphore(1)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        realm = request.url.path.split("/")[3]
        first = False
        if request.url.path.endswith("/query") and body.startswith(b"SELECT Id"):
            with self.lock:
                first = realm not in self.seen
                self.seen.add(realm)
        if first:
            self.barrier.wait()
        return self.inner.handle_request(request)


def test_full_syncs_of_many_companies_at_once_all_succeed(world: World) -> None:
    transport = MeetAtFirstIdListing(
        embedded_transport(world.settings.sandbox_path), len(world.realms)
    )
    client = QBOClient(world.settings, transport=transport, retry=FAST, limiters=LimiterRegistry())
    world.clients.append(client)
    first = sync_all(
        world.settings, world.realms, "incremental", options=SMALL_PAGES, client=client
    )
    assert [r.outcome for r in first] == ["ok"] * len(world.realms)
    world.db.advance_clock(60)
    results = sync_all(world.settings, world.realms, "full", options=SMALL_PAGES, client=client)
    assert [(r.outcome, r.error) for r in results] == [("ok", None)] * len(world.realms)
    assert transport.seen == set(world.realms)  # every company met the others at the barrier
    assert all(client.refuses(r, "projection") for r in world.realms)
    assert_store_matches_truth(world)


class RefuseReads(httpx.BaseTransport):
    """QBO answers 403 (authorization failed, code 3100) to every CDC request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.refusing = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.refusing and request.url.path.endswith("/cdc"):
            body = {
                "fault": {
                    "error": [
                        {
                            "message": "message=AuthorizationFailure; statusCode=403",
                            "detail": "not allowed",
                            "code": "3100",
                        }
                    ],
                    "type": "AUTHORIZATION",
                }
            }
            return httpx.Response(403, content=orjson.dumps(body), request=request)
        return self.inner.handle_request(request)


def test_a_refused_read_shows_on_the_badge_and_in_status_until_a_sync_succeeds(
    world: World,
) -> None:
    realm = world.realms[0]
    transport = RefuseReads(embedded_transport(world.settings.sandbox_path))
    client = QBOClient(world.settings, transport=transport, retry=FAST, limiters=LimiterRegistry())
    world.clients.append(client)
    transport.refusing = False
    assert sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    synced = {f.realm_id: f for f in company_freshness(world.settings)}[realm]
    assert synced.status == "fresh"
    world.db.advance_clock(30)
    transport.refusing = True
    failed = sync_company(world.settings, realm, client=client, options=SMALL_PAGES)
    assert failed.outcome == "error" and "403" in (failed.error or "")
    f = {f.realm_id: f for f in company_freshness(world.settings)}[realm]
    when = synced.last_success_at.astimezone(ZoneInfo(clock.DEFAULT_TZ)).strftime("%H:%M")  # type: ignore[union-attr]
    assert f.status == "unreachable"
    assert f.badge == f"QuickBooks refused a read (HTTP 403) — showing data from {when}"
    row = next(r for r in status_report(world.settings) if r["realm_id"] == realm)
    assert row["badge"] == f.badge and row["freshness"] == "unreachable"
    assert row["last_fault"]["kind"] == "permanent" and "403" in row["last_fault"]["error"]
    transport.refusing = False
    world.db.advance_clock(30)
    assert sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    f = {f.realm_id: f for f in company_freshness(world.settings)}[realm]
    assert (f.status, f.badge) == ("fresh", "Synced just now")


def test_a_run_asks_the_clock_once(world: World, monkeypatch: Any) -> None:
    asked: list[str] = []
    real = clock.now

    def counting(settings: Settings) -> Any:
        asked.append(settings.api_base)
        return real(settings)

    monkeypatch.setattr(clock, "now", counting)
    realm = world.realms[0]
    result = sync_company(world.settings, realm, client=world.client(), options=SMALL_PAGES)
    assert result.outcome == "ok" and "backfill" in result.steps and "reconcile" not in result.steps
    assert len(asked) == 1
