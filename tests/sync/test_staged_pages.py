"""The client's scan stages a page's documents in the process's DuckDB instance, and the
warehouse's write slice attaches the file to that instance to type them where they are
(``sync.rawpages``): the slice lets the file go when it ends (checkpointed, readable by a
connection of its own), a stage is dropped once no page refers to it, and a connection of
another instance still writes a staged page, from its texts, exactly as the parsed path would."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest

from sync import ingest, rawpages, store
from sync.errors import TransientError
from sync.writer import writer_for

AT = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def _docs(n: int, token: str = "0") -> list[dict[str, Any]]:
    return [
        {
            "Id": str(i),
            "SyncToken": token,
            "DocNumber": f"INV-{i}",
            "TotalAmt": 100.5 + i,
            "Balance": "12.345",
            "CustomerRef": {"value": "7", "name": "Acme"},
            "MetaData": {
                "CreateTime": "2026-11-01T08:00:00-08:00",
                "LastUpdatedTime": f"2026-11-02T08:00:{i % 60:02d}Z",
            },
        }
        for i in range(1, n + 1)
    ]


def _batch(*pages: tuple[str, list[dict[str, Any]]]) -> bytes:
    return orjson.dumps(
        {
            "BatchItemResponse": [
                {"bId": f"q{n}", "QueryResponse": {entity: docs, "startPosition": 1}}
                for n, (entity, docs) in enumerate(pages)
            ]
        }
    )


def _stages() -> set[str]:
    """The stage tables (generations of answers) now in the instance."""
    found = rawpages._scanner().execute("SELECT table_name FROM duckdb_tables()").fetchall()
    return {name for (name,) in found if name.startswith("_answers_")}


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return con.execute(
        f"SELECT COLUMNS(lambda c: c <> 'raw')::VARCHAR, raw::JSON::VARCHAR FROM {table} "
        "ORDER BY ALL"
    ).fetchall()


def test_a_write_slice_attaches_the_file_and_lets_it_go(tmp_path: Path) -> None:
    wh = store.Warehouse(tmp_path / "warehouse.duckdb")
    writer = writer_for(wh)
    pages = rawpages.batch_pages(_batch(("Invoice", _docs(5))), ["q0"], "r1")
    page = pages[0]
    assert isinstance(page, rawpages.Page)

    def unit(con: duckdb.DuckDBPyConnection) -> int:
        assert rawpages.reads_stages(con)  # the slice's connection is of the scans' instance
        return ingest.ingest_into(con, "r1", "Invoice", page, run_id=1, ingested_at=AT)

    assert writer.submit(unit) == 5
    writer.join()  # the slice ended
    attached = rawpages._instance().execute("SELECT path FROM duckdb_databases()").fetchall()
    assert str(wh.path) not in {p for (p,) in attached}
    assert not wh.path.with_name(wh.path.name + ".wal").exists()  # checkpointed
    with duckdb.connect(str(wh.path), read_only=True) as con:  # an instance of its own
        assert con.execute("SELECT count(*) FROM log_invoice").fetchone() == (5,)
    assert writer.submit(unit) == 0  # a later slice attaches it again: the versions are there


def test_a_full_stage_is_dropped_once_no_page_refers_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rawpages, "GENERATION_BYTES", 1)  # each answer fills its table
    before = _stages()
    pages = rawpages.batch_pages(_batch(("Invoice", _docs(3)), ("Bill", [])), ["q0", "q1"], "r")
    made = _stages() - before
    assert len(made) == 1  # both pages of the answer in it
    first = pages[0]
    del pages
    gc.collect()
    rawpages.query_page(orjson.dumps({"QueryResponse": {"Invoice": []}}), "r")  # a next scan
    assert made <= _stages()  # a page still refers to it
    assert isinstance(first, rawpages.Page) and [orjson.loads(t) for t in first.texts] == _docs(3)
    del first
    gc.collect()
    rawpages.query_page(orjson.dumps({"QueryResponse": {"Invoice": []}}), "r")
    assert not made & _stages()


def test_a_staged_page_written_by_another_instance_equals_the_parsed_path(tmp_path: Path) -> None:
    """A connection the scans' instance does not hold (a plain ``duckdb.connect``) reads the
    page's texts out of its stage instead: same rows as the documents parsed by Python."""
    docs = _docs(40) + _docs(10, token="1")  # ten documents in a second version too
    page = rawpages.batch_pages(_batch(("Invoice", docs)), ["q0"], "r1")[0]
    assert isinstance(page, rawpages.Page)
    stored = []
    for name, what in (("staged", page), ("parsed", docs)):
        path = tmp_path / f"{name}.duckdb"
        made = store.Warehouse(path)
        made.transact(lambda con: None)  # the schema
        writer_for(made).join()  # the slice let the file go
        with duckdb.connect(str(path)) as con:
            assert not rawpages.reads_stages(con)
            con.begin()
            added = ingest.ingest_into(con, "r1", "Invoice", what, run_id=3, ingested_at=AT)
            con.commit()
            stored.append((added, _rows(con, "log_invoice")))
    assert stored[0] == stored[1]
    assert stored[0][0] == 50


def test_a_page_repeating_a_version_or_lacking_an_id_is_not_unique() -> None:
    """``unique`` (no store key twice: the store then skips its within-page dedupe) is decided
    by the scan; the keys themselves are read from the stage when the store asks."""
    docs = _docs(3, token="2")
    anonymous = {k: v for k, v in _docs(1)[0].items() if k != "Id"}
    bodies = {
        "plain": docs,
        "repeat": [*docs, docs[0]],
        "anonymous": [*docs, anonymous],
    }
    for name, listed in bodies.items():
        page = rawpages.batch_pages(_batch(("Invoice", listed)), ["q0"], "r")[0]
        assert isinstance(page, rawpages.Page)
        expected = [f"{d['Id']}:{int(d['SyncToken'])}" if "Id" in d else None for d in listed]
        assert page.keys == expected, name
        assert page.unique == (None not in expected and len(set(expected)) == len(expected)), name


def test_an_answer_that_is_not_utf8_or_not_json_is_a_transient_error() -> None:
    """The scan reads the body as received (bytes, not copied into a parameter): DuckDB still
    checks it is UTF-8 before reading it as JSON, so a garbled answer is asked again, never
    staged as text."""
    good = _batch(("Invoice", _docs(2)))
    garbled = good.replace(b"INV-1", b"INV-\xff\xfe")
    for body in (garbled, b"<html>busy</html>", good[: len(good) // 2]):
        with pytest.raises(TransientError):
            rawpages.batch_pages(body, ["q0"], "r")
        with pytest.raises(TransientError):
            rawpages.query_page(body, "r")
    page = rawpages.batch_pages(good, ["q0"], "r")[0]  # the thread's scans go on
    assert isinstance(page, rawpages.Page)
    assert [orjson.loads(t) for t in page.texts] == _docs(2)


def test_scans_go_on_after_a_page_s_texts_and_keys_were_read() -> None:
    """Reading a page out of its stage (texts, keys) leaves nothing open on the thread's
    cursor, so the thread's next answer can be scanned (each scan hands DuckDB its body as a
    view of that cursor)."""
    first = rawpages.batch_pages(
        _batch(("Invoice", _docs(4)), ("Bill", _docs(2))), ["q0", "q1"], "r"
    )
    for page in first:
        assert isinstance(page, rawpages.Page)
        assert len(page.keys) == len(page)
    second = rawpages.query_page(orjson.dumps({"QueryResponse": {"Invoice": _docs(3, "5")}}), "r")
    assert [orjson.loads(t) for t in second.texts] == _docs(3, "5")
    assert second.keys == [f"{i}:5" for i in range(1, 4)]
    third = rawpages.query_page(orjson.dumps({"QueryResponse": {"Invoice": _docs(1)}}), "r")
    assert [orjson.loads(t) for t in third.texts] == _docs(1)
