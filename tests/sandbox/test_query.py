"""The query language as real clients send it, over the embedded transport."""

from __future__ import annotations

import httpx
import pytest

from sandbox.query import QueryError, canonical_path, parse
from tests.sandbox.conftest import fault_code, query


def test_parse_accepts_client_spellings() -> None:
    parsed = parse(
        "select  *  from bill where metadata.lastupdatedtime >= '2026-01-01T00:00:00Z' "
        "and Balance > '0'  orderby  Metadata.LastUpdatedTime desc, "
        "Id STARTPOSITION 0 MAXRESULTS 50"
    )
    assert parsed.entity == "Bill"
    assert [c.path for c in parsed.where] == ["MetaData.LastUpdatedTime", "Balance"]
    assert parsed.order == [("MetaData.LastUpdatedTime", True), ("Id", False)]
    assert (parsed.start, parsed.max_results) == (1, 50)
    assert parse("SELECT * FROM Vendor WHERE DisplayName = 'O\\'Brien Design'").where[0].values == [
        "O'Brien Design"
    ]
    assert canonical_path("vendorref") == "VendorRef.value"


@pytest.mark.parametrize(
    "statement, code",
    [
        ("SELECT * FROM Bill WHERE Balance > '0' OR Id = '1'", "4000"),
        ("SELECT * FROM Bill WHERE DisplayName = 'O'Brien'", "4000"),
        ("SELECT Id FROM Bill", "4000"),
        ("SELECT * FROM Nonsense", "4001"),
        ("SELECT * FROM Bill MAXRESULTS 1001", "4001"),
        ("SELECT * FROM Bill WHERE", "4000"),
        ("", "4000"),
    ],
)
def test_parse_errors_have_codes(statement: str, code: str) -> None:
    with pytest.raises(QueryError) as info:
        parse(statement)
    assert info.value.code == code


def test_query_errors_answer_400_in_fault_envelope(qbo: httpx.Client) -> None:
    response = qbo.get(
        "/query", params={"query": "SELECT * FROM Bill WHERE Balance > '0' OR Id = '60'"}
    )
    assert response.status_code == 400
    assert response.json()["Fault"]["type"] == "ValidationFault"
    assert fault_code(response) == "4000"
    too_many = qbo.get("/query", params={"query": "SELECT * FROM Invoice MAXRESULTS 1001"})
    assert too_many.status_code == 400 and fault_code(too_many) == "4001"


def test_paging_counts_and_empty_page(qbo: httpx.Client) -> None:
    page1 = query(qbo, "SELECT * FROM Bill ORDER BY Id STARTPOSITION 0 MAXRESULTS 2")
    page2 = query(qbo, "SELECT * FROM Bill ORDER BY Id STARTPOSITION 3 MAXRESULTS 2")
    ids = [b["Id"] for b in page1["Bill"] + page2["Bill"]]
    assert ids == ["60", "61", "62", "63"]
    assert page1["startPosition"] == 1 and page1["maxResults"] == 2
    assert page2["maxResults"] == 2
    assert query(qbo, "SELECT * FROM Bill STARTPOSITION 5 MAXRESULTS 2") == {}
    assert query(qbo, "select count(*) from bill") == {"totalCount": 4}


def test_where_operators_and_typing(qbo: httpx.Client) -> None:
    open_bills = query(qbo, "SELECT * FROM Bill WHERE Balance > '0' ORDERBY Balance DESC")["Bill"]
    assert [b["Balance"] for b in open_bills] == [3000.0, 1500.0, 400.0]
    assert len(query(qbo, "SELECT * FROM Bill WHERE Balance > 0")["Bill"]) == 3
    assert [b["Id"] for b in query(qbo, "SELECT * FROM Bill WHERE Id IN ('61', '63')")["Bill"]] == [
        "61",
        "63",
    ]
    assert [
        i["DocNumber"]
        for i in query(qbo, "SELECT * FROM Invoice WHERE DocNumber = '1002'")["Invoice"]
    ] == ["1002"]
    assert (
        len(query(qbo, "SELECT * FROM Customer WHERE DisplayName LIKE '%Client%'")["Customer"]) == 3
    )
    assert (
        len(
            query(qbo, "SELECT * FROM Customer WHERE DisplayName LIKE 'company 1 client a'")[
                "Customer"
            ]
        )
        == 1
    )
    assert len(query(qbo, "SELECT * FROM Bill WHERE VendorRef = '30'")["Bill"]) == 2
    dated = query(qbo, "SELECT * FROM Invoice WHERE TxnDate <= '2026-10-01' AND Balance > '0'")[
        "Invoice"
    ]
    assert [i["Id"] for i in dated] == ["42"]
    assert (
        query(qbo, "SELECT * FROM Bill WHERE MetaData.LastUpdatedTime > '2026-11-20T17:00:00Z'")
        == {}
    )
    same = query(
        qbo,
        "SELECT COUNT(*) FROM Bill WHERE Metadata.LastUpdatedTime >= '2026-11-20T09:00:00-08:00'",
    )
    assert same == {"totalCount": 4}


def test_inactive_list_entries_hidden_unless_asked(qbo: httpx.Client) -> None:
    vendor = qbo.get("/vendor/32").json()["Vendor"]
    answer = qbo.post(
        "/vendor",
        json={"Id": "32", "SyncToken": vendor["SyncToken"], "sparse": True, "Active": False},
    )
    assert answer.status_code == 200, answer.text
    assert query(qbo, "SELECT COUNT(*) FROM Vendor") == {"totalCount": 2}
    assert query(qbo, "SELECT COUNT(*) FROM Vendor WHERE Active IN (true, false)") == {
        "totalCount": 3
    }
    assert [v["Id"] for v in query(qbo, "SELECT * FROM Vendor WHERE Active = false")["Vendor"]] == [
        "32"
    ]


def test_post_query_with_application_text(qbo: httpx.Client) -> None:
    response = qbo.post(
        "/query", content=b"SELECT * FROM Term", headers={"Content-Type": "application/text"}
    )
    assert response.status_code == 200
    assert {t["Name"] for t in response.json()["QueryResponse"]["Term"]} == {"Net 30", "Net 15"}
    assert "time" in response.json()
