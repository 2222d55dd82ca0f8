"""The vectorised ingest (DuckDB ``from_json`` with the structure derived from schema.py) gives
the same columns, value by value, as the previous per-row Python path (kept in
tests/sync/rowwise.py only for this comparison), on the demo firm and on awkward documents —
both from parsed documents and from a query page as the sync path stores it (the documents'
JSON texts out of the client's DuckDB scan of the answer, never parsed by Python)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import duckdb
import orjson
import pytest

from oodaloo.config import Settings
from sync import frames, ingest, rawpages, store
from sync.schema import BY_QBO_NAME, ENTITIES
from tests.sync import rowwise
from tests.sync.conftest import build_world, truth
from tests.sync.test_awkward_data import add_awkward_documents

AT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def _new_rows(
    spec_name: str, docs: list[dict[str, Any]], *, as_served: bool = False
) -> list[dict[str, Any]]:
    """The typed rows of ``docs``: parsed documents, or (``as_served``) the page the sync path
    stores — the documents' texts as the client's DuckDB scan of a query answer left them."""
    page: list[dict[str, Any]] | rawpages.Page = docs
    if as_served:
        body = orjson.dumps({"QueryResponse": {spec_name: docs, "startPosition": 1}})
        page = rawpages.query_page(body, "r1")
        assert page.count == len(docs)
    con = duckdb.connect()
    try:
        frames.stage_versions(
            con, "_v", BY_QBO_NAME[spec_name], "r1", page, ingested_at=AT, run_id=3, source="t"
        )
        return con.sql("SELECT * FROM _v").to_arrow_table().to_pylist()
    finally:
        con.close()


def _old_rows(spec_name: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = rowwise.version_rows(
        BY_QBO_NAME[spec_name], "r1", docs, ingested_at=AT, run_id=3, source="t"
    )
    return table.to_pylist()


def assert_same_columns(spec_name: str, docs: list[dict[str, Any]]) -> int:
    """Both ways into the store (parsed documents; a served page's texts) against the oracle."""
    old = _old_rows(spec_name, docs)
    names = [n for n, _ in frames.log_columns(BY_QBO_NAME[spec_name])]
    for as_served in (False, True):
        new = _new_rows(spec_name, docs, as_served=as_served)
        assert len(new) == len(old) == len(docs)
        assert list(new[0]) == names if new else True
        for a, b in zip(new, old, strict=True):
            for name in names:
                if name == "raw":  # the same document, whichever serialiser wrote it
                    assert json.loads(a[name]) == json.loads(b[name])
                else:
                    assert a[name] == b[name], (
                        f"{spec_name} {a['id']} {name} (served: {as_served}): "
                        f"{a[name]!r} != {b[name]!r}"
                    )
    return len(docs)


def test_demo_firm_ingest_equals_the_per_row_path(settings: Settings) -> None:
    world = build_world(settings, demo=True, companies=1, scale=0.2)
    try:
        realm = world.realms[0]
        add_awkward_documents(world, realm)
        docs = truth(world.truth_path, realm)
        compared = sum(assert_same_columns(name, list(d.values())) for name, d in docs.items() if d)
        assert compared > 300
        assert {name for name, d in docs.items() if d} >= {"Invoice", "Bill", "BillPayment"}
    finally:
        world.close()


def _stamp(day: int) -> dict[str, str]:
    return {
        "CreateTime": f"2026-11-{day:02d}T08:00:00-08:00",
        "LastUpdatedTime": f"2026-11-{day:02d}T08:00:00Z",
    }


AWKWARD: dict[str, list[dict[str, Any]]] = {
    "Invoice": [
        {  # numbers as strings, an empty date, a number where a string is expected
            "Id": 7,
            "SyncToken": "3",
            "MetaData": _stamp(2),
            "DocNumber": 1001,
            "TotalAmt": "1250.5",
            "Balance": "",
            "DueDate": "",
            "TxnDate": "2026-11-02T00:00:00",
            "ExchangeRate": "1.2345678",
            "CustomerRef": "not-a-ref",
            "DeliveryInfo": {"DeliveryTime": "2026-11-03T10:00:00"},  # no offset: UTC
            "PrivateNote": "Voided - was 12",
        },
        {"Id": "8", "MetaData": {}, "TotalAmt": 0, "PrivateNote": "voided"},  # no token, no times
    ],
    "Customer": [
        {"Id": "1", "SyncToken": "0", "MetaData": _stamp(1), "Active": "false", "Balance": 3},
        {"Id": "2", "SyncToken": "0", "MetaData": _stamp(1), "Active": ""},  # default: active
        {"Id": "3", "SyncToken": "0", "MetaData": _stamp(1), "DisplayName": ""},
    ],
    "Term": [{"Id": "4", "SyncToken": "1", "MetaData": _stamp(1), "DueDays": "30"}],
    "Payment": [
        {
            "Id": "9",
            "SyncToken": "0",
            "MetaData": _stamp(4),
            "TotalAmt": 50,
            "Line": [
                {
                    "Amount": "20",
                    "LinkedTxn": [{"TxnId": "7", "TxnType": "Invoice"}, {"TxnType": "CreditMemo"}],
                },
                {"LinkedTxn": [{"TxnId": 8, "TxnType": "Invoice"}]},  # no amount: 0
                {"Amount": 30},  # no links
            ],
        },
        {"Id": "10", "SyncToken": "0", "MetaData": _stamp(4), "Line": None},
    ],
    "JournalEntry": [
        {
            "Id": "11",
            "SyncToken": "0",
            "MetaData": _stamp(5),
            "Line": [
                {
                    "Amount": 1200.1,
                    "Description": "Payroll — l'été",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": {"value": "60"},
                        "Entity": {"Type": "Vendor", "EntityRef": {"value": "5"}},
                    },
                },
                {"Amount": 1200.1, "JournalEntryLineDetail": {"PostingType": "Credit"}},
            ],
        }
    ],
    "Bill": [
        {
            "Id": "12",
            "SyncToken": "2",
            "MetaData": _stamp(6),
            "Line": [
                {"Amount": 10, "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}}},
                {},
            ],
        }
    ],
    # its columns have no SQL twin (ad-hoc lambdas): computed per row, typed by SQL
    "CompanyInfo": [
        {
            "Id": "1",
            "SyncToken": "0",
            "MetaData": _stamp(1),
            "CompanyName": 'Ünïcödé "Q" Ltd',
            "NameValue": [{"Name": "TimeZone", "Value": "America/Denver"}],
        }
    ],
}


@pytest.mark.parametrize("entity", sorted(AWKWARD))
def test_awkward_documents_ingest_equals_the_per_row_path(entity: str) -> None:
    assert_same_columns(entity, AWKWARD[entity])


def test_money_rounds_half_up_to_the_cent() -> None:
    docs = [
        {"Id": str(i), "SyncToken": "0", "MetaData": _stamp(1), "TotalAmt": text}
        for i, text in enumerate(["2.665", "2.675", "-2.665", "0.005"])
    ]
    got = {r["id"]: r["total_amt"] for r in _new_rows("Invoice", docs)}
    want = {
        str(i): Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for i, text in enumerate(["2.665", "2.675", "-2.665", "0.005"])
    }
    assert got == want


def test_every_entity_of_the_schema_has_a_plan_and_stores(tmp_path: Any) -> None:
    """A new entity in schema.py is typed without a change here: every entity stages and lands."""
    wh = store.Warehouse(tmp_path / "w.duckdb")
    for spec in ENTITIES:
        doc = {"Id": "1", "SyncToken": "0", "MetaData": _stamp(1)}
        n = wh.transact(
            lambda con, spec=spec, doc=doc: ingest.ingest_into(
                con, "r1", spec.qbo_name, [spec.keyed(doc)], run_id=1, ingested_at=AT
            )
        )
        assert n == 1, spec.qbo_name
