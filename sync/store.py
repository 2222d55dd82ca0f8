"""The store: DuckDB ``warehouse.duckdb`` shared between processes.

``Warehouse(path)`` hands out short-lived connections under a cross-process flock reader/writer
lock: ``read()`` gives a ``read_only=True`` connection under the shared lock, ``write()`` a
read-write one under the exclusive lock, opened and closed per slice (closing checkpoints the WAL),
so readers are never starved and DuckDB's own file lock is never contended — no lock error
reaches a caller; they wait (bounded). ``version()`` changes with every committed write.

The change log is append-only; how versions enter it (once, deduplicated) is ``sync.ingest``.
This module defines the schema, the one reading of "latest version" (``LATEST``,
``latest_versions``), checkpoints, runs and the status of each company's sync."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from sync import frames, rawpages
from sync.rwlock import FileRWLock
from sync.schema import BY_QBO_NAME, BY_TABLE, ENTITIES, EntitySpec

if TYPE_CHECKING:  # a sync run needs neither Polars nor pandas: .pl() imports it on use
    import polars as pl

T = TypeVar("T")
DEFAULT_LOCK_TIMEOUT = 300.0
LATEST = (
    "row_number() OVER (PARTITION BY realm_id, id ORDER BY sync_token DESC, ingested_at DESC) = 1"
)

_META_TABLES = """
CREATE TABLE IF NOT EXISTS sync_runs (
    run_id BIGINT, realm_id VARCHAR, kind VARCHAR, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    requests BIGINT, rows BIGINT, outcome VARCHAR, error VARCHAR);
CREATE TABLE IF NOT EXISTS checkpoints (
    realm_id VARCHAR, entity VARCHAR, cursor VARCHAR, updated_at TIMESTAMPTZ, run_id BIGINT);
CREATE TABLE IF NOT EXISTS sync_status (
    realm_id VARCHAR, entity VARCHAR, last_success_at TIMESTAMPTZ, last_run_id BIGINT,
    last_kind VARCHAR);
"""


# sync_status also says how the last attempt went (a 403 must not read "Synced just now") and
# when a QuickBooks event (webhook) last brought data in ("updated 4 s ago"); row '*' per company.
_SYNC_HEALTH_COLUMNS = """
ALTER TABLE sync_status ADD COLUMN IF NOT EXISTS last_fault VARCHAR;
ALTER TABLE sync_status ADD COLUMN IF NOT EXISTS last_fault_kind VARCHAR;
ALTER TABLE sync_status ADD COLUMN IF NOT EXISTS last_fault_at TIMESTAMPTZ;
ALTER TABLE sync_status ADD COLUMN IF NOT EXISTS last_event_at TIMESTAMPTZ;
"""


def spec_for(name: str) -> EntitySpec:
    """An entity by QBO name ("BillPayment"), table ("bill_payment") or log/cur table name."""
    key = name.removeprefix("log_").removeprefix("cur_")
    spec = BY_QBO_NAME.get(key) or BY_TABLE.get(key)
    if spec is None:
        raise ValueError(f"unknown entity {name!r}: expected one of {sorted(BY_QBO_NAME)}")
    return spec


def _schema_fingerprint() -> str:
    """A digest of everything ``create_schema`` makes: it changes whenever schema.py does."""
    parts = [_META_TABLES, _SYNC_HEALTH_COLUMNS, LATEST]
    for spec in ENTITIES:
        parts.append(f"{spec.log_table} {spec.current_view} {frames.log_columns(spec)}")
    return "oodaloo-schema " + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def create_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """Create what is missing; add columns that schema.py gained since the file was made (the
    store is rebuildable, but a new column should not force a full re-pull). A file already
    made by this very schema (its fingerprint, kept as sync_runs' comment) is left as it is:
    one catalog lookup instead of ~20 ms of DDL checks in every process that opens it."""
    fingerprint = _schema_fingerprint()
    found = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE table_name = 'sync_runs' "
        "AND schema_name = 'main' AND database_name = current_database()"
    ).fetchall()
    if found and found[0][0] == fingerprint:
        return False
    con.execute(_META_TABLES)
    con.execute(_SYNC_HEALTH_COLUMNS)  # files made before sync recorded faults and events
    existing: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
    ).fetchall():
        existing.setdefault(table, set()).add(column)
    for spec in ENTITIES:
        columns = frames.log_columns(spec)
        if spec.log_table not in existing:
            cols = ", ".join(f'"{name}" {sql}' for name, sql in columns)
            con.execute(f"CREATE TABLE {spec.log_table} ({cols})")
        else:
            for name, sql in columns:
                if name not in existing[spec.log_table]:
                    con.execute(f'ALTER TABLE {spec.log_table} ADD COLUMN "{name}" {sql}')
        if (
            spec.current_view not in existing
            or spec.log_table not in existing
            or set(existing[spec.current_view]) != {n for n, _ in columns}
        ):
            con.execute(
                f"CREATE OR REPLACE VIEW {spec.current_view} AS SELECT * FROM "
                f"(SELECT * FROM {spec.log_table} QUALIFY {LATEST}) WHERE op = 'upsert'"
            )
    con.execute(f"COMMENT ON TABLE sync_runs IS '{fingerprint}'")
    return True


_ready_files: set[tuple[str, int]] = set()  # (path, inode) whose schema this process has checked


def _file_key(path: Path) -> tuple[str, int] | None:
    try:
        return (str(path.resolve()), path.stat().st_ino)
    except FileNotFoundError:
        return None


class Warehouse:
    """The one way to open ``warehouse.duckdb``."""

    def __init__(self, path: Path | str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._lock = FileRWLock(self.path.with_name(self.path.name + ".lock"))
        self._version_file = self.path.with_name(self.path.name + ".version")

    @property
    def _schema_ready(self) -> bool:
        return _file_key(self.path) in _ready_files

    def _ensure_schema(self) -> None:
        """Check (once per process) that the file holds the current schema. A file already made
        by it is left as it is and keeps its version: the readers' caches (and the console's
        saved views, keyed by that version) stay valid across a restart."""
        if self._schema_ready:
            return
        with self._lock.exclusive(self.lock_timeout):
            con = duckdb.connect(str(self.path))
            try:
                changed = create_schema(con)
            finally:
                con.close()
        key = _file_key(self.path)
        if key is not None:
            _ready_files.add(key)
        if changed:
            self._bump_version()

    @contextmanager
    def read(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection under the shared lock (waits, bounded, for a writer's slice)."""
        if not self._schema_ready:
            self._ensure_schema()
        with self._lock.shared(self.lock_timeout if timeout is None else timeout):
            con = duckdb.connect(str(self.path), read_only=True)
            try:
                yield con
            finally:
                con.close()

    @contextmanager
    def write(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection under the exclusive lock: the coalescing writer's primitive
        (one write slice). Product code writes through ``transact``, the one write path."""
        with self._lock.exclusive(self.lock_timeout if timeout is None else timeout):
            if _file_key(self.path) not in _ready_files:
                # on a connection of its own: the slice's instance may have other files attached
                # (``create_schema`` reads information_schema, which lists them all)
                fresh = duckdb.connect(str(self.path))
                try:
                    create_schema(fresh)
                finally:
                    fresh.close()
                created = _file_key(self.path)  # the file exists now that DuckDB opened it
                if created is not None:
                    _ready_files.add(created)
            # the file attached to the instance where the client's scans stage the pages, so the
            # writer types them where they are (``sync.rawpages``); detached (checkpointed) at
            # the slice's end
            con = rawpages.open_file(self.path)
            try:
                # the one writer types small pages: DuckDB's thread pool only adds CPU to them
                # (and the fetch threads want the cores)
                con.execute("SET threads = 1")
                yield con
            finally:
                rawpages.close_file(con)
                self._bump_version()

    def transact(self, unit: Callable[[duckdb.DuckDBPyConnection], T], *, weight: int = 1) -> T:
        """Run ``unit(con)`` in a committed write transaction, coalesced with other threads' units
        into shared write slices (see ``sync.writer``). ``unit`` must only use ``con`` (it may run
        twice if a unit it was grouped with fails) and must not open the warehouse itself.
        ``weight``: about the rows it writes (groups stay near ``MAX_ROWS_PER_TRANSACTION``)."""
        from sync.writer import writer_for

        result = writer_for(self).submit(unit, weight)
        self._bump_version()  # committed: readers' cache keys change now, not when the slice ends
        return result

    def others_waiting(self) -> bool:
        """Someone (a reader or another writer, in any process) waits for the lock."""
        return self._lock.others_waiting()

    def _bump_version(self) -> None:
        current = self._read_version()
        # one temporary file per thread: writers of several threads may bump at the same time
        tmp = self._version_file.with_name(
            f"{self._version_file.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        )
        tmp.write_text(str(current + 1))
        os.replace(tmp, self._version_file)

    def _read_version(self) -> int:
        try:
            return int(self._version_file.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def version(self) -> str:
        """Changes whenever a write slice ends (a cache key for readers)."""
        return str(self._read_version())

    # ---- convenience readers ---------------------------------------------------------------
    def frame(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        with self.read() as con:
            result: pl.DataFrame = con.sql(sql, params=params).pl() if params else con.sql(sql).pl()
            return result


# ---- checkpoints, runs, status -------------------------------------------------------------
def get_checkpoint(
    con: duckdb.DuckDBPyConnection, realm_id: str, entity: str
) -> dict[str, Any] | None:
    rows = con.execute(
        "SELECT cursor FROM checkpoints WHERE realm_id=? AND entity=?", [realm_id, entity]
    ).fetchall()
    cursor: dict[str, Any] | None = json.loads(rows[0][0]) if rows else None
    return cursor


def checkpoints_of(con: duckdb.DuckDBPyConnection, realm_id: str) -> dict[str, dict[str, Any]]:
    rows = con.execute(
        "SELECT entity, cursor FROM checkpoints WHERE realm_id=?", [realm_id]
    ).fetchall()
    return {entity: json.loads(cursor) for entity, cursor in rows}


def set_checkpoint(
    con: duckdb.DuckDBPyConnection,
    realm_id: str,
    entity: str,
    cursor: dict[str, Any] | None,
    *,
    run_id: int,
    at: datetime,
) -> None:
    """Inside the page's transaction: the cursor that points past the rows just written."""
    con.execute("DELETE FROM checkpoints WHERE realm_id=? AND entity=?", [realm_id, entity])
    if cursor is not None:
        con.execute(
            "INSERT INTO checkpoints VALUES (?,?,?,?,?)",
            [realm_id, entity, json.dumps(cursor, sort_keys=True), at, run_id],
        )


def start_run(warehouse: Warehouse, realm_id: str, kind: str, started_at: datetime) -> int:
    def start(con: duckdb.DuckDBPyConnection) -> int:
        run_id = int(
            con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM sync_runs").fetchall()[0][0]
        )
        # the caller holds the company's try-lock: a run still 'running' died with its process
        con.execute(
            "UPDATE sync_runs SET outcome='abandoned', finished_at=? "
            "WHERE realm_id=? AND outcome='running'",
            [started_at, realm_id],
        )
        con.execute(
            "INSERT INTO sync_runs(run_id, realm_id, kind, started_at, outcome) "
            "VALUES (?,?,?,?, 'running')",
            [run_id, realm_id, kind, started_at],
        )
        return run_id

    return warehouse.transact(start)


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    *,
    finished_at: datetime,
    requests: int,
    rows: int,
    outcome: str,
    error: str | None = None,
) -> None:
    con.execute(
        "UPDATE sync_runs SET finished_at=?, requests=?, rows=?, outcome=?, error=? WHERE run_id=?",
        [finished_at, requests, rows, outcome, error, run_id],
    )


def mark_success(
    con: duckdb.DuckDBPyConnection,
    realm_id: str,
    entities: Iterable[str],
    *,
    at: datetime,
    run_id: int,
    kind: str,
) -> None:
    """Per entity and for the company as a whole ('*'): the last successful sync."""
    names = list(dict.fromkeys([*entities, "*"]))  # two statements, however many entities
    con.execute(
        "DELETE FROM sync_status WHERE realm_id=? AND list_contains(?, entity)", [realm_id, names]
    )
    con.execute(
        "INSERT INTO sync_status (realm_id, entity, last_success_at, last_run_id, last_kind) "
        "SELECT ?, unnest(?), ?, ?, ?",
        [realm_id, names, at, run_id, kind],
    )


def last_success_in(
    con: duckdb.DuckDBPyConnection,
    realm_ids: Sequence[str] | None = None,
    at: datetime | None = None,
) -> dict[str, datetime]:
    """When each company last synced successfully (inside the caller's read): now, from
    ``sync_status``; as of ``at``, the last run that finished ``ok`` by then (``sync_runs``)."""
    if at is None:
        sql = (
            "SELECT realm_id, epoch_us(last_success_at) FROM sync_status WHERE entity='*' "
            "AND last_success_at IS NOT NULL"  # a company that only ever failed has no success
        )
        params: list[Any] = []
    else:
        sql = (
            "SELECT realm_id, epoch_us(max(finished_at)) FROM sync_runs "
            "WHERE outcome = 'ok' AND finished_at <= ? GROUP BY realm_id"
        )
        params = [at]
    rows = con.execute(sql, params).fetchall()
    wanted = None if realm_ids is None else set(realm_ids)
    return {
        r: from_epoch_us(us) for r, us in rows if us is not None and (wanted is None or r in wanted)
    }


def record_fault(
    con: duckdb.DuckDBPyConnection, realm_id: str, kind: str, text: str, *, at: datetime
) -> None:
    """The company's last attempt failed (a 403, a quota, an unreachable QBO...): kept next to
    its last success so the badge and ``oodaloo status`` say so instead of "Synced just now"."""
    con.execute(
        "INSERT INTO sync_status (realm_id, entity) SELECT ?, '*' WHERE NOT EXISTS "
        "(SELECT 1 FROM sync_status WHERE realm_id = ? AND entity = '*')",
        [realm_id, realm_id],
    )
    con.execute(
        "UPDATE sync_status SET last_fault=?, last_fault_kind=?, last_fault_at=? "
        "WHERE realm_id=? AND entity='*'",
        [text, kind, at, realm_id],
    )


def record_event(con: duckdb.DuckDBPyConnection, realm_id: str, *, at: datetime) -> None:
    """The company's data was just brought in because QuickBooks told us of a change."""
    con.execute(
        "UPDATE sync_status SET last_event_at=? WHERE realm_id=? AND entity='*'", [at, realm_id]
    )


def sync_health(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """Per company: last success, its kind, the last fault (kind, text, time) and the last
    event-driven refresh, from sync_status row '*' (times as aware datetimes or None)."""
    with warehouse.read() as con:
        rows = con.execute(
            "SELECT realm_id, epoch_us(last_success_at), last_kind, last_fault, last_fault_kind, "
            "epoch_us(last_fault_at), epoch_us(last_event_at) FROM sync_status WHERE entity='*'"
        ).fetchall()

    def ts(us: int | None) -> datetime | None:
        return from_epoch_us(us) if us is not None else None

    return {
        realm: {
            "last_success_at": ts(ok),
            "last_kind": kind,
            "last_fault": fault,
            "last_fault_kind": fault_kind,
            "last_fault_at": ts(fault_at),
            "last_event_at": ts(event_at),
        }
        for realm, ok, kind, fault, fault_kind, fault_at, event_at in rows
    }


def from_epoch_us(us: int) -> datetime:
    """TIMESTAMPTZ read as epoch microseconds (fetchall of TIMESTAMPTZ would need pytz)."""
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


# ---- reads for runway --------------------------------------------------------------------------
BASIS_COLUMNS = {"source": "source_updated_at", "ingest": "ingested_at"}


def latest_versions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    columns: Sequence[str] | None = None,
    realm_ids: Sequence[str] | None = None,
    at: datetime | None = None,
    basis: str = "source",
) -> pl.DataFrame:
    """The latest stored version of every document of ``table`` (``LATEST``: highest SyncToken,
    then last ingested), tombstones included (``op = 'delete'``) — the one reading of "latest"
    that the ``cur_`` views, ``as_of_query`` and the snapshots share. With ``at``: among the
    versions QBO had written by then (basis "source") or we had stored by then ("ingest")."""
    if basis not in BASIS_COLUMNS:
        raise ValueError(f"basis must be 'source' or 'ingest', not {basis!r}")
    if at is not None and at.tzinfo is None:
        raise ValueError("as-of time must be timezone-aware")
    spec = spec_for(table)
    select = "*" if columns is None else ", ".join(f'"{name}"' for name in columns)
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if realm_ids is not None:
        where.append("list_contains(?, realm_id)")
        params.append(list(realm_ids))
    if at is not None:
        where.append(f"{BASIS_COLUMNS[basis]} <= ?")
        params.append(at)
    sql = f"SELECT {select} FROM {spec.log_table} WHERE {' AND '.join(where)} QUALIFY {LATEST}"
    result: pl.DataFrame = con.sql(sql, params=params).pl()
    return result


def as_of_query(
    table: str, at: datetime, basis: str = "source", realm_ids: list[str] | None = None
) -> tuple[str, list[Any]]:
    """SQL + params for the documents of ``table`` as they were at ``at``:
    basis "source" = what QBO said at T (MetaData.LastUpdatedTime <= T);
    basis "ingest" = what we knew at T (stored at or before T). Deleted documents are left out."""
    if basis not in BASIS_COLUMNS:
        raise ValueError(f"basis must be 'source' or 'ingest', not {basis!r}")
    if at.tzinfo is None:
        raise ValueError("as-of time must be timezone-aware")
    spec = spec_for(table)
    params: list[Any] = [at]
    where = f"{BASIS_COLUMNS[basis]} <= ?"
    if realm_ids is not None:
        where += f" AND realm_id IN ({', '.join('?' for _ in realm_ids) or 'NULL'})"
        params.extend(realm_ids)
    sql = (
        f"SELECT * FROM (SELECT * FROM {spec.log_table} WHERE {where} QUALIFY {LATEST}) "
        "WHERE op = 'upsert'"
    )
    return sql, params


def as_of_frame(
    warehouse: Warehouse,
    table: str,
    at: datetime,
    basis: str = "source",
    realm_ids: list[str] | None = None,
) -> pl.DataFrame:
    sql, params = as_of_query(table, at, basis, realm_ids)
    return warehouse.frame(sql + " ORDER BY realm_id, id", params)


def current_frame(
    warehouse: Warehouse, table: str, realm_ids: list[str] | None = None
) -> pl.DataFrame:
    spec = spec_for(table)
    if realm_ids is None:
        return warehouse.frame(f"SELECT * FROM {spec.current_view} ORDER BY realm_id, id")
    marks = ", ".join("?" for _ in realm_ids) or "NULL"
    return warehouse.frame(
        f"SELECT * FROM {spec.current_view} WHERE realm_id IN ({marks}) ORDER BY realm_id, id",
        list(realm_ids),
    )


def warehouse_for(settings: Any) -> Warehouse:
    """The Warehouse at ``settings.warehouse_path``."""
    return Warehouse(settings.warehouse_path)
