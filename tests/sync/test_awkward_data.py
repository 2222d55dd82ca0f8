"""Awkward data: quotes and unicode, missing optional fields, foreign currencies, huge amounts,
documents edited while a backfill pages through them; and as-of reconstruction."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from oodaloo.config import Settings
from sandbox.testing import api_client
from sandbox.transport import embedded_transport
from sync.engine import sync_company
from sync.store import as_of_frame, current_frame
from tests.sync.conftest import (
    SMALL_PAGES,
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
    build_world,
)


def _doc(doc_id: int, stamp: str, **fields: Any) -> dict[str, Any]:
    return {
        "Id": str(doc_id),
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        **fields,
    }


def add_awkward_documents(world: World, realm: str) -> None:
    stamp = "2026-11-19T08:00:00-08:00"
    world.db.bulk_insert(
        realm,
        "Customer",
        [
            _doc(900, stamp, DisplayName="O'Brien \\ Søn — 東京", Active=True, Balance=0),
            _doc(
                901, stamp, DisplayName='Ünïcödé "Quoted" Ltd', Active=False
            ),  # inactive, no balance, no email
        ],
    )
    world.db.bulk_insert(
        realm,
        "Invoice",
        [
            _doc(
                902,
                stamp,
                CustomerRef={"value": "900"},
                TxnDate="2026-11-01",
                TotalAmt=9_876_543_210_123.45,
                Balance=9_876_543_210_123.45,
                CurrencyRef={"value": "EUR", "name": "Euro"},
                ExchangeRate=1.0825,
                Line=[],
            ),
            _doc(
                903,
                stamp,
                CustomerRef={"value": "900"},
                TxnDate="2026-11-02",
                TotalAmt=0.01,
                Balance=0.01,
                CurrencyRef={"value": "JPY", "name": "Japanese Yen"},
                ExchangeRate=0.0066,
                DueDate="",
                Line=[],
            ),
            _doc(904, stamp, TxnDate="2026-11-03", Line=[]),  # no customer, no amounts, no due date
        ],
    )


def test_awkward_documents_round_trip(world: World) -> None:
    realm = world.realms[0]
    add_awkward_documents(world, realm)
    assert (
        sync_company(world.settings, realm, client=world.client(), options=SMALL_PAGES).outcome
        == "ok"
    )
    assert_store_matches_truth(world, [realm])
    invoices = {r["id"]: r for r in current_frame(world.warehouse, "invoice", [realm]).to_dicts()}
    assert (
        invoices["902"]["total_amt"] == Decimal("9876543210123.45")
        and invoices["902"]["currency"] == "EUR"
    )
    assert invoices["903"]["due_date"] is None and invoices["903"]["exchange_rate"] == Decimal(
        "0.006600"
    )
    assert invoices["904"]["customer_id"] is None and invoices["904"]["balance"] is None
    customers = {r["id"]: r for r in current_frame(world.warehouse, "customer", [realm]).to_dicts()}
    assert customers["901"]["active"] is False  # inactive list entries stay current
    assert customers["900"]["display_name"] == "O'Brien \\ Søn — 東京"
    # a query with an apostrophe, through our client's quoting
    from sync.client import quote

    rows = world.client().query(
        realm,
        f"SELECT * FROM Customer WHERE DisplayName = {quote(customers['900']['display_name'])}",
    )
    assert [r["Id"] for r in rows] == ["900"]


class EditDuringBackfill(httpx.BaseTransport):
    """After the first page of the backfill, an accountant edits documents both behind and ahead
    of the pages (through the sandbox's HTTP API)."""

    def __init__(self, world: World, realm: str) -> None:
        self.inner = embedded_transport(world.settings.sandbox_path)
        self.world, self.realm, self.pages, self.edited = world, realm, 0, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path.endswith(("/batch", "/query")):
            self.pages += 1
            if self.pages == 2 and not self.edited:
                self.edited = True
                self._edit()
        return response

    def _edit(self) -> None:
        self.world.db.advance_clock(5)
        with api_client(self.inner, self.realm) as api:
            for entity in ("Purchase", "Bill", "Invoice"):
                body = api.post(
                    "/query",
                    content=f"SELECT * FROM {entity} MAXRESULTS 1000".encode(),
                    headers={"Content-Type": "application/text"},
                ).json()["QueryResponse"][entity]
                for doc in (
                    body[0],
                    body[len(body) // 2],
                    body[-1],
                ):  # behind, amid and ahead of the scan
                    answer = api.post(
                        f"/{entity.lower()}",
                        json={
                            "Id": doc["Id"],
                            "SyncToken": doc["SyncToken"],
                            "sparse": True,
                            "PrivateNote": "edited mid-backfill — l'été",
                        },
                    )
                    assert answer.status_code == 200, answer.text


def test_documents_edited_while_backfill_pages_are_not_lost(settings: Settings) -> None:
    world = build_world(settings, demo=True, companies=1, scale=0.2)
    try:
        realm = world.realms[0]
        from sync.client import QBOClient
        from sync.retry import FAST

        transport = EditDuringBackfill(world, realm)
        client = QBOClient(settings, transport=transport, retry=FAST)
        world.clients.append(client)
        result = sync_company(settings, realm, client=client, options=SMALL_PAGES)
        assert result.outcome == "ok" and transport.edited
        assert_store_matches_truth(world)
        assert_no_duplicate_versions(world.warehouse)
        notes = current_frame(world.warehouse, "purchase", [realm])["private_note"].to_list()
        assert notes.count("edited mid-backfill — l'été") == 3
    finally:
        world.close()


def test_as_of_returns_a_document_as_it_was_before_a_later_edit(world: World) -> None:
    realm = world.realms[0]
    client = world.client()
    assert sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    first_sync = world.db.now()
    world.db.advance_clock(3600)
    with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
        doc = api.get("/invoice/41").json()["Invoice"]
        edited = api.post(
            "/invoice",
            json={
                "Id": "41",
                "SyncToken": doc["SyncToken"],
                "sparse": True,
                "PrivateNote": "renegotiated",
                "DueDate": "2027-01-31",
            },
        ).json()["Invoice"]
    world.db.advance_clock(3600)
    assert sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    edit_time = first_sync + timedelta(seconds=3600)

    def invoice_41(at: Any, basis: str) -> dict[str, Any]:
        frame = as_of_frame(world.warehouse, "invoice", at, basis, [realm])
        return next(r for r in frame.to_dicts() if r["id"] == "41")

    before = invoice_41(edit_time - timedelta(seconds=1), "source")
    after = invoice_41(edit_time + timedelta(seconds=1), "source")
    assert before["private_note"] is None and str(before["due_date"]) == doc["DueDate"]
    assert after["private_note"] == "renegotiated" and str(after["due_date"]) == "2027-01-31"
    assert after["sync_token"] == int(edited["SyncToken"]) == before["sync_token"] + 1
    # what we knew: between the edit and our second sync we still showed the old version
    knew = invoice_41(edit_time + timedelta(seconds=60), "ingest")
    assert knew["private_note"] is None
