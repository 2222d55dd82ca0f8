"""Full (or windowed) pull of every entity, resumable after a crash at any instant.

Windows on MetaData.LastUpdatedTime: ``>= lo AND <= hi`` with ``hi`` frozen at the start minus a
lag, ordered by LastUpdatedTime; the next page starts from the max timestamp seen (rows at that
timestamp come again and are dropped by the (realm, id, sync_token) dedupe), and offsets are used
only inside one identical timestamp (stepping back a little to survive rows leaving mid-scan).
Rows changing mid-scan leave the window with a timestamp > hi and are caught by the CDC pass that
follows. Each round's pages (one batch request for all entities) and the cursor pointing past them
commit in ONE DuckDB transaction (checkpoint '_backfill'), written with the rounds other
companies handed to the coalescing writer at the same time: one statement per entity. The next
round is fetched while this round is being written (its cursor follows from the pages alone); a
round is handed to the writer only once the previous one committed, so a failed write never lets
a later cursor pass rows that were not stored."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime, timedelta
from typing import Any

import duckdb

from sync import ingest, store
from sync.context import RunContext
from sync.pages import fetch_pages, window_statement
from sync.rawpages import Page
from sync.schema import BY_QBO_NAME, ENTITIES, parse_ts
from sync.writer import Deferred, writer_for

Doc = dict[str, Any]
BACKFILL_KEY = "_backfill"
CDC_KEY = "_cdc"
RECONCILE_KEY = "_reconcile"
RECONCILE_PENDING_KEY = "_reconcile_pending"  # an Id reconciliation is owed (survives a crash)
ALL_ENTITIES = [spec.qbo_name for spec in ENTITIES]


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def new_state(
    ctx: RunContext, since: datetime | None, entities: list[str] | None, cdc_after: datetime | None
) -> dict[str, Any]:
    hi = ctx.now() - timedelta(seconds=ctx.options.lag_seconds)
    return {
        "hi": _iso(hi),
        "since": _iso(since),
        "cdc_after": _iso(cdc_after or hi),  # the CDC checkpoint to set once every entity is done
        "entities": {
            name: {"lo": _iso(since), "offset": 0, "done": False}
            for name in (entities or ALL_ENTITIES)
        },
    }


def advance(
    cursor: dict[str, Any], page: Page, page_size: int, offset_overlap: int
) -> dict[str, Any]:
    """The cursor after one page (pure: from the page's count and LastUpdatedTime stamps)."""
    if len(page) < page_size:
        return {**cursor, "done": True}
    stamps = [parse_ts(s) for s in page.stamps]
    known = [s for s in stamps if s is not None]
    if not known:
        return {**cursor, "offset": cursor["offset"] + len(page)}
    lo, hi = min(known), max(known)
    current = _ts(cursor.get("lo"))
    if lo == hi:  # the whole page is one timestamp: offsets inside it
        step = max(1, len(page) - offset_overlap)
        if current == hi:
            offset = cursor["offset"] + step
        elif cursor["offset"] == 0:
            offset = (
                step  # the page began at the first row >= lo, so these are the first rows at hi
            )
        else:
            offset = 0  # rows left the window mid-scan: look at this timestamp again from its start
        return {**cursor, "lo": _iso(hi), "offset": offset}
    return {**cursor, "lo": _iso(hi), "offset": 0}


def _singleton(entity: str) -> bool:
    """One document per company (CompanyInfo, Preferences): pulled whole in one page."""
    spec = BY_QBO_NAME.get(entity)
    return spec is not None and spec.singleton


def _statement(ctx: RunContext, entity: str, cursor: dict[str, Any], hi: datetime) -> str:
    if _singleton(entity):
        return f"SELECT * FROM {entity}"
    return window_statement(
        entity,
        lo=_ts(cursor.get("lo")),
        hi=hi,
        offset=cursor["offset"],
        page_size=ctx.options.page_size,
    )


def mark_reconcile_pending(
    con: duckdb.DuckDBPyConnection,
    realm_id: str,
    entities: list[str] | None,
    *,
    run_id: int,
    at: datetime,
) -> None:
    """Inside a transaction: an Id reconciliation of ``entities`` (None: all) is owed. Merged
    with one already owed; cleared only by a reconciliation that covered it."""
    owed = store.get_checkpoint(con, realm_id, RECONCILE_PENDING_KEY)
    if owed is not None and (entities is None or owed.get("entities") is None):
        merged: list[str] | None = None
    elif owed is not None:
        merged = sorted(set(owed["entities"]) | set(entities or []))
    else:
        merged = sorted(entities) if entities is not None else None
    store.set_checkpoint(
        con, realm_id, RECONCILE_PENDING_KEY, {"entities": merged}, run_id=run_id, at=at
    )


def stored_state(ctx: RunContext) -> dict[str, Any] | None:
    return ctx.read(lambda con: store.get_checkpoint(con, ctx.realm_id, BACKFILL_KEY))


def run_backfill(
    ctx: RunContext,
    *,
    since: datetime | None = None,
    entities: list[str] | None = None,
    cdc_after: datetime | None = None,
    resume: dict[str, Any] | None = None,
) -> datetime:
    """Pull every entity (or the window from ``since``), or finish the stored pull ``resume``.
    On completion the CDC checkpoint becomes ``cdc_after`` (default: the frozen ``hi``), in the
    same transaction that drops the backfill cursor. Returns the window's frozen ``hi``."""
    state = resume or new_state(ctx, since, entities, cdc_after)
    hi = _ts(state["hi"])
    assert hi is not None
    writer = writer_for(ctx.warehouse)
    writing: Future[int] | None = None  # the previous round, being written while we fetch
    while True:
        pending = [name for name, cur in state["entities"].items() if not cur["done"]]
        if not pending:
            break
        statements = {name: _statement(ctx, name, state["entities"][name], hi) for name in pending}
        pages = fetch_pages(ctx, statements)
        new_state_ = {**state, "entities": dict(state["entities"])}
        for name in pending:
            cursor = state["entities"][name]
            if name == "CompanyInfo":
                new_state_["entities"][name] = {**cursor, "done": True}
            else:
                new_state_["entities"][name] = advance(
                    cursor, pages[name], ctx.options.page_size, ctx.options.offset_overlap
                )
        at = ctx.now()

        def write_round(
            con: duckdb.DuckDBPyConnection,
            pending: list[str] = pending,
            pages: dict[str, Page] = pages,
            cursor: dict[str, Any] = new_state_,
            at: datetime = at,
        ) -> Deferred[int]:
            # the pages join the other companies' rounds of the same transaction: one
            # statement per entity for all of them (ingest.ingest_pages)
            rows = ingest.ingest_pages(
                con,
                ctx.realm_id,
                [(name, pages[name]) for name in pending],
                run_id=ctx.run_id,
                ingested_at=at,
                source="backfill",
            )
            store.set_checkpoint(con, ctx.realm_id, BACKFILL_KEY, cursor, run_id=ctx.run_id, at=at)
            return rows

        if writing is not None:
            ctx.rows += writing.result()  # the previous round is durable before this one goes
        weight = sum(len(pages[name]) for name in pending)
        # the round's pages and their cursor: one transaction
        writing = writer.submit_gathered(write_round, weight=weight)
        state = new_state_
        ctx.beat()
    if writing is not None:
        ctx.rows += writing.result()
    finish_backfill(ctx, _ts(state.get("cdc_after")) or hi)
    return hi


def finish_backfill(ctx: RunContext, cdc_since: datetime) -> None:
    """Drop the backfill cursor and set the CDC checkpoint, atomically."""
    at = ctx.now()

    def finish(con: duckdb.DuckDBPyConnection) -> None:
        store.set_checkpoint(con, ctx.realm_id, BACKFILL_KEY, None, run_id=ctx.run_id, at=at)
        store.set_checkpoint(
            con, ctx.realm_id, CDC_KEY, {"since": cdc_since.isoformat()}, run_id=ctx.run_id, at=at
        )

    ctx.warehouse.transact(finish)
