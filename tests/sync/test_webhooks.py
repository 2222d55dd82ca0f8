"""Webhooks: signatures (good, bad, missing, replayed or tampered body), both payload formats,
and delivery faults (drop, duplicate, delay, reorder, bad signature) from the sandbox's sender
to ``oodaloo webhooks serve``'s app over loopback: the store equals the truth after each."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from sandbox.testing import api_client
from sandbox.transport import core_for, embedded_transport
from sandbox.webhooks import register_endpoint, unregister_endpoint
from sync import queue, statedb
from sync.engine import sync_company
from sync.freshness import company_freshness
from sync.webhooks import WebhookReceiver
from tests.sync.conftest import SMALL_PAGES, World, assert_store_matches_truth
from tests.sync.mutations import Mutator

TOKEN = "verifier-7f3c"


def signed(payload: Any, token: str = TOKEN) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    digest = hmac.new(token.encode(), body, hashlib.sha256).digest()  # computed here, not by us
    return body, base64.b64encode(digest).decode()


def legacy(realm: str, doc_id: str = "41", op: str = "Update") -> dict[str, Any]:
    return {
        "eventNotifications": [
            {
                "realmId": realm,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Invoice",
                            "id": doc_id,
                            "operation": op,
                            "lastUpdated": "2026-11-20T17:00:00.000Z",
                        }
                    ]
                },
            }
        ]
    }


def cloud(realm: str, event_id: str) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": event_id,
            "type": "qbo.bill.updated.v1",
            "time": "2026-11-20T17:00:00Z",
            "intuitentityid": "61",
            "intuitaccountid": realm,
            "data": {},
        }
    ]


def pending(world: World) -> list[str]:
    return [str(r["realm_id"]) for r in queue.pending_requests(world.settings)]


def test_signatures_decide_before_anything_else(world: World) -> None:
    first, second = world.realms
    receiver = WebhookReceiver(world.settings, TOKEN, process=False)
    body, good = signed(legacy(first))
    assert receiver.handle(body, None)[0] == 401  # missing
    assert receiver.handle(body, signed(legacy(first), "another-app")[1])[0] == 401  # bad key
    assert receiver.handle(b"not json at all", "c2lnbmF0dXJl")[0] == 401  # never parsed unsigned
    tampered = body.replace(first.encode(), second.encode())
    assert receiver.handle(tampered, good)[0] == 401  # a signature of another body
    assert pending(world) == []
    status, answer = receiver.handle(body, good)
    assert (status, answer["accepted"]) == (200, 1) and pending(world) == [first]
    status, answer = receiver.handle(body, good)  # the same delivery again (Intuit retries)
    assert (status, answer["accepted"], answer["duplicates"]) == (200, 0, 1)
    assert pending(world) == [first]
    junk, junk_signature = signed({"hello": "world"})
    assert receiver.handle(junk, junk_signature)[0] == 400
    assert receiver.rejected == 4


def test_both_formats_schedule_one_cdc_per_company_and_trust_only_the_realm(world: World) -> None:
    first, second = world.realms
    receiver = WebhookReceiver(world.settings, TOKEN, process=False)
    events = cloud(first, "e1") + cloud(second, "e2") + cloud(first, "e3") + cloud("999", "e4")
    status, answer = receiver.handle(*signed(events))
    assert status == 200 and answer == {"accepted": 3, "duplicates": 0, "ignored": 1}
    status, answer = receiver.handle(*signed(legacy(second, "9", "Delete")))
    assert answer["accepted"] == 1
    assert sorted(pending(world)) == sorted([first, second])  # coalesced: one request each


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(world: World) -> Iterator[tuple[WebhookReceiver, str]]:
    receiver = WebhookReceiver(world.settings, TOKEN, process=True)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(receiver, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield receiver, f"http://127.0.0.1:{port}{receiver.path}"
    finally:
        server.should_exit = True
        thread.join(20)
        unregister_endpoint(world.db)


def quiet(world: World, timeout: float = 60.0) -> None:
    """Every delivery sent and every queued sync finished."""
    core = core_for(world.settings.sandbox_path)
    assert core.webhooks.flush(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with statedb.connect(world.settings) as con:
            open_requests = con.execute(
                "SELECT count(*) FROM sync_requests WHERE done_at IS NULL"
            ).fetchone()[0]
        if open_requests == 0:
            return
        time.sleep(0.05)
    raise AssertionError("queued syncs did not finish")


FAULTS = {
    "drop": {"drop": 0.3},
    "duplicate": {"duplicate": 0.5},
    "delay": {"delay": 0.5, "delay_seconds": 0.3},
    "reorder": {"reorder": 0.5},
    "bad_signature": {"bad_signature": 0.3},
    "all": {"drop": 0.2, "duplicate": 0.2, "delay": 0.2, "delay_seconds": 0.2, "reorder": 0.2},
}


@pytest.mark.parametrize(
    ("fmt", "fault"),
    [("cloudevents", f) for f in FAULTS if f != "all"] + [("legacy", "all")],
)
def test_edits_reach_the_store_through_faulty_deliveries(
    world: World, served: tuple[WebhookReceiver, str], fmt: str, fault: str
) -> None:
    receiver, url = served
    for realm in world.realms:
        assert (
            sync_company(world.settings, realm, client=world.client(), options=SMALL_PAGES).outcome
            == "ok"
        )
    register_endpoint(world.db, url, TOKEN, fmt, {**FAULTS[fault], "seed": 5})
    core = core_for(world.settings.sandbox_path)
    core.webhooks.forget_cache()
    for seed, realm in enumerate(world.realms):
        with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
            Mutator(api, seed=seed).run(8)
    quiet(world)
    assert receiver.accepted > 0 and receiver.synced
    if fault == "bad_signature":
        assert receiver.rejected > 0
    # whatever was lost, the next delivered event (or the 15-minute CDC) brings it all
    register_endpoint(world.db, url, TOKEN, fmt, {})
    core.webhooks.forget_cache()
    for seed, realm in enumerate(world.realms):
        with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
            Mutator(api, seed=100 + seed).run(1)
    quiet(world)
    assert_store_matches_truth(world)
    badges = {f.realm_id: f.badge for f in company_freshness(world.settings)}
    assert all(
        b.startswith("Updated ") and b.endswith("from a QuickBooks change") for b in badges.values()
    ), badges


def test_the_sandbox_registers_endpoints_over_its_admin_api(world: World) -> None:
    from sandbox.core import CoreRequest

    core = core_for(world.settings.sandbox_path)
    bad = core.handle(
        CoreRequest("POST", "/admin/webhooks", body=b'{"url": "ftp://x", "verifier_token": "t"}')
    )
    assert bad.status == 400 and b"http(s) URL" in bad.body
    body = json.dumps(
        {
            "url": "http://127.0.0.1:9/hook",
            "verifier_token": "t",
            "format": "legacy",
            "faults": {"drop": 0.5},
        }
    ).encode()
    ok = core.handle(CoreRequest("POST", "/admin/webhooks", body=body))
    listed = json.loads(ok.body)["endpoints"]
    assert ok.status == 200 and listed == [
        {"url": "http://127.0.0.1:9/hook", "format": "legacy", "faults": {"drop": 0.5}}
    ]  # the verifier token is never echoed
    gone = core.handle(CoreRequest("DELETE", "/admin/webhooks", body=b"{}"))
    assert json.loads(gone.body)["endpoints"] == []
