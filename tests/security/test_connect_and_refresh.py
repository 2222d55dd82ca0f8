"""The QuickBooks connection: a slow token endpoint holds up only its own company (no database
lock across the HTTP call), a forged ``realmId`` cannot overwrite another company's tokens,
and a connect ``state`` only completes in the session that asked for it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from oodaloo.wiring import http_client
from sync import statedb
from sync.oauth import ConnectError, authorize_url, complete_connect
from sync.tokens import TokenGrant, TokenStore
from tests.security.conftest import World

ROOT = Path(__file__).resolve().parents[2]


def test_a_slow_token_endpoint_blocks_no_other_company(world: World) -> None:
    slow, other = world.realms
    store = TokenStore(world.settings)
    in_call, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hanging_endpoint(refresh_token: str) -> TokenGrant:
        in_call.set()
        assert release.wait(60), "the test never released the slow endpoint"
        return TokenGrant("slow-access", "slow-refresh")

    def refresh_slow() -> None:
        try:
            outcome["token"] = store.refresh_locked(slow, None, hanging_endpoint)
        except BaseException as exc:  # reported by the assertion below
            outcome["error"] = exc

    worker = threading.Thread(target=refresh_slow)
    worker.start()
    try:
        assert in_call.wait(30)
        # While the slow company's HTTP call hangs: the other company refreshes, ...
        fresh = store.refresh_locked(other, None, lambda rt: TokenGrant("o-access", "o-refresh"))
        assert fresh.value == "o-access"
        # ... this process writes state.sqlite, and so does another process, without waiting.
        with statedb.immediate(world.settings) as con:
            con.execute("UPDATE qbo_connections SET last_error=NULL WHERE realm_id=?", (other,))
        code = (
            "import sqlite3, sys; con = sqlite3.connect(sys.argv[1], timeout=1.0); "
            "con.execute('BEGIN IMMEDIATE'); con.execute('COMMIT'); print('ok')"
        )
        child = subprocess.run(
            [sys.executable, "-c", code, str(world.settings.state_path)],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
        assert child.stdout.strip() == "ok", child.stderr
        assert worker.is_alive()  # the slow refresh really was still in its HTTP call
    finally:
        release.set()
        worker.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert store.access_token(slow).value == "slow-access"  # type: ignore[union-attr]


def test_concurrent_refreshes_of_one_company_call_the_endpoint_once(world: World) -> None:
    realm = world.realms[0]
    store = TokenStore(world.settings)
    generation = store.access_token(realm).generation  # type: ignore[union-attr]
    calls: list[str] = []
    entered = threading.Event()
    release = threading.Event()

    def endpoint(refresh_token: str) -> TokenGrant:
        calls.append(refresh_token)
        entered.set()
        assert release.wait(60)
        return TokenGrant("new-access", "new-refresh")

    results: list[object] = []
    first = threading.Thread(
        target=lambda: results.append(store.refresh_locked(realm, generation, endpoint))
    )
    first.start()
    assert entered.wait(30)
    second = threading.Thread(
        target=lambda: results.append(
            TokenStore(world.settings).refresh_locked(realm, generation, endpoint)
        )
    )
    second.start()
    release.set()
    first.join(60)
    second.join(60)
    assert len(calls) == 1 and len(results) == 2
    assert {getattr(r, "value", None) for r in results} == {"new-access"}


def _code_for(world: World, realm: str, session: str | None = None) -> tuple[str, str]:
    with http_client(world.settings, follow_redirects=False) as http:
        location = http.get(authorize_url(world.settings, realm_id=realm, session=session)).headers[
            "location"
        ]
    query = parse_qs(urlsplit(location).query)
    assert query["realmId"] == [realm]
    return query["code"][0], query["state"][0]


def test_a_forged_realm_id_is_refused_before_anything_is_saved(world: World) -> None:
    mine, victim = world.realms
    store = TokenStore(world.settings)
    before = store.access_token(victim)
    code, state = _code_for(world, mine)
    with pytest.raises(ConnectError, match="does not grant access"):
        complete_connect(world.settings, code, state, victim)  # redirect edited: realmId=victim
    after = store.access_token(victim)
    assert after is not None and before is not None
    assert (after.value, after.generation) == (before.value, before.generation)


def test_a_malformed_realm_id_is_refused(world: World) -> None:
    code, state = _code_for(world, world.realms[0])
    with pytest.raises(ConnectError, match="not a QuickBooks company id"):
        complete_connect(world.settings, code, state, "913?x=1")


def test_state_completes_only_in_the_session_that_asked(world: World) -> None:
    realm = world.realms[0]
    code, state = _code_for(world, realm, session="oidc:owner@demo.local")
    with pytest.raises(ConnectError, match="another session"):
        complete_connect(world.settings, code, state, realm, session="oidc:intruder@x.example")
    code, state = _code_for(world, realm, session="oidc:owner@demo.local")
    company = complete_connect(world.settings, code, state, realm, session="oidc:owner@demo.local")
    assert company.realm_id == realm and company.state == "connected"
