"""The generator-facing store API, the clock, the CLI and concurrent writers on one file."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from oodaloo.cli import main
from sandbox.config import RateLimits, SandboxConfig
from sandbox.core import SandboxCore
from sandbox.state import SandboxDB
from sandbox.testing import api_client
from sandbox.transport import EmbeddedTransport
from tests.sandbox.conftest import REALM_A, query


def test_bulk_insert_continues_ids_and_validates(tmp_path: Path) -> None:
    db = SandboxDB(tmp_path / "s.sqlite")
    db.create_company(
        "42",
        {"CompanyName": "Acme", "NameValue": [{"Name": "TimeZone", "Value": "America/New_York"}]},
    )
    assert db.companies() == [{"realm_id": "42", "name": "Acme"}]
    stamp = "2026-11-01T10:00:00-04:00"
    db.bulk_insert(
        "42",
        "vendor",
        [
            {
                "Id": "7",
                "SyncToken": "3",
                "DisplayName": "V",
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            }
        ],
    )
    with pytest.raises(ValueError, match="numeric"):
        db.bulk_insert("42", "Vendor", [{"Id": "x", "MetaData": {"LastUpdatedTime": stamp}}])
    with pytest.raises(ValueError, match="unknown QBO entity"):
        db.bulk_insert("42", "Gadget", [])
    with pytest.raises(ValueError, match="unknown realm"):
        db.bulk_insert("43", "Vendor", [])
    core = SandboxCore(tmp_path / "s.sqlite", SandboxConfig(limits=RateLimits.unlimited()))
    try:
        with api_client(EmbeddedTransport(core), "42") as qbo:
            created = qbo.post("/customer", json={"DisplayName": "C"}).json()
            assert created["Customer"]["Id"] == "8"
            assert created["time"].endswith("-05:00")  # the company's zone (EST in November)
            assert qbo.get("/vendor/7").json()["Vendor"]["SyncToken"] == "3"
    finally:
        core.close()
        db.close()


def test_clock_is_frozen_persisted_and_controllable(
    tmp_path: Path, raw: httpx.Client, sandbox_db: SandboxDB
) -> None:
    start = sandbox_db.now()
    assert SandboxDB(sandbox_db.path).now() == start  # frozen, shared through the file
    assert raw.post("/admin/clock", json={"set": "2026-12-01T12:00:00Z"}).json() == {
        "now": "2026-12-01T12:00:00+00:00"
    }
    assert (
        raw.post("/admin/clock", json={"advance_seconds": 30}).json()["now"]
        == "2026-12-01T12:00:30+00:00"
    )
    assert sandbox_db.now() == datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
    assert raw.get("/admin/clock").json()["now"] == "2026-12-01T12:00:30+00:00"
    assert raw.post("/admin/clock", json={"bogus": 1}).status_code == 400
    sandbox_db.set_clock(datetime(2026, 1, 1, tzinfo=UTC), flowing=True)
    assert sandbox_db.now() >= datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        sandbox_db.set_clock(datetime(2026, 1, 1))
    assert raw.get("/admin/health").json()["status"] == "ok"


def test_cli_companies_and_clock(sandbox_db: SandboxDB, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "companies", "--json", "--db", str(sandbox_db.path)]) == 0
    assert [c["realm_id"] for c in json.loads(capsys.readouterr().out)] == [
        "9130000000001",
        "9130000000002",
    ]
    assert (
        main(["sandbox", "clock", "--db", str(sandbox_db.path), "--set", "2026-11-21T08:00:00Z"])
        == 0
    )
    assert main(["sandbox", "clock", "--db", str(sandbox_db.path), "--advance", "90"]) == 0
    assert capsys.readouterr().out.split()[-1] == "2026-11-21T08:01:30+00:00"


def test_cli_default_path_uses_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "d"), "sandbox", "companies", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_two_writers_on_one_file_stay_consistent(sandbox_db: SandboxDB, sandbox_path: Path) -> None:
    """Two cores (as two processes would) pay one bill from many threads: ids unique, sums exact."""
    cores = [
        SandboxCore(sandbox_path, SandboxConfig(limits=RateLimits.unlimited())) for _ in range(2)
    ]
    errors: list[str] = []
    payment = {
        "VendorRef": {"value": "30"},
        "PayType": "Check",
        "TotalAmt": 10,
        "CheckPayment": {"BankAccountRef": {"value": "1"}},
        "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": "60", "TxnType": "Bill"}]}],
    }

    def worker(core: SandboxCore) -> None:
        with api_client(EmbeddedTransport(core), REALM_A) as qbo:
            for _ in range(10):
                answer = qbo.post("/billpayment", json=payment)
                if answer.status_code != 200:
                    errors.append(answer.text)

    threads = [threading.Thread(target=worker, args=(cores[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with api_client(EmbeddedTransport(cores[0]), REALM_A) as qbo:
            payments = query(qbo, "SELECT * FROM BillPayment MAXRESULTS 1000")["BillPayment"]
            assert len({p["Id"] for p in payments}) == 61
            bill = qbo.get("/bill/60").json()["Bill"]
            assert (
                bill["Balance"] == 2400.0
                and bill["SyncToken"] == "60"
                and len(bill["LinkedTxn"]) == 60
            )
            assert qbo.get("/account/1").json()["Account"]["CurrentBalance"] == 24400.0
    finally:
        for core in cores:
            core.close()
