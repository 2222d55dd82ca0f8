"""Opening a warehouse the current schema already made must not move its version: the readers'
caches and the console's saved views are keyed by it, and a restart would otherwise throw them
all away. A file made by an older schema (or a new file) does move it."""

from __future__ import annotations

from pathlib import Path

import duckdb

from sync import store


def new_process() -> None:
    store._ready_files.clear()  # what a fresh interpreter starts with


def test_a_restart_over_a_current_file_keeps_the_version(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    new_process()
    wh = store.Warehouse(path)
    with wh.read() as con:  # creates the file and its schema: a change readers must see
        con.execute("SELECT 1").fetchall()
    made = wh.version()
    assert made != "0"

    new_process()
    again = store.Warehouse(path)
    with again.read() as con:
        assert con.execute("SELECT count(*) FROM sync_runs").fetchall() == [(0,)]
    assert again.version() == made


def test_a_file_from_an_older_schema_is_upgraded_and_moves_the_version(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    new_process()
    wh = store.Warehouse(path)
    with wh.read():
        pass
    with duckdb.connect(str(path)) as con:  # as a file made before the last schema change
        con.execute("COMMENT ON TABLE sync_runs IS 'an older schema'")
    before = wh.version()

    new_process()
    with store.Warehouse(path).read() as con:
        comment = con.execute(
            "SELECT comment FROM duckdb_tables() WHERE table_name = 'sync_runs'"
        ).fetchall()[0][0]
    assert comment != "an older schema"
    assert store.Warehouse(path).version() != before
