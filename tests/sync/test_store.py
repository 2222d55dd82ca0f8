"""The DuckDB change log on real files: dedupe, tombstones, current views, as-of on both clocks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from sync.ingest import ingest_documents
from sync.store import (
    Warehouse,
    as_of_frame,
    as_of_query,
    current_frame,
    get_checkpoint,
    set_checkpoint,
)
from tests.sync.factories import customer, deleted, invoice


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


def test_reingesting_a_version_is_a_no_op(wh: Warehouse) -> None:
    docs = [invoice("1"), invoice("2"), invoice("1")]  # a duplicate inside one batch too
    assert (
        ingest_documents(wh, "r1", "Invoice", docs, run_id=1, source="test", ingested_at=at(2)) == 2
    )
    assert (
        ingest_documents(wh, "r1", "Invoice", docs, run_id=2, source="test", ingested_at=at(3)) == 0
    )
    assert (
        ingest_documents(
            wh,
            "r1",
            "Invoice",
            [invoice("1", 1, total=150)],
            run_id=3,
            source="test",
            ingested_at=at(3),
        )
        == 1
    )
    log = wh.frame("SELECT id, sync_token FROM log_invoice ORDER BY id, sync_token")
    assert log.rows() == [("1", 0), ("1", 1), ("2", 0)]
    cur = current_frame(wh, "invoice")
    assert cur.filter(cur["id"] == "1")["total_amt"].to_list() == [Decimal("150.00")]


def test_ids_are_keyed_by_realm(wh: Warehouse) -> None:
    ingest_documents(
        wh, "r1", "Invoice", [invoice("1", total=10)], run_id=1, source="t", ingested_at=at(2)
    )
    ingest_documents(
        wh, "r2", "Invoice", [invoice("1", total=20)], run_id=1, source="t", ingested_at=at(2)
    )
    assert sorted(current_frame(wh, "Invoice")["total_amt"].to_list()) == [
        Decimal("10.00"),
        Decimal("20.00"),
    ]
    assert current_frame(wh, "invoice", ["r2"])["total_amt"].to_list() == [Decimal("20.00")]


def test_deleted_stub_becomes_a_tombstone_once(wh: Warehouse) -> None:
    ingest_documents(
        wh, "r1", "Invoice", [invoice("1", 3)], run_id=1, source="t", ingested_at=at(2)
    )
    assert (
        ingest_documents(
            wh, "r1", "Invoice", [deleted("1", 4)], run_id=2, source="t", ingested_at=at(4)
        )
        == 1
    )
    assert (
        ingest_documents(
            wh, "r1", "Invoice", [deleted("1", 4)], run_id=3, source="t", ingested_at=at(5)
        )
        == 0
    )
    assert (
        ingest_documents(
            wh, "r1", "Invoice", [deleted("99", 4)], run_id=3, source="t", ingested_at=at(5)
        )
        == 0
    )  # never stored
    log = wh.frame("SELECT sync_token, op FROM log_invoice ORDER BY sync_token")
    assert log.rows() == [(3, "upsert"), (4, "delete")]
    assert current_frame(wh, "invoice").height == 0
    # a stale copy of the old version arriving later does not resurrect it
    ingest_documents(
        wh, "r1", "Invoice", [invoice("1", 3)], run_id=4, source="t", ingested_at=at(6)
    )
    assert current_frame(wh, "invoice").height == 0


def test_inactive_list_entries_stay_current_with_active_false(wh: Warehouse) -> None:
    ingest_documents(
        wh,
        "r1",
        "Customer",
        [customer("20"), customer("20", 1, active=False, day=3)],
        run_id=1,
        source="t",
        ingested_at=at(4),
    )
    cur = current_frame(wh, "customer")
    assert cur.select("id", "active", "display_name").rows() == [("20", False, "O'Brien Design")]


def test_as_of_by_either_clock(wh: Warehouse) -> None:
    """'What QBO said at T' uses LastUpdatedTime; 'what we knew at T' uses our ingest time."""
    ingest_documents(
        wh,
        "r1",
        "Invoice",
        [invoice("1", 0, day=2, total=100)],
        run_id=1,
        source="t",
        ingested_at=at(3),
    )
    ingest_documents(
        wh,
        "r1",
        "Invoice",
        [invoice("1", 1, day=5, total=80)],
        run_id=2,
        source="t",
        ingested_at=at(9),
    )
    ingest_documents(
        wh, "r1", "Invoice", [deleted("1", 12)], run_id=3, source="t", ingested_at=at(13)
    )

    def amount(when: datetime, basis: str) -> list[Decimal]:
        return as_of_frame(wh, "invoice", when, basis)["total_amt"].to_list()

    assert amount(at(1), "source") == []
    assert amount(at(4), "source") == [Decimal("100.00")]
    assert amount(at(6), "source") == [Decimal("80.00")]  # QBO had the edit on the 5th...
    assert amount(at(6), "ingest") == [Decimal("100.00")]  # ...but we only learnt it on the 9th
    assert amount(at(10), "ingest") == [Decimal("80.00")]
    assert amount(at(12, 23), "source") == []
    assert amount(at(12, 23), "ingest") == [Decimal("80.00")]
    with pytest.raises(ValueError, match="basis must be"):
        as_of_query("invoice", at(1), "wall")
    with pytest.raises(ValueError, match="unknown entity 'Invoices'"):
        as_of_query("Invoices", at(1))
    with pytest.raises(ValueError, match="timezone-aware"):
        as_of_query("invoice", datetime(2026, 1, 1))


def test_awkward_values_are_typed_exactly(wh: Warehouse) -> None:
    big = invoice(
        "7",
        total="12345678901234.56",
        CurrencyRef={"value": "EUR", "name": "Euro"},
        ExchangeRate=1.0825,
        PrivateNote="Überweisung — 東京 'quoted'",
    )
    sparse = {
        "Id": "8",
        "SyncToken": "0",
        "MetaData": {"LastUpdatedTime": "2026-11-02T01:02:03Z"},
        "DueDate": "",
    }
    ingest_documents(wh, "r1", "Invoice", [big, sparse], run_id=1, source="t", ingested_at=at(3))
    rows = {r["id"]: r for r in current_frame(wh, "invoice").to_dicts()}
    assert rows["7"]["total_amt"] == Decimal("12345678901234.56")
    assert rows["7"]["exchange_rate"] == Decimal("1.082500")
    assert rows["7"]["currency"] == "EUR"
    assert rows["7"]["private_note"] == "Überweisung — 東京 'quoted'"
    assert (
        rows["8"]["due_date"] is None
        and rows["8"]["total_amt"] is None
        and rows["8"]["customer_id"] is None
    )


def test_checkpoint_commits_with_its_page_or_not_at_all(wh: Warehouse) -> None:
    with pytest.raises(RuntimeError), wh.write() as con:
        con.begin()
        from sync.ingest import ingest_into

        ingest_into(con, "r1", "Invoice", [invoice("1")], run_id=1, ingested_at=at(2))
        set_checkpoint(con, "r1", "_backfill", {"lo": "x"}, run_id=1, at=at(2))
        raise RuntimeError("crash between page and commit")
    with wh.read() as con:
        assert get_checkpoint(con, "r1", "_backfill") is None
        assert con.execute("SELECT count(*) FROM log_invoice").fetchone() == (0,)


def test_version_changes_on_each_write(wh: Warehouse) -> None:
    with wh.read():
        pass
    v1 = wh.version()
    ingest_documents(wh, "r1", "Invoice", [invoice("1")], run_id=1, source="t", ingested_at=at(2))
    assert wh.version() != v1


def test_readers_and_a_writer_in_threads_never_see_a_lock_error(wh: Warehouse) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                with wh.read() as con:
                    con.execute("SELECT count(*) FROM cur_invoice").fetchone()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(15):
        ingest_documents(
            wh, "r1", "Invoice", [invoice(str(i))], run_id=1, source="t", ingested_at=at(2)
        )
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert current_frame(wh, "invoice").height == 15


def test_a_column_added_to_the_schema_is_added_to_an_existing_file(tmp_path: Path) -> None:
    import duckdb

    from sync import store as store_module

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE log_invoice (realm_id VARCHAR, id VARCHAR, sync_token BIGINT)"
    )  # an older, narrower log
    con.execute("INSERT INTO log_invoice VALUES ('r1', '1', 0)")
    con.close()
    wh = Warehouse(path)
    ingest_documents(wh, "r1", "Invoice", [invoice("2")], run_id=1, source="t", ingested_at=at(2))
    frame = wh.frame("SELECT id, total_amt FROM log_invoice ORDER BY id")
    assert frame.rows() == [("1", None), ("2", Decimal("100.00"))]
    assert store_module.spec_for("cur_invoice").table == "invoice"
