"""Change data capture and batch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.state import SandboxDB
from sandbox.testing import api_client
from sandbox.transport import EmbeddedTransport
from tests.sandbox.conftest import REALM_A, fault_code


def cdc(qbo: httpx.Client, entities: str, since: str) -> dict[str, list[dict[str, Any]]]:
    response = qbo.get("/cdc", params={"entities": entities, "changedSince": since})
    assert response.status_code == 200, response.text
    groups: dict[str, list[dict[str, Any]]] = {}
    for block in response.json()["CDCResponse"][0]["QueryResponse"]:
        for name, value in block.items():
            if isinstance(value, list):
                groups[name] = value
    return groups


def test_cdc_sees_edits_deletes_and_voids(
    sandbox_db: SandboxDB, transport: EmbeddedTransport
) -> None:
    sandbox_db.advance_clock(3600)
    with api_client(transport, REALM_A) as qbo:
        assert cdc(qbo, "Bill,Invoice", "2026-11-20T09:30:00-08:00") == {}
        empty = qbo.get(
            "/cdc", params={"entities": "Bill", "changedSince": "2026-11-20T09:30:00-08:00"}
        )
        assert empty.json()["CDCResponse"] == [{"QueryResponse": [{}]}]
        sandbox_db.advance_clock(60)
        qbo.post(
            "/bill", json={"Id": "61", "SyncToken": "0", "sparse": True, "PrivateNote": "edited"}
        )
        qbo.post("/bill", params={"operation": "delete"}, json={"Id": "63", "SyncToken": 0})
        qbo.post(
            "/payment",
            params={"operation": "update", "include": "void"},
            json={"Id": "50", "SyncToken": "0"},
        )
        assert len(cdc(qbo, "Bill", "2026-11-20")["Bill"]) == 4  # a bare date: since local midnight
        for since in ("2026-11-20T09:30:00", "2026-11-20T17:30:00Z", "2026-11-20T12:30:00-05:00"):
            groups = cdc(qbo, "Bill,Payment,Invoice", since)
            bills = {b["Id"]: b for b in groups["Bill"]}
            assert bills["61"]["PrivateNote"] == "edited"
            assert bills["63"] == {
                "domain": "QBO",
                "status": "Deleted",
                "Id": "63",
                "MetaData": {"LastUpdatedTime": "2026-11-20T10:01:00-08:00"},
            }
            assert [p["Id"] for p in groups["Payment"]] == ["50"]
            assert groups["Payment"][0]["TotalAmt"] == 0 and groups["Payment"][0][
                "PrivateNote"
            ].startswith("Voided")
            assert [i["Id"] for i in groups["Invoice"]] == ["42"]  # the void restored its balance
            assert groups["Invoice"][0]["Balance"] == 800.0


def test_cdc_window_cap_and_errors(qbo: httpx.Client, sandbox_db: SandboxDB) -> None:
    too_old = qbo.get("/cdc", params={"entities": "Bill", "changedSince": "2026-10-01"})
    assert too_old.status_code == 400
    assert qbo.get("/cdc", params={"entities": "Bill"}).status_code == 400
    assert (
        fault_code(qbo.get("/cdc", params={"entities": "Nope", "changedSince": "2026-11-19"}))
        == "4001"
    )
    docs = [
        {
            "Id": str(1000 + i),
            "SyncToken": "0",
            "DisplayName": f"Bulk {i}",
            "Active": True,
            "MetaData": {
                "CreateTime": "2026-11-19T00:00:00Z",
                "LastUpdatedTime": (
                    f"2026-11-19T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
                ),
            },
        }
        for i in range(1200)
    ]
    sandbox_db.bulk_insert(REALM_A, "Customer", docs)
    groups = cdc(qbo, "Customer,Vendor", "2026-11-18")
    assert len(groups["Customer"]) + len(groups.get("Vendor", [])) == 1000
    assert groups["Customer"][0]["DisplayName"] == "Bulk 0"


def test_batch_items_are_independent(qbo: httpx.Client) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": "b1", "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
            {"bId": "b2", "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
            {"bId": "b3", "Query": "select * from Term"},
            {
                "bId": "b4",
                "operation": "update",
                "Customer": {"Id": "20", "SyncToken": "9", "sparse": True},
            },
            {"bId": "b5", "Query": "select * from Term where"},
        ]
    }
    response = qbo.post("/batch", json=body, params={"requestid": "batch-1"})
    assert response.status_code == 200
    items = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert items["b1"]["Vendor"]["DisplayName"] == "Batch Vendor"
    assert items["b2"]["Fault"]["Error"][0]["code"] == "6240"
    assert len(items["b3"]["QueryResponse"]["Term"]) == 2
    assert items["b4"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["b5"]["Fault"]["Error"][0]["code"] == "4000"
    replay = qbo.post("/batch", json=body, params={"requestid": "batch-1"})
    assert replay.json() == response.json()
    count = qbo.get(
        "/query", params={"query": "select count(*) from Vendor where DisplayName = 'Batch Vendor'"}
    )
    assert count.json()["QueryResponse"]["totalCount"] == 1


@pytest.mark.parametrize(
    "size, requestid, status", [(31, None, 400), (30, None, 200), (1, "x" * 37, 400)]
)
def test_batch_limits(qbo: httpx.Client, size: int, requestid: str | None, status: int) -> None:
    body = {
        "BatchItemRequest": [
            {"bId": str(i), "Query": "select count(*) from Bill"} for i in range(size)
        ]
    }
    params = {"requestid": requestid} if requestid else {}
    assert qbo.post("/batch", json=body, params=params).status_code == status
