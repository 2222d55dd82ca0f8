"""Fault injection (scripted and random), idempotent requestids, throttling and read lag."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.config import FaultSettings, RateLimits, SandboxConfig
from sandbox.core import SandboxCore
from sandbox.faults import Faults
from sandbox.state import SandboxDB
from sandbox.testing import api_client
from sandbox.transport import EmbeddedTransport
from tests.sandbox.conftest import REALM_A, REALM_B, fault_code, query

PAYMENT = {
    "VendorRef": {"value": "30"},
    "PayType": "Check",
    "TotalAmt": 100,
    "CheckPayment": {"BankAccountRef": {"value": "1"}},
    "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": "60", "TxnType": "Bill"}]}],
}


def bill_payments(qbo: httpx.Client) -> list[dict[str, Any]]:
    return list(query(qbo, "SELECT * FROM BillPayment").get("BillPayment", []))


def test_lost_response_commits_and_requestid_replays(
    qbo: httpx.Client, sandbox_db: SandboxDB
) -> None:
    Faults(sandbox_db).script(REALM_A, [{"match": "POST /billpayment", "action": "lost_response"}])
    with pytest.raises(httpx.RemoteProtocolError):
        qbo.post("/billpayment", params={"requestid": "pay-60-once"}, json=PAYMENT)
    assert len(bill_payments(qbo)) == 2  # the seeded one + the committed lost one
    replay = qbo.post("/billpayment", params={"requestid": "pay-60-once"}, json=PAYMENT)
    assert replay.status_code == 200
    assert len(bill_payments(qbo)) == 2
    assert qbo.get("/bill/60").json()["Bill"]["Balance"] == 2900.0
    assert replay.json()["BillPayment"]["Id"] in {p["Id"] for p in bill_payments(qbo)}
    other = qbo.post("/billpayment", params={"requestid": "pay-60-twice"}, json=PAYMENT)
    assert other.status_code == 200 and len(bill_payments(qbo)) == 3
    too_long = qbo.post("/billpayment", params={"requestid": "x" * 51}, json=PAYMENT)
    assert too_long.status_code == 400


def test_requestid_is_per_realm_and_expires_after_retention(
    qbo: httpx.Client, transport: EmbeddedTransport, sandbox_db: SandboxDB
) -> None:
    vendor = {"DisplayName": "Idempotent Vendor"}
    first = qbo.post("/vendor", params={"requestid": "same"}, json=vendor).json()["Vendor"]
    assert (
        qbo.post("/vendor", params={"requestid": "same"}, json=vendor).json()["Vendor"]["Id"]
        == first["Id"]
    )
    with api_client(transport, REALM_B) as other:
        assert other.post("/vendor", params={"requestid": "same"}, json=vendor).status_code == 200
    sandbox_db.advance_clock(86_400 + 1)
    with api_client(transport, REALM_A) as later:
        again = later.post("/vendor", params={"requestid": "same"}, json=vendor)
    assert (
        fault_code(again) == "6240"
    )  # no longer remembered: it ran again and hit the duplicate name


def test_failed_write_is_not_remembered(qbo: httpx.Client) -> None:
    stale = qbo.post(
        "/customer", params={"requestid": "r1"}, json={"Id": "20", "SyncToken": "7", "sparse": True}
    )
    assert fault_code(stale) == "5010"
    fixed = qbo.post(
        "/customer",
        params={"requestid": "r1"},
        json={"Id": "20", "SyncToken": "0", "sparse": True, "Notes": "ok"},
    )
    assert fixed.status_code == 200 and fixed.json()["Customer"]["Notes"] == "ok"


@pytest.mark.parametrize(
    "action, status, code",
    [("throttle", 429, "3001"), ("server_error", 500, "10000"), ("unavailable", 503, "10000")],
)
def test_scripted_errors_run_nothing(
    qbo: httpx.Client, sandbox_db: SandboxDB, action: str, status: int, code: str
) -> None:
    Faults(sandbox_db).script(None, [{"match": "POST /billpayment", "action": action, "times": 2}])
    for _ in range(2):
        answer = qbo.post("/billpayment", json=PAYMENT)
        assert answer.status_code == status and fault_code(answer) == code
    assert len(bill_payments(qbo)) == 1
    assert qbo.post("/billpayment", json=PAYMENT).status_code == 200
    assert Faults(sandbox_db).pending() == []


def test_script_matching_paths_and_queries(qbo: httpx.Client, sandbox_db: SandboxDB) -> None:
    faults = Faults(sandbox_db)
    faults.script(REALM_B, [{"match": "GET /query", "action": "503"}])
    faults.script(
        REALM_A,
        [
            {"match": "POST /invoice/*/send", "action": "lost"},
            {"match": "GET /query?query=select*Invoice*", "action": "429"},
        ],
    )
    assert qbo.get("/query", params={"query": "select * from Bill"}).status_code == 200
    assert qbo.get("/query", params={"query": "select * from Invoice"}).status_code == 429
    with pytest.raises(httpx.RemoteProtocolError):
        qbo.post("/invoice/41/send")
    assert qbo.get("/invoice/41").json()["Invoice"]["EmailStatus"] == "EmailSent"
    assert [p["realm"] for p in faults.pending()] == [REALM_B]
    with pytest.raises(ValueError):
        faults.script(None, [{"match": "billpayment", "action": "lost"}])
    with pytest.raises(ValueError):
        faults.script(None, [{"match": "POST /x", "action": "explode"}])


def test_slow_answer_times_out_after_committing(qbo: httpx.Client, sandbox_db: SandboxDB) -> None:
    Faults(sandbox_db).script(
        REALM_A, [{"match": "POST /vendor", "action": "slow", "seconds": 0.5}]
    )
    with pytest.raises(httpx.ReadTimeout):
        qbo.post("/vendor", json={"DisplayName": "Slow Vendor"}, timeout=0.1)
    assert query(qbo, "SELECT COUNT(*) FROM Vendor WHERE DisplayName = 'Slow Vendor'") == {
        "totalCount": 1
    }


def test_random_faults_are_seeded_and_per_realm(
    tmp_path: Path, sandbox_db: SandboxDB, sandbox_path: Path
) -> None:
    def outcomes(seed: int) -> list[int]:
        config = SandboxConfig(
            limits=RateLimits.unlimited(),
            fault_seed=seed,
            realm_faults={REALM_A: FaultSettings(throttle=0.3, server_error=0.2)},
        )
        core = SandboxCore(sandbox_path, config)
        try:
            with (
                api_client(EmbeddedTransport(core), REALM_A) as a,
                api_client(EmbeddedTransport(core), REALM_B) as b,
            ):
                statuses = [a.get("/bill/60").status_code for _ in range(40)]
                assert all(b.get("/bill/60").status_code == 200 for _ in range(10))
            return statuses
        finally:
            core.close()

    first, second = outcomes(7), outcomes(7)
    assert first == second
    assert {429, 500, 200} <= set(first)
    assert outcomes(8) != first


def test_runtime_settings_and_read_lag(
    qbo: httpx.Client, sandbox_db: SandboxDB, raw: httpx.Client
) -> None:
    answer = raw.post(
        "/admin/faults", json={"realm": REALM_A, "settings": {"read_lag_seconds": 60}}
    )
    assert (
        answer.status_code == 200 and answer.json()["settings"][REALM_A]["read_lag_seconds"] == 60
    )
    sandbox_db.advance_clock(120)  # the seeded documents are older than the lag
    created = qbo.post("/vendor", json={"DisplayName": "Lagging Vendor"}).json()["Vendor"]
    renamed = qbo.post(
        "/vendor",
        json={"Id": "31", "SyncToken": "0", "sparse": True, "DisplayName": "Renamed Designer"},
    )
    assert renamed.status_code == 200
    names = {v["DisplayName"] for v in query(qbo, "SELECT * FROM Vendor")["Vendor"]}
    assert "Lagging Vendor" not in names and "Company 1 Designer" in names
    assert qbo.get(f"/vendor/{created['Id']}").status_code == 200  # reads by id are not lagged
    sandbox_db.advance_clock(61)
    with api_client(raw._transport, REALM_A) as later:
        names = {v["DisplayName"] for v in query(later, "SELECT * FROM Vendor")["Vendor"]}
    assert {"Lagging Vendor", "Renamed Designer"} <= names
    assert raw.post("/admin/faults", json={"settings": {"throttle": 2}}).status_code == 400
    raw.post("/admin/faults", json={"clear": True})
    assert raw.get("/admin/faults").json() == {"settings": {}, "pending": []}


def test_rate_limits(sandbox_db: SandboxDB, sandbox_path: Path) -> None:
    ticks = [0.0]
    core = SandboxCore(
        sandbox_path,
        SandboxConfig(limits=RateLimits(per_minute=15, per_second=10, batch_per_minute=2)),
    )
    core.limiter.clock = lambda: ticks[0]
    try:
        with api_client(EmbeddedTransport(core), REALM_A) as qbo:
            statuses = [qbo.get("/bill/60").status_code for _ in range(11)]
            assert statuses.count(200) == 10 and statuses[-1] == 429
            assert fault_code(qbo.get("/bill/60")) == "3001"
            ticks[0] = 1.5
            statuses = [qbo.get("/bill/60").status_code for _ in range(6)]
            assert statuses == [200] * 5 + [429]  # the minute budget (15) is spent
            batch = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
            assert [qbo.post("/batch", json=batch).status_code for _ in range(3)] == [200, 200, 429]
    finally:
        core.close()


def test_in_flight_limit(sandbox_db: SandboxDB, sandbox_path: Path) -> None:
    core = SandboxCore(
        sandbox_path, SandboxConfig(limits=RateLimits(per_second=100, per_minute=1000, in_flight=2))
    )
    try:
        with api_client(EmbeddedTransport(core), REALM_A) as qbo:
            gate = threading.Event()
            original = core.api.handle

            def blocking(*args: Any) -> Any:
                gate.wait(5)
                return original(*args)

            # a stand-in with a looser signature that holds requests in flight
            core.api.handle = blocking  # type: ignore[method-assign,assignment]
            threads = [threading.Thread(target=qbo.get, args=("/term/10",)) for _ in range(2)]
            for thread in threads:
                thread.start()
            while sum(r.in_flight for r in core.limiter.realms.values()) < 2:
                threading.Event().wait(0.01)
            third = qbo.get("/term/10")
            gate.set()
            for thread in threads:
                thread.join()
            assert third.status_code == 429
    finally:
        core.close()
