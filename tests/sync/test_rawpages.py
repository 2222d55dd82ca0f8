"""Query answers read by DuckDB (``sync.rawpages``) say what the Python reading of the same answer
says: the same documents, counts and LastUpdatedTime stamps, the same batch faults (typed the
same way), on the sandbox's real answers and on odd bodies; and a page stored from its text
lands exactly as the same documents stored after a Python parse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from sync import ingest, rawpages, store
from sync.client import batch_item_rows, rows_of
from sync.errors import PermanentError, QBOError, TransientError
from sync.retry import error_from_fault
from sync.schema import ENTITIES
from tests.sync.conftest import World, log_rows

AT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def _expected(docs: list[dict[str, Any]]) -> tuple[int, list[Any], int]:
    stamps = [(d.get("MetaData") or {}).get("LastUpdatedTime") for d in docs]
    stubs = sum(1 for d in docs if str(d.get("status", "")).lower() == "deleted")
    return len(docs), stamps, stubs


def _same_page(page: rawpages.Page, docs: list[dict[str, Any]]) -> None:
    count, stamps, stubs = _expected(docs)
    assert page.count == len(page) == count
    assert page.stamps == stamps
    assert page.stubs == stubs
    assert page.docs() == docs
    assert [orjson.loads(t) for t in page.texts] == docs


def test_query_pages_read_by_duckdb_equal_the_parsed_answers(demo_world: World) -> None:
    client, realm = demo_world.client(), demo_world.realms[0]
    compared = 0
    for spec in ENTITIES:
        statement = f"SELECT * FROM {spec.qbo_name} STARTPOSITION 1 MAXRESULTS 1000"
        parsed = client.query(realm, statement)
        page = client.query_page(realm, statement)
        _same_page(page, parsed)
        assert page.unique  # a query never answers one version twice
        compared += len(parsed)
    assert compared > 100


def test_batch_pages_equal_the_parsed_batch_items_faults_included(demo_world: World) -> None:
    client, realm = demo_world.client(), demo_world.realms[0]
    statements = [
        "SELECT * FROM Invoice MAXRESULTS 30",
        "SELECT * FROM Bill WHERE DocNumber = 'unterminated",  # a faulted item
        "SELECT * FROM Customer STARTPOSITION 100000 MAXRESULTS 10",  # an empty page
        "SELECT * FROM Vendor MAXRESULTS 5",
    ]
    items = client.batch(realm, [{"bId": f"q{i}", "Query": q} for i, q in enumerate(statements)])
    pages = client.batch_pages(realm, statements)
    assert len(pages) == len(items)
    for item, page in zip(items, pages, strict=True):
        try:
            rows = batch_item_rows(item, realm)
        except QBOError as err:
            assert isinstance(page, type(err)) and page.code == err.code == "4000"
            continue
        assert isinstance(page, rawpages.Page)
        _same_page(page, rows)
    assert isinstance(pages[2], rawpages.Page) and pages[2].count == 0
    assert isinstance(pages[0], rawpages.Page) and pages[0].count > 0


def _body(entity: str, docs: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(
        {
            "QueryResponse": {entity: docs, "startPosition": 1, "maxResults": len(docs)},
            "time": "2026-11-20T09:00:00.000-08:00",
        }
    )


def _doc(i: str, token: Any, stamp: str = "2026-11-02T08:00:00-08:00") -> dict[str, Any]:
    return {"Id": i, "SyncToken": token, "MetaData": {"LastUpdatedTime": stamp}, "TotalAmt": 5}


def test_repeated_versions_are_flagged_by_the_stored_key() -> None:
    distinct = [_doc("1", "0"), _doc("1", "1"), _doc("2", "0")]
    assert rawpages.query_page(_body("Invoice", distinct), "r").unique
    # "01" and 1 are the store's SyncToken 1: the same version as "1"
    for twin in (_doc("1", "01"), _doc("1", 1), _doc("1", "1", "2026-11-03T08:00:00Z")):
        page = rawpages.query_page(_body("Invoice", [*distinct, twin]), "r")
        assert not page.unique, twin


def test_odd_answers_read_as_the_python_helpers_read_them() -> None:
    cases: list[dict[str, Any]] = [
        {"QueryResponse": {}, "time": "x"},  # an empty page
        {"QueryResponse": {"startPosition": 1, "maxResults": 0}},
        {"time": "x"},  # no QueryResponse at all
        {"QueryResponse": {"totalCount": 12}},  # COUNT(*)
        {"QueryResponse": {"Invoice": [_doc("1", "0"), {"Id": "2", "status": "Deleted"}]}},
    ]
    for body in cases:
        page = rawpages.query_page(orjson.dumps(body), "r")
        _same_page(page, rows_of(body.get("QueryResponse") or {}))
    assert rawpages.query_page(b"", "r").count == 0  # as parse_json reads an empty body: {}
    with pytest.raises(TransientError):
        rawpages.query_page(b'{"QueryResponse": {"Invoice": [', "r")


def test_batch_faults_missing_answers_and_lowercase_envelopes() -> None:
    fault = {"Error": [{"Message": "bad query", "code": "4000", "Detail": "at col 9"}]}
    items = [
        {"bId": "q0", "QueryResponse": {"Bill": [_doc("1", "0")]}},
        {"bId": "q1", "Fault": fault},
        # q2 missing from the answer
    ]
    bids = ["q0", "q1", "q2"]
    read = rawpages.batch_pages(orjson.dumps({"BatchItemResponse": items}), bids, "r")
    assert isinstance(read[0], rawpages.Page) and read[0].docs() == [_doc("1", "0")]
    want = error_from_fault({"Fault": fault}, None, "r", "batch item q1")
    faulted = read[1]
    assert isinstance(faulted, QBOError) and type(faulted) is type(want)
    assert str(faulted) == str(want) and faulted.code == "4000" and faulted.detail == "at col 9"
    assert isinstance(read[2], PermanentError) and "missing batch answer" in str(read[2])
    # an envelope spelt the other way is read by the Python helpers
    lower = [{"bId": "q0", "fault": fault}, {"bId": "q1", "QueryResponse": {}}]
    read = rawpages.batch_pages(orjson.dumps({"BatchItemResponse": lower}), ["q0", "q1"], "r")
    with pytest.raises(QBOError) as expected:
        batch_item_rows(lower[0], "r")
    faulted = read[0]
    assert isinstance(faulted, QBOError) and type(faulted) is type(expected.value)
    assert faulted.code == "4000"
    assert isinstance(read[1], rawpages.Page) and read[1].count == 0


def test_a_page_stored_from_its_text_equals_the_parsed_documents_stored(
    tmp_path: Any, demo_world: World
) -> None:
    """Whole pages, a page repeating a version, a page with a deleted stub, and a page whose
    versions are already stored: the log ends the same by either path."""
    client, realm = demo_world.client(), demo_world.realms[0]
    by_text, by_docs = (
        store.Warehouse(tmp_path / "t.duckdb"),
        store.Warehouse(tmp_path / "d.duckdb"),
    )
    invoices = client.query(realm, "SELECT * FROM Invoice MAXRESULTS 40")
    assert len(invoices) == 40
    twin = {**invoices[0], "SyncToken": "99", "PrivateNote": "same version, earlier copy"}
    newer = {**twin, "PrivateNote": "same version, later copy"}
    newer["MetaData"] = {**twin["MetaData"], "LastUpdatedTime": "2030-01-01T00:00:00Z"}
    pages: list[tuple[str, list[dict[str, Any]]]] = [
        ("Invoice", invoices[:25]),
        ("Invoice", [*invoices[20:40], newer, twin]),
        ("Invoice", [*invoices[:3], {"Id": invoices[5]["Id"], "status": "Deleted"}]),
        ("Customer", client.query(realm, "SELECT * FROM Customer MAXRESULTS 50")),
        ("ExchangeRate", [{"SourceCurrencyCode": "EUR", "AsOfDate": "2026-11-02", "Rate": 1.1}]),
    ]
    added_text = added_docs = 0
    for entity, docs in pages:
        page = rawpages.query_page(_body(entity, docs), realm)
        added_text += by_text.transact(
            lambda con, e=entity, p=page: ingest.ingest_into(
                con, realm, e, p, run_id=1, ingested_at=AT
            )
        )
        added_docs += by_docs.transact(
            lambda con, e=entity, d=docs: ingest.ingest_into(
                con, realm, e, d, run_id=1, ingested_at=AT
            )
        )
    assert added_text == added_docs > 40
    for table in ("log_invoice", "log_customer", "log_exchange_rate"):
        assert log_rows(by_text, table) == log_rows(by_docs, table), table
    with by_text.read() as con:
        kept = con.execute(
            "SELECT private_note FROM log_invoice WHERE id = ? AND sync_token = 99",
            [invoices[0]["Id"]],
        ).fetchall()
        tomb = con.execute(
            "SELECT count(*) FROM log_invoice WHERE id = ? AND op = 'delete'", [invoices[5]["Id"]]
        ).fetchall()
    assert kept == [("same version, later copy",)]  # one copy of a repeated version: the later
    assert tomb == [(1,)]
