"""Sync through injected faults (429/503/500, timeouts, lost responses) and through expiring or
revoked OAuth tokens."""

from __future__ import annotations

import sqlite3

import httpx

from oodaloo.config import Settings
from sandbox.faults import Faults
from sandbox.transport import embedded_transport
from sync import connections
from sync.client import QBOClient
from sync.engine import sync_all, sync_company
from sync.limiter import LimiterRegistry, Limits
from sync.retry import RetryPolicy
from sync.tokens import TokenStore
from tests.sync.conftest import (
    SMALL_PAGES,
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
    build_world,
)

PATIENT = RetryPolicy(attempts=12, initial_wait=0.01, max_wait=0.05, total_seconds=120, jitter=0.01)
QUICK_PAUSES = Limits(throttle_pause_seconds=0.05)


def test_twenty_percent_faults_still_reach_the_truth(demo_world: World) -> None:
    world = demo_world
    Faults(world.db).set(
        {
            "throttle": 0.06,
            "unavailable": 0.05,
            "server_error": 0.03,
            "slow": 0.03,
            "slow_seconds": 1.0,
            "lost_response": 0.03,
        }
    )
    client = QBOClient(
        world.settings, retry=PATIENT, limiters=LimiterRegistry(QUICK_PAUSES), timeout=0.3
    )
    world.clients.append(client)
    for realm in world.realms:
        result = sync_company(world.settings, realm, client=client, options=SMALL_PAGES)
        assert result.outcome == "ok", result.error
    from sandbox.testing import api_client
    from tests.sync.mutations import Mutator

    Faults(world.db).clear()
    for realm in world.realms:
        world.db.advance_clock(60)
        with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
            Mutator(api, seed=5).run(10)
    Faults(world.db).set(
        {
            "throttle": 0.08,
            "unavailable": 0.06,
            "slow": 0.03,
            "slow_seconds": 1.0,
            "lost_response": 0.03,
        }
    )
    for realm in world.realms:
        result = sync_company(world.settings, realm, client=client, options=SMALL_PAGES)
        assert result.outcome == "ok", result.error
    Faults(world.db).clear()
    assert_store_matches_truth(world)
    assert_no_duplicate_versions(world.warehouse)
    assert sum(client.limiter(r).throttled for r in world.realms) > 0  # the faults really happened
    assert client.requests_made > sum(1 for _ in world.realms) * 4


class ClockJump(httpx.BaseTransport):
    """Moves the sandbox clock past the access token's life after the n-th API call."""

    def __init__(self, world: World, after: int) -> None:
        self.inner = embedded_transport(world.settings.sandbox_path)
        self.world, self.after, self.calls = world, after, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "/v3/company/" in request.url.path:
            self.calls += 1
            if self.calls == self.after:
                self.world.db.advance_clock(3700)
        return self.inner.handle_request(request)


def test_access_token_expiring_mid_sync_is_refreshed_transparently(settings: Settings) -> None:
    world = build_world(settings, demo=True, companies=1, scale=0.2)
    try:
        realm = world.realms[0]
        before = TokenStore(settings).access_token(realm)
        client = QBOClient(settings, transport=ClockJump(world, after=2))
        world.clients.append(client)
        result = sync_company(settings, realm, client=client, options=SMALL_PAGES)
        assert result.outcome == "ok", result.error
        after = TokenStore(settings).access_token(realm)
        assert (
            before is not None and after is not None and after.generation == before.generation + 1
        )
        assert_store_matches_truth(world)
    finally:
        world.close()


def test_dead_refresh_token_marks_only_that_company(world: World) -> None:
    dead, alive = world.realms
    con = sqlite3.connect(world.settings.sandbox_path)
    con.execute("UPDATE tokens SET revoked = 1 WHERE realm_id = ?", (dead,))
    con.commit()
    con.close()
    results = {
        r.realm_id: r for r in sync_all(world.settings, options=SMALL_PAGES, client=world.client())
    }
    assert results[dead].outcome == "reconnect_needed"
    assert results[alive].outcome == "ok"
    states = {c.realm_id: c.state for c in connections.list_companies(world.settings)}
    assert states == {dead: "reconnect_needed", alive: "connected"}
    assert_store_matches_truth(world, [alive])
    # the stopped company is skipped (no calls) until it is reconnected
    again = sync_company(world.settings, dead, client=world.client())
    assert again.outcome == "reconnect_needed" and again.requests == 0
