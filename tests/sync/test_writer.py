"""The coalescing writer: many threads' units share write slices and transactions, each unit
stays all-or-nothing, a failing unit fails only its caller, and a waiting reader ends a slice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from sync import ingest, store
from sync import writer as writer_module
from sync.store import Warehouse
from sync.writer import writer_for
from tests.sync.factories import invoice


def page_unit(realm: str, first_id: int, n: int, cursor: int):  # type: ignore[no-untyped-def]
    """A page of ``n`` invoices and the cursor pointing past it (like a backfill round)."""
    docs = [invoice(str(first_id + i)) for i in range(n)]

    def unit(con: duckdb.DuckDBPyConnection) -> int:
        rows = ingest.ingest_into(
            con, realm, "Invoice", docs, run_id=1, ingested_at=store.frames.utc_now(), source="test"
        )
        store.set_checkpoint(
            con, realm, "_backfill", {"page": cursor}, run_id=1, at=store.frames.utc_now()
        )
        return rows

    return unit


def test_many_threads_share_slices_and_each_page_lands_with_its_cursor(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    writer = writer_for(wh)
    results: dict[str, list[int]] = {}

    def company(c: int) -> None:
        realm = f"r{c}"
        results[realm] = [wh.transact(page_unit(realm, 1000 * p, 10, p)) for p in range(5)]

    threads = [threading.Thread(target=company, args=(c,)) for c in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(rows == [10] * 5 for rows in results.values())
    assert writer.units >= 80 and writer.transactions < writer.units  # pages were grouped
    assert writer.slices < writer.transactions or writer.slices < 80
    with wh.read() as con:
        per_realm = dict(
            con.execute("SELECT realm_id, count(*) FROM log_invoice GROUP BY 1").fetchall()
        )
        cursors = {r: store.get_checkpoint(con, r, "_backfill") for r in per_realm}
    assert per_realm == {f"r{c}": 50 for c in range(16)}
    assert all(cursor == {"page": 4} for cursor in cursors.values())


def test_a_failing_unit_fails_only_its_caller(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def good(c: int) -> None:
        barrier.wait()
        wh.transact(page_unit(f"ok{c}", 1, 3, 1))

    def bad(con: duckdb.DuckDBPyConnection) -> None:
        ingest.ingest_into(
            con,
            "bad",
            "Invoice",
            [invoice("9")],
            run_id=1,
            ingested_at=store.frames.utc_now(),
            source="test",
        )
        raise ValueError("broken page")

    def failing() -> None:
        barrier.wait()
        try:
            wh.transact(bad)
        except ValueError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=good, args=(c,)) for c in range(7)] + [
        threading.Thread(target=failing)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [str(e) for e in errors] == ["broken page"]
    with wh.read() as con:
        realms = {r for (r,) in con.execute("SELECT DISTINCT realm_id FROM log_invoice").fetchall()}
    assert realms == {
        f"ok{c}" for c in range(7)
    }  # the bad page's rows were rolled back, nobody else's


def test_a_waiting_reader_ends_the_slice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        writer_module, "MAX_HOLD_SECONDS", 3600.0
    )  # only a waiter can end a busy slice
    wh = Warehouse(tmp_path / "warehouse.duckdb", lock_timeout=20.0)
    wh.transact(page_unit("r", 1, 1, 0))
    stop = threading.Event()
    read_waits: list[float] = []

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            wh.transact(page_unit("r", 10 + n * 10, 5, n))

    writers = [threading.Thread(target=keep_writing) for _ in range(4)]
    held = writer_for(wh).hold()  # a sync run holds the slice: only a waiter can end it
    held.__enter__()
    for t in writers:
        t.start()
    try:
        for _ in range(5):
            started = time.monotonic()
            with wh.read() as con:
                con.execute("SELECT count(*) FROM log_invoice").fetchall()
            read_waits.append(time.monotonic() - started)
    finally:
        stop.set()
        for t in writers:
            t.join()
        held.__exit__(None, None, None)
    assert len(read_waits) == 5  # every read got in (else LockTimeout after 20 s)
    # The held slice would otherwise last the whole run: the reads ended it. A read that arrives
    # while the writer happens to be between slices needs no ending, so not every read counts.
    assert writer_for(wh).slices >= 2


def test_others_waiting_sees_a_queued_reader(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    wh.transact(page_unit("r", 1, 1, 0))
    with wh.write():
        assert not wh.others_waiting()
        reader = threading.Thread(target=lambda: wh.frame("SELECT 1"))
        reader.start()
        deadline = time.monotonic() + 10
        while not wh.others_waiting():
            assert time.monotonic() < deadline, "the queued reader was never seen"
            time.sleep(0.01)
    reader.join()
    assert not wh.others_waiting()


def test_unit_result_is_returned(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    assert wh.transact(page_unit("r", 1, 4, 1)) == 4
    assert wh.transact(page_unit("r", 1, 4, 1)) == 0  # versions already stored are skipped


def test_heavy_units_are_not_grouped_beyond_the_row_cap(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    writer = writer_for(wh)
    heavy = writer_module.MAX_ROWS_PER_TRANSACTION // 2 + 1  # two of them exceed the cap
    barrier = threading.Barrier(6)

    def company(c: int) -> None:
        barrier.wait()
        wh.transact(page_unit(f"r{c}", 1, 2, 1), weight=heavy)

    threads = [threading.Thread(target=company, args=(c,)) for c in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.units == 6 and writer.transactions == 6


def test_join_returns_once_the_slice_is_closed(tmp_path: Path) -> None:
    """``join`` (the benchmark's way to count the checkpoint) waits for the writer thread to
    end, which is after its slice closed the file: another connection may then open it."""
    wh = Warehouse(tmp_path / "warehouse.duckdb")
    writer = writer_for(wh)
    with writer.hold():  # the slice stays open while held, whatever the pace of the units
        assert writer.submit_async(page_unit("r", 1, 3, 1)).result() == 3
    writer.join(timeout=30)
    names = {t.name for t in threading.enumerate()}
    assert f"warehouse-writer:{wh.path.name}" not in names
    with duckdb.connect(str(wh.path)) as con:  # DuckDB's own file lock is free again
        assert con.execute("SELECT count(*) FROM log_invoice").fetchone() == (3,)
