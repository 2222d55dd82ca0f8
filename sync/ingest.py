"""How versions enter the append-only change log: once, deduplicated.

Split from ``sync.store`` (which opens the warehouse and reads it) because writing is a concept
of its own: every version QuickBooks hands us — a query page typed by DuckDB from its JSON texts,
parsed documents, deleted stubs — is appended here and nowhere else, one row per new (realm, id,
sync_token) with an anti-join against the log, so re-ingesting a version is a no-op and a
deleted stub becomes a tombstone. ``ingest_into`` writes inside the caller's transaction (a unit
of ``Warehouse.transact``); ``ingest_pages`` gathers a round's pages with the other units' of the
same coalesced transaction (``VersionGatherer``: one statement per entity, not per page);
``ingest_documents`` is the one public way in, a unit of its own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from sync import frames, rawpages
from sync.rawpages import Page
from sync.schema import EntitySpec
from sync.store import LATEST, Warehouse, spec_for
from sync.writer import Deferred, gatherer

Doc = dict[str, Any]


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

    def realms(self, prefix: str = "in") -> dict[str, str]:
        """The group's companies as named parameters (``prefix`` + n)."""
        return {f"{prefix}{n}": realm for n, realm in enumerate(self.owners)}

    def of_realms(self, realms: dict[str, str]) -> str:
        """The log's rows of the group's companies (``realms``: its parameters)."""
        return (
            f"FROM {self.spec.log_table} WHERE realm_id IN ({', '.join('$' + k for k in realms)})"
        )

    def write(self, con: duckdb.DuckDBPyConnection, stored: bool | None = None) -> None:
        """One statement: the pages typed by DuckDB (``frames.pages_select``), less the versions
        already stored (an anti-join on (company, id, sync_token) against the log restricted to
        the group's companies: as constants, they let DuckDB skip other companies' row groups
        by zonemap) and, when a version may come twice, only its last-updated copy. When the
        log holds no row of these companies yet (a first backfill's first round: ``stored``
        False, or a look-up that stops at the first row found when ``stored`` is None), the
        anti-join, which could remove nothing, is left out (it costs ~1.5 ms a statement even
        against an empty log)."""
        spec = self.spec
        # the pages read where the client's scan staged them when ``con`` is of that DuckDB
        # instance (the coalescing writer's): their texts never pass through Python
        sources = [p.page.source() for p in self.parts] if rawpages.reads_stages(con) else []
        staged = bool(sources) and None not in sources
        select, params = frames.pages_select(
            spec,
            [
                frames.PagePart(
                    p.realm_id,
                    p.run_id,
                    p.ingested_at,
                    p.source,
                    [] if staged else p.page.texts,
                    staged=source if staged else None,
                )
                for p, source in zip(self.parts, sources or [None] * len(self.parts), strict=True)
            ],
        )
        realms = self.realms()
        within = (
            ""
            if self._unique()
            else " QUALIFY row_number() OVER (PARTITION BY b.realm_id, b.id, b.sync_token "
            "ORDER BY b.source_updated_at DESC) = 1"
        )
        of_realms = self.of_realms(realms)
        if stored is None:
            stored = bool(con.execute(f"SELECT 1 {of_realms} LIMIT 1", realms).fetchall())
        known = ""
        if stored:
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
        """Write the groups in order. Whether the log already holds rows of a group's
        companies is asked once for all the first groups of their entity (one statement, not
        one per group: ~0.5 ms each); a later group of an entity asks on its own, after the
        earlier one wrote."""
        groups, self._groups, self._open = self._groups, [], {}
        first: dict[str, int] = {}
        for n, group in enumerate(groups):
            first.setdefault(group.spec.log_table, n)
        stored = _stored(con, {n: groups[n] for n in first.values()})
        for n, group in enumerate(groups):
            group.write(con, (n in stored) if first[group.spec.log_table] == n else None)


def _stored(con: duckdb.DuckDBPyConnection, groups: dict[int, _EntityGroup]) -> set[int]:
    """Which of ``groups`` (by number) have companies with rows in their log already."""
    if not groups:
        return set()
    asks, params = [], {}
    for n, group in groups.items():
        realms = group.realms(f"g{n}_")
        params.update(realms)
        asks.append(f"SELECT {n} AS n WHERE EXISTS (SELECT 1 {group.of_realms(realms)})")
    return {n for (n,) in con.execute(" UNION ALL ".join(asks), params).fetchall()}


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
