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

from sync import store
from sync.backfill import RECONCILE_KEY
from sync.client import quote
from sync.context import RunContext
from sync.errors import PermanentError
from sync.pages import fetch_pages
from sync.schema import ENTITIES

Doc = dict[str, Any]
TRANSACTION_ENTITIES = [
    spec.qbo_name for spec in ENTITIES if not spec.is_list and spec.qbo_name != "CompanyInfo"
]
_no_projection: set[str] = set()  # API bases that refused "SELECT Id"


def _listing(ctx: RunContext, entity: str, offset: int) -> str:
    what = "*" if ctx.settings.api_base in _no_projection else "Id"
    return f"SELECT {what} FROM {entity} ORDERBY Id STARTPOSITION {offset + 1} MAXRESULTS {ctx.options.reconcile_page_size}"


def list_ids(ctx: RunContext, entities: list[str]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {e: set() for e in entities}
    offsets = {e: 0 for e in entities}
    pending = list(entities)
    while pending:
        try:
            pages = fetch_pages(ctx, {e: _listing(ctx, e, offsets[e]) for e in pending})
        except PermanentError as err:
            if err.code in ("4000", "4001") and ctx.settings.api_base not in _no_projection:
                _no_projection.add(ctx.settings.api_base)
                continue
            raise
        for entity in list(pending):
            rows = pages[entity]
            seen[entity].update(str(r["Id"]) for r in rows if "Id" in r)
            offsets[entity] += len(rows)
            if len(rows) < ctx.options.reconcile_page_size:
                pending.remove(entity)
        ctx.beat()
    return seen


def stored_ids(ctx: RunContext, entity: str) -> set[str]:
    spec = store.spec_for(entity)
    with ctx.warehouse.read() as con:
        rows = con.execute(
            f"SELECT id FROM {spec.current_view} WHERE realm_id = ?", [ctx.realm_id]
        ).fetchall()
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
            rows += store.ingest_into(
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
                rows += store.ingest_into(
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
                store.append_tombstones(
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
        store.set_checkpoint(
            con, ctx.realm_id, RECONCILE_KEY, {"at": started.isoformat()}, run_id=ctx.run_id, at=at
        )
        return rows, tombstones

    rows, result = ctx.warehouse.transact(
        write_outcome, weight=sum(len(alive[e]) + len(gone[e]) for e in entities)
    )
    ctx.rows += rows
    return result
