"""Pages gathered across the units of one coalesced transaction (``ingest.ingest_pages``: one
statement per entity for every company's pages, typed where the client's scan staged them) land
exactly as the same documents stored one page at a time by the parsed-document path
(``ingest.ingest_into`` of a list of documents: Python-parsed, handed to DuckDB as one JSON
array, a transaction each — no stage, no page scan), with each caller's row count; a unit whose
pages cannot be written fails only its own caller."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from sync import frames, ingest, rawpages, store
from sync.writer import Deferred, writer_for
from tests.sync.conftest import World, log_rows

AT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def _page(entity: str, docs: list[dict[str, Any]]) -> rawpages.Page:
    """The page as the client reads it off a query answer (``rawpages``'s DuckDB scan)."""
    body = orjson.dumps({"QueryResponse": {entity: docs, "startPosition": 1}})
    return rawpages.query_page(body, "r")


def _rounds(demo_world: World) -> list[tuple[str, int, datetime, list[tuple[str, list[Any]]]]]:
    """Units as backfill rounds hand them in: (realm, run, time, [(entity, docs)]), with two
    overlapping Invoice pages in one unit (the same versions twice) and a second unit of the
    first company re-sending a page already in the first."""
    client = demo_world.client()
    units = []
    for n, realm in enumerate(demo_world.realms):
        invoices = client.query(realm, "SELECT * FROM Invoice MAXRESULTS 60")
        assert len(invoices) == 60
        pages = [
            ("Invoice", invoices[:35]),
            ("Invoice", invoices[25:60]),  # 10 versions again
            ("Customer", client.query(realm, "SELECT * FROM Customer MAXRESULTS 40")),
            ("Bill", client.query(realm, "SELECT * FROM Bill MAXRESULTS 30")),
            ("Account", []),  # an empty page
        ]
        units.append((realm, 10 + n, AT + timedelta(seconds=n), pages))
    first_realm, _, _, first_pages = units[0]
    units.append((first_realm, 30, AT + timedelta(minutes=5), [first_pages[2], first_pages[0]]))
    return units


def test_pages_gathered_in_one_transaction_equal_pages_stored_one_by_one(
    tmp_path: Path, demo_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    units = _rounds(demo_world)
    one_by_one = store.Warehouse(tmp_path / "one.duckdb")
    expected: list[int] = []
    for realm, run, at, pages in units:
        added = 0
        for entity, docs in pages:

            def one_page(
                con: duckdb.DuckDBPyConnection,
                docs: list[Any] = docs,
                entity: str = entity,
                realm: str = realm,
                run: int = run,
                at: datetime = at,
            ) -> int:
                return ingest.ingest_into(
                    con, realm, entity, docs, run_id=run, ingested_at=at, source="backfill"
                )

            added += one_by_one.transact(one_page)
        expected.append(added)
    distinct = {(e, d["Id"]) for e, docs in units[0][3] for d in docs}
    assert expected[0] == len(distinct) > 60 and expected[-1] == 0

    statements: list[tuple[str, int]] = []
    write = ingest._EntityGroup.write
    select = frames.pages_select
    staged: list[bool] = []

    def counted(
        group: ingest._EntityGroup, con: duckdb.DuckDBPyConnection, stored: bool | None = None
    ) -> None:
        statements.append((group.spec.qbo_name, len(group.parts)))
        write(group, con, stored)

    def seen(spec: Any, parts: list[frames.PagePart]) -> tuple[str, dict[str, Any]]:
        staged.extend(part.staged is not None for part in parts)
        return select(spec, parts)

    monkeypatch.setattr(ingest._EntityGroup, "write", counted)
    monkeypatch.setattr(frames, "pages_select", seen)
    gathered = store.Warehouse(tmp_path / "gathered.duckdb")

    def all_units(con: duckdb.DuckDBPyConnection) -> Deferred[list[int]]:
        """Every unit's pages in ONE transaction, as the coalescing writer runs them."""
        tickets = [
            ingest.ingest_pages(
                con,
                realm,
                [(entity, _page(entity, docs)) for entity, docs in pages],
                run_id=run,
                ingested_at=at,
                source="backfill",
            )
            for realm, run, at, pages in units
        ]
        return Deferred(lambda: [ticket.resolve() for ticket in tickets])

    counts = writer_for(gathered).submit_gathered(all_units).result()
    assert counts == expected
    assert staged and all(staged)  # every page typed where the client's scan left it
    for table in ("log_invoice", "log_customer", "log_bill", "log_account"):
        assert log_rows(gathered, table) == log_rows(one_by_one, table), table
    # one statement per entity for all companies; the company whose pages came from two
    # callers: their second caller's pages in a statement of their own, after the first
    companies = len(demo_world.realms)
    assert statements == [
        ("Invoice", 2 * companies),
        ("Customer", companies),
        ("Bill", companies),
        ("Customer", 1),
        ("Invoice", 1),
    ]


def test_a_unit_whose_gathered_pages_fail_fails_only_its_caller(tmp_path: Path) -> None:
    """An unreadable document fails the shared statement: the transaction is rolled back and
    each unit run again alone, so only the unit that brought it learns of it."""
    wh = store.Warehouse(tmp_path / "warehouse.duckdb")
    writer = writer_for(wh)
    good = [
        {"Id": str(i), "SyncToken": "0", "MetaData": {"LastUpdatedTime": "2026-11-02T08:00:00Z"}}
        for i in range(5)
    ]
    broken = rawpages.Page(
        texts=['{"Id": "9", '], count=1, stamps=[None], unique=True, stubs=0, keys=["9:0"]
    )
    barrier = threading.Barrier(5)
    outcomes: dict[str, Any] = {}

    def submit(name: str, page: rawpages.Page) -> None:
        barrier.wait()
        try:
            outcomes[name] = writer.submit_gathered(
                lambda con: ingest.ingest_pages(
                    con, name, [("Invoice", page)], run_id=1, ingested_at=AT
                ),
                weight=page.count,
            ).result()
        except duckdb.Error as exc:
            outcomes[name] = exc

    threads = [
        threading.Thread(target=submit, args=(f"ok{c}", _page("Invoice", good))) for c in range(4)
    ] + [threading.Thread(target=submit, args=("bad", broken))]
    with writer.hold():
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert isinstance(outcomes.pop("bad"), duckdb.Error)
    assert outcomes == {f"ok{c}": 5 for c in range(4)}
    with wh.read() as con:
        stored = con.execute("SELECT realm_id, count(*) FROM log_invoice GROUP BY 1").fetchall()
    assert dict(stored) == {f"ok{c}": 5 for c in range(4)}
