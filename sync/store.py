"""The store: DuckDB ``warehouse.duckdb`` shared between processes.

``Warehouse(path)`` hands out short-lived connections under a cross-process flock reader/writer
lock: ``read()`` gives a ``read_only=True`` connection under the shared lock, ``write()`` a
read-write one under the exclusive lock, opened and closed per slice (closing checkpoints the WAL),
so readers are never starved and DuckDB's own file lock is never contended — no lock error
reaches a caller; they wait (bounded). ``version()`` changes with every committed write.

The change log is append-only: ``ingest_into`` adds one row per new (realm, id, sync_token) with
an anti-join, so re-ingesting a version is a no-op; deleted stubs become tombstones."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from sync import frames
from sync.rawpages import Page
from sync.rwlock import FileRWLock
from sync.schema import BY_QBO_NAME, BY_TABLE, ENTITIES, EntitySpec
from sync.writer import Deferred, gatherer

if TYPE_CHECKING:  # a sync run needs neither Polars nor pandas: .pl() imports it on use
    import polars as pl

Doc = dict[str, Any]
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
            con = duckdb.connect(str(self.path))
            try:
                # the one writer types small pages: DuckDB's thread pool only adds CPU to them
                # (and the fetch threads want the cores); the file's instance ends with the slice
                con.execute("SET threads = 1")
                key = _file_key(self.path)
                if key not in _ready_files:
                    create_schema(con)
                    created = _file_key(self.path)  # the file exists now that DuckDB opened it
                    if created is not None:
                        _ready_files.add(created)
                yield con
            finally:
                con.close()
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


# ---- the log ----------------------------------------------------------------------------------
def ingest_into(
    con: duckdb.DuckDBPyConnection,
    realm_id: str,
    qbo_entity: str,
    docs: Iterable[Doc] | Page,
    *,
    run_id: int,
    ingested_at: datetime,
    source: str = "sync",
) -> int:
    """Append new versions (and tombstones for deleted stubs) inside the caller's transaction.
    ``docs``: parsed documents, or a query ``Page`` whose JSON texts DuckDB types directly, in
    one statement (``_EntityGroup``; a page holding deleted stubs, of an entity keyed by the
    store or with columns computed in Python takes the parsed path). A round's pages written
    with other companies' rounds: ``ingest_pages``.
    Returns the number of rows appended; versions already stored are skipped."""
    spec = spec_for(qbo_entity)
    if isinstance(docs, Page) and _gatherable(spec, docs):
        if not docs.count:
            return 0
        ticket = _Ticket()
        group = _EntityGroup(spec)
        group.add(_Part(realm_id, run_id, ingested_at, source, docs, ticket))
        group.write(con)
        return ticket.added
    listed = docs.docs() if isinstance(docs, Page) else docs
    keyed = [spec.keyed(d) for d in listed]  # ExchangeRate documents carry no Id
    live = [d for d in keyed if not frames.is_deleted_stub(d)]
    stubs = [d for d in keyed if frames.is_deleted_stub(d)]
    added = 0
    if live:
        added += _append_versions(
            con,
            spec,
            realm_id,
            live,
            dedupe_page=True,
            run_id=run_id,
            ingested_at=ingested_at,
            source=source,
        )
    if stubs:
        added += append_tombstones(
            con, spec, realm_id, stubs, run_id=run_id, ingested_at=ingested_at, source=source
        )
    return added


def ingest_pages(
    con: duckdb.DuckDBPyConnection,
    realm_id: str,
    pages: Iterable[tuple[str, Page]],
    *,
    run_id: int,
    ingested_at: datetime,
    source: str = "sync",
) -> Deferred[int]:
    """``ingest_into`` of a round's query pages (entity, page), written with the other units'
    pages of the same coalesced transaction: ONE statement per entity for all the companies'
    pages (``VersionGatherer``), since DuckDB's fixed cost per statement (5-9 ms) outweighs
    typing a page of 100 documents. Same rows, same dedupe, same transaction. Outside a
    coalescing writer's transaction, the pages are written at once (one statement per
    entity). Resolves to the number of rows appended (``CoalescingWriter.submit_gathered``)."""
    shared = gatherer(con, VersionGatherer)
    own = shared or VersionGatherer()
    ticket = _Ticket()
    for qbo_entity, page in pages:
        spec = spec_for(qbo_entity)
        if _gatherable(spec, page):
            if page.count:
                own.add(spec, _Part(realm_id, run_id, ingested_at, source, page, ticket))
        else:  # deleted stubs, keys of the store's own, columns computed in Python: at once
            ticket.added += ingest_into(
                con,
                realm_id,
                qbo_entity,
                page,
                run_id=run_id,
                ingested_at=ingested_at,
                source=source,
            )
    if shared is None:
        own.flush(con)
    return Deferred(lambda: ticket.added)


def _gatherable(spec: EntitySpec, page: Page) -> bool:
    """A query page DuckDB types from its texts alone, among other pages of the entity."""
    return (
        page.stubs == 0 and spec.natural_key is None and not frames.entity_plan(spec).python_columns
    )


@dataclass
class _Ticket:
    """What one ``ingest_pages`` call appended, known once its groups were written."""

    added: int = 0


@dataclass
class _Part:
    realm_id: str
    run_id: int
    ingested_at: datetime
    source: str
    page: Page
    ticket: _Ticket


@dataclass
class _EntityGroup:
    """Pages of one entity written in one statement. A company's pages in it all belong to one
    caller (its row count is then that caller's), so rows are counted per company."""

    spec: EntitySpec
    parts: list[_Part] = field(default_factory=list)
    owners: dict[str, _Ticket] = field(default_factory=dict)

    def takes(self, part: _Part) -> bool:
        return self.owners.get(part.realm_id, part.ticket) is part.ticket

    def add(self, part: _Part) -> None:
        self.parts.append(part)
        self.owners[part.realm_id] = part.ticket

    def _unique(self) -> bool:
        """No (company, Id, SyncToken) twice among the group's documents (from the client's
        scan: pages it did not scan are never unique)."""
        by_realm: dict[str, list[Page]] = {}
        for part in self.parts:
            if not part.page.unique:
                return False
            by_realm.setdefault(part.realm_id, []).append(part.page)
        for pages in by_realm.values():
            if len(pages) > 1:
                keys = [key for page in pages for key in page.keys]
                if len(set(keys)) != len(keys):
                    return False
        return True

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        """One statement: the pages typed by DuckDB (``frames.pages_select``), less the versions
        already stored (an anti-join on (company, id, sync_token) against the log restricted to
        the group's companies: as constants, they let DuckDB skip other companies' row groups
        by zonemap) and, when a version may come twice, only its last-updated copy. When the
        log holds no row of these companies yet (a first backfill's first round), a look-up
        that stops at the first row found says so and the anti-join, which could remove
        nothing, is left out (it costs ~1.5 ms a statement even against an empty log)."""
        spec = self.spec
        select, params = frames.pages_select(
            spec,
            [
                frames.PagePart(p.realm_id, p.run_id, p.ingested_at, p.source, p.page.texts)
                for p in self.parts
            ],
        )
        realms = {f"in{n}": realm for n, realm in enumerate(self.owners)}
        within = (
            ""
            if self._unique()
            else " QUALIFY row_number() OVER (PARTITION BY b.realm_id, b.id, b.sync_token "
            "ORDER BY b.source_updated_at DESC) = 1"
        )
        of_realms = (
            f"FROM {spec.log_table} WHERE realm_id IN ({', '.join('$' + k for k in realms)})"
        )
        known = ""
        if con.execute(f"SELECT 1 {of_realms} LIMIT 1", realms).fetchall():
            known = (
                f" ANTI JOIN (SELECT realm_id, id, sync_token {of_realms}) l "
                "USING (realm_id, id, sync_token)"
            )
            params.update(realms)
        sql = f"INSERT INTO {spec.log_table} BY NAME SELECT b.* FROM ({select}) b{known}{within}"
        if len(realms) == 1:
            self.parts[0].ticket.added += int(con.execute(sql, params).fetchall()[0][0])
            return
        added = Counter(r for (r,) in con.execute(sql + " RETURNING realm_id", params).fetchall())
        for realm, ticket in self.owners.items():
            ticket.added += added[realm]


class VersionGatherer:
    """The query pages of one coalesced transaction's units, by entity, written when the last
    unit ran (``sync.writer.Gatherer``): one statement per entity rather than per page."""

    def __init__(self) -> None:
        self._groups: list[_EntityGroup] = []
        self._open: dict[str, _EntityGroup] = {}

    def add(self, spec: EntitySpec, part: _Part) -> None:
        group = self._open.get(spec.qbo_name)
        if group is None or not group.takes(part):  # a company's pages of another caller
            group = self._open[spec.qbo_name] = _EntityGroup(spec)
            self._groups.append(group)
        group.add(part)

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        groups, self._groups, self._open = self._groups, [], {}
        for group in groups:
            group.write(con)


def _append_versions(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    realm_id: str,
    docs: list[Doc],
    *,
    dedupe_page: bool,
    run_id: int,
    ingested_at: datetime,
    source: str,
) -> int:
    """Parsed documents (query pages go through ``_EntityGroup.write``) in one statement: the
    page typed by DuckDB (``frames.versions_select``), less the versions
    already stored (an anti-join on (id, sync_token) within the company: the realm as a
    constant lets DuckDB skip other companies' row groups by zonemap) and, when the page may
    hold a version twice (``dedupe_page``), only its last-updated copy of each."""
    select, params = frames.versions_select(
        spec, realm_id, docs, ingested_at=ingested_at, run_id=run_id, source=source
    )
    within = (
        " QUALIFY row_number() OVER (PARTITION BY b.realm_id, b.id, b.sync_token "
        "ORDER BY b.source_updated_at DESC) = 1"
        if dedupe_page
        else ""
    )
    added = con.execute(
        f"INSERT INTO {spec.log_table} BY NAME SELECT b.* FROM ({select}) b "
        f"ANTI JOIN (SELECT id, sync_token FROM {spec.log_table} WHERE realm_id = $realm) l "
        f"USING (id, sync_token){within}",
        params,
    ).fetchall()[0][0]
    return int(added)


def append_tombstones(
    con: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    realm_id: str,
    stubs: list[Doc],
    *,
    run_id: int,
    ingested_at: datetime,
    source: str,
    deleted_at: datetime | None = None,
) -> int:
    """A tombstone (latest token + 1) for each stored document not already deleted."""
    frames.stage_tombstones(
        con,
        "_batch_stubs",
        spec,
        realm_id,
        stubs,
        ingested_at=ingested_at,
        run_id=run_id,
        deleted_at=deleted_at,
        source=source,
    )
    try:
        return int(
            con.execute(
                f"""INSERT INTO {spec.log_table} BY NAME
                SELECT b.* REPLACE (latest.sync_token + 1 AS sync_token)
                FROM (SELECT * FROM _batch_stubs QUALIFY row_number() OVER (
                          PARTITION BY realm_id, id ORDER BY source_updated_at DESC) = 1) b
                JOIN (SELECT realm_id, id, sync_token, op FROM {spec.log_table}
                      WHERE realm_id = ? AND id IN (SELECT id FROM _batch_stubs)
                      QUALIFY {LATEST}) latest
                  USING (realm_id, id)
                WHERE latest.op <> 'delete'""",
                [realm_id],
            ).fetchall()[0][0]
        )
    finally:
        frames.unstage(con, "_batch_stubs")


def ingest_documents(
    warehouse: Warehouse,
    realm_id: str,
    qbo_entity: str,
    docs: Iterable[Doc],
    *,
    run_id: int,
    source: str,
    ingested_at: datetime | None = None,
) -> int:
    """The one public way to append versions (sync, and the action executor after a write):
    one unit through ``Warehouse.transact``, the one write path (re-running it is harmless:
    versions already stored are skipped). Pass ``ingested_at=oodaloo.clock.now(settings)`` to
    stay on the product's clock; the system clock is used otherwise."""
    docs = list(docs)
    at = ingested_at or frames.utc_now()

    def unit(con: duckdb.DuckDBPyConnection) -> int:
        return ingest_into(
            con, realm_id, qbo_entity, docs, run_id=run_id, ingested_at=at, source=source
        )

    return warehouse.transact(unit, weight=max(1, len(docs)))


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


def last_success(warehouse: Warehouse, realm_ids: list[str] | None = None) -> dict[str, datetime]:
    with warehouse.read() as con:
        return last_success_in(con, realm_ids)


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
