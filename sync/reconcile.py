"""Full Id reconciliation: find documents hard-deleted in QBO that CDC can no longer report.

Every Id of each transaction entity is listed (``SELECT Id`` where the server allows a
projection, else ``SELECT *``; 1000-row pages, packed into batch requests, every one counted
like any other request), compared with our current Ids, and each Id we hold that was not
listed is checked once more with ``Id IN (...)`` before it is tombstoned — so a row shifted out
of an offset page while the listing ran is never deleted by mistake. Runs when CDC saturated, when
the checkpoint is older than the CDC window, and weekly."""

from __future__ import annotations

from typing import Any

import duckdb

from sync import ingest, store
from sync.backfill import RECONCILE_KEY, RECONCILE_PENDING_KEY
from sync.client import quote
from sync.context import RunContext
from sync.errors import PermanentError
from sync.pages import fetch_pages
from sync.schema import ENTITIES

Doc = dict[str, Any]
TRANSACTION_ENTITIES = [
    spec.qbo_name
    for spec in ENTITIES
    if not spec.is_list and not spec.singleton and spec.natural_key is None
]  # ExchangeRate has no Id to list: its rows are rates by date, refreshed, never deleted


def _listing(entity: str, offset: int, page_size: int, projection: bool) -> str:
    what = "Id" if projection else "*"
    return (
        f"SELECT {what} FROM {entity} ORDERBY Id STARTPOSITION {offset + 1} MAXRESULTS {page_size}"
    )


def list_ids(ctx: RunContext, entities: list[str]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {e: set() for e in entities}
    offsets = {e: 0 for e in entities}
    pending = list(entities)
    size = ctx.options.reconcile_page_size
    while pending:
        projection = not ctx.client.refuses(ctx.realm_id, "projection")
        try:
            pages = fetch_pages(
                ctx, {e: _listing(e, offsets[e], size, projection) for e in pending}
            )
        except PermanentError as err:
            # judged by what THIS request sent, not by a flag another thread may have set
            if err.code in ("4000", "4001") and projection:
                ctx.client.mark_refused(ctx.realm_id, "projection")
                continue
            raise
        for entity in list(pending):
            page = pages[entity]
            seen[entity].update(str(r["Id"]) for r in page.docs() if "Id" in r)
            offsets[entity] += len(page)
            if len(page) < size:
                pending.remove(entity)
        ctx.beat()
    return seen


def stored_ids(ctx: RunContext, entity: str) -> set[str]:
    spec = store.spec_for(entity)
    rows = ctx.read(
        lambda con: con.execute(
            f"SELECT id FROM {spec.current_view} WHERE realm_id = ?", [ctx.realm_id]
        ).fetchall()
    )
    return {r[0] for r in rows}


def run_reconcile(ctx: RunContext, entities: list[str] | None = None) -> dict[str, int]:
    """Tombstone what QBO no longer has; returns the number of tombstones per entity."""
    full = entities is None
    entities = entities or TRANSACTION_ENTITIES
    started = ctx.now()
    info = (
        [ctx.client.company_info(ctx.realm_id, lane="sync")] if full else []
    )  # CDC does not carry CompanyInfo
    seen = list_ids(ctx, entities)
    alive: dict[str, list[Doc]] = {}
    gone: dict[str, list[str]] = {}
    for entity in entities:
        missing = sorted(stored_ids(ctx, entity) - seen[entity])
        found: list[Doc] = []
        for start in range(0, len(missing), ctx.options.verify_chunk):
            chunk = missing[start : start + ctx.options.verify_chunk]
            ids = ", ".join(quote(i) for i in chunk)
            found += ctx.client.query(
                ctx.realm_id,
                f"SELECT * FROM {entity} WHERE Id IN ({ids}) MAXRESULTS 1000",
                lane="sync",
            )
        found_ids = {str(d["Id"]) for d in found}
        alive[entity] = found
        gone[entity] = [i for i in missing if i not in found_ids]
    at = ctx.now()

    def write_outcome(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, int]]:
        rows, tombstones = 0, {}
        if info:
            rows += ingest.ingest_into(
                con,
                ctx.realm_id,
                "CompanyInfo",
                info,
                run_id=ctx.run_id,
                ingested_at=at,
                source="reconcile",
            )
        for entity in entities:
            if alive[entity]:
                rows += ingest.ingest_into(
                    con,
                    ctx.realm_id,
                    entity,
                    alive[entity],
                    run_id=ctx.run_id,
                    ingested_at=at,
                    source="reconcile",
                )
            stubs = [{"Id": i} for i in gone[entity]]
            n = (
                ingest.append_tombstones(
                    con,
                    store.spec_for(entity),
                    ctx.realm_id,
                    stubs,
                    run_id=ctx.run_id,
                    ingested_at=at,
                    source="reconcile",
                    deleted_at=at,
                )
                if stubs
                else 0
            )
            rows += n
            tombstones[entity] = n
        if full:
            store.set_checkpoint(
                con,
                ctx.realm_id,
                RECONCILE_KEY,
                {"at": started.isoformat()},
                run_id=ctx.run_id,
                at=at,
            )
        _settle_owed(con, ctx, None if full else entities, at)
        return rows, tombstones

    rows, result = ctx.warehouse.transact(
        write_outcome, weight=sum(len(alive[e]) + len(gone[e]) for e in entities)
    )
    ctx.rows += rows
    return result


def _settle_owed(
    con: duckdb.DuckDBPyConnection, ctx: RunContext, covered: list[str] | None, at: Any
) -> None:
    """In the reconciliation's own transaction: drop what it covered from the owed marker (a
    full reconciliation covers everything; a partial one only its entities)."""
    owed = store.get_checkpoint(con, ctx.realm_id, RECONCILE_PENDING_KEY)
    if owed is None:
        return
    if covered is None:
        left: list[str] | None = []
    elif owed.get("entities") is None:
        return  # everything is owed: a partial reconciliation does not settle it
    else:
        left = [e for e in owed["entities"] if e not in covered]
    store.set_checkpoint(
        con,
        ctx.realm_id,
        RECONCILE_PENDING_KEY,
        {"entities": left} if left else None,
        run_id=ctx.run_id,
        at=at,
    )
