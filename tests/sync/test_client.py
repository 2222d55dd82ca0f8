"""QBOClient against the sandbox: reads, idempotent writes, typed faults, thread safety, and the
connect flow's one-time state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.faults import Faults
from sync.client import QBOClient
from sync.errors import NotFoundError, PermanentError, StaleObjectError, TransientError
from sync.oauth import ConnectError, authorize_url, complete_connect
from sync.quota import requests_on
from sync.retry import RetryPolicy
from tests.sync.conftest import World

ONE_TRY = RetryPolicy(attempts=2, initial_wait=0.001, max_wait=0.002, total_seconds=5, jitter=0.001)


def test_reads_and_reports(world: World) -> None:
    client, realm = world.client(), world.realms[0]
    assert client.company_info(realm)["CompanyName"] == "Company 1"
    assert client.read(realm, "Invoice", "41")["Id"] == "41"
    with pytest.raises(NotFoundError):
        client.read(realm, "Invoice", "999999")
    with pytest.raises(PermanentError) as info:
        client.query(realm, "SELECT * FROM Invoice WHERE DocNumber = 'unterminated")
    assert info.value.code == "4000"
    report = client.report(realm, "AgedReceivables", report_date="2026-11-20")
    assert "Rows" in report and "Header" in report
    assert requests_on(world.settings, realm) >= 5


def test_writes_are_idempotent_by_requestid_and_typed_on_conflict(world: World) -> None:
    client, realm = world.client(), world.realms[0]
    body = {
        "CustomerRef": {"value": "20"},
        "Line": [
            {
                "Amount": 10.0,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
            }
        ],
    }
    first = client.create(realm, "Invoice", body, requestid="req-1")
    again = client.create(realm, "Invoice", body, requestid="req-1")
    assert first["Id"] == again["Id"]
    updated = client.update(
        realm, "Invoice", {"Id": first["Id"], "SyncToken": first["SyncToken"], "PrivateNote": "x"}
    )
    assert (
        updated["PrivateNote"] == "x"
        and updated["SyncToken"] == "1"
        and updated["CustomerRef"]["value"] == "20"
    )
    with pytest.raises(StaleObjectError):
        client.update(realm, "Invoice", {"Id": first["Id"], "SyncToken": "0", "PrivateNote": "y"})
    sent = client.send_invoice(realm, first["Id"], send_to="ap@client.example")
    assert sent["EmailStatus"] == "EmailSent"
    voided = client.void(realm, "Invoice", first["Id"], sent["SyncToken"])
    assert float(voided["TotalAmt"]) == 0
    gone = client.delete(realm, "Bill", "63", "0")
    assert gone.get("status") == "Deleted"
    with pytest.raises(ValueError, match="Id and SyncToken"):
        client.update(realm, "Invoice", {"PrivateNote": "no id"})
    with pytest.raises(ValueError, match="lane must be"):
        client.query(realm, "SELECT * FROM Bill", lane="background")


def test_lost_response_on_a_write_is_retried_with_the_same_requestid(world: World) -> None:
    realm = world.realms[0]
    Faults(world.db).script(realm, [{"match": "POST /bill", "action": "lost_response", "times": 1}])
    client = world.client()
    body = {
        "VendorRef": {"value": "31"},
        "Line": [
            {
                "Amount": 55.0,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "5"}},
            }
        ],
    }
    bill = client.create(realm, "Bill", body, requestid="pay-once")
    matches = client.query(realm, "SELECT * FROM Bill WHERE TotalAmt = '55'")
    assert [b["Id"] for b in matches] == [
        bill["Id"]
    ]  # committed once although the first answer was lost
    Faults(world.db).script(realm, [{"match": "POST /bill", "action": "lost_response", "times": 5}])
    impatient = QBOClient(world.settings, retry=ONE_TRY)
    world.clients.append(impatient)
    with pytest.raises(TransientError, match="network error"):  # outcome unknown
        impatient.create(realm, "Bill", body, requestid="pay-twice")


def test_client_is_thread_safe(world: World) -> None:
    client = world.client()
    jobs = [
        (realm, entity)
        for realm in world.realms
        for entity in ("Invoice", "Bill", "Customer", "Vendor", "Account")
    ] * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda job: len(
                    client.query(job[0], f"SELECT * FROM {job[1]} MAXRESULTS 1000", lane="user")
                ),
                jobs,
            )
        )
    assert all(n > 0 for n in results)
    assert client.requests_made == len(jobs)


def test_connect_state_is_checked_once(world: World) -> None:
    from urllib.parse import parse_qs, urlsplit

    from oodaloo.wiring import http_client

    with http_client(world.settings, follow_redirects=False) as http:
        location = http.get(authorize_url(world.settings, realm_id=world.realms[0])).headers[
            "location"
        ]
    query = parse_qs(urlsplit(location).query)
    with pytest.raises(ConnectError, match="unknown, expired or already used"):
        complete_connect(world.settings, query["code"][0], "forged-state", world.realms[0])
    company = complete_connect(world.settings, query["code"][0], query["state"][0], world.realms[0])
    assert company.state == "connected"
    with pytest.raises(ConnectError, match="already used"):
        complete_connect(world.settings, query["code"][0], query["state"][0], world.realms[0])
