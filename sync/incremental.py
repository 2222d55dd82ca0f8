"""Incremental sync with Change Data Capture from the stored checkpoint.

CDC is asked from the checkpoint minus a small overlap (re-seen versions are dropped by the
dedupe). An answer holding ``cdc_max_objects`` objects is treated as incomplete: the entity list
is split and asked again; a single entity that still fills an answer is pulled with a windowed
query instead and its deletions are found by an Id reconciliation. The changes and the new
checkpoint commit in one transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from sync import ingest, store
from sync.backfill import CDC_KEY, mark_reconcile_pending, run_backfill
from sync.client import cdc_changes
from sync.context import RunContext, server_time
from sync.schema import BY_QBO_NAME, ENTITIES

Doc = dict[str, Any]
CDC_ENTITIES = [spec.qbo_name for spec in ENTITIES if spec.in_cdc]
# QBO's CDC does not carry them (ExchangeRate): a windowed query once a day instead
REFRESHED_ENTITIES = [spec.qbo_name for spec in ENTITIES if not spec.in_cdc and not spec.singleton]
REFRESH_KEY = "_refresh"
REFRESH_EVERY = timedelta(days=1)


def cdc_checkpoint(ctx: RunContext) -> datetime | None:
    cursor = ctx.read(lambda con: store.get_checkpoint(con, ctx.realm_id, CDC_KEY))
    return datetime.fromisoformat(cursor["since"]) if cursor else None


def run_cdc(ctx: RunContext, since: datetime) -> list[str]:
    """One CDC pass; returns the entities whose answers saturated (they need an Id
    reconciliation)."""
    changed_since = since - timedelta(seconds=ctx.options.overlap_seconds)
    groups: list[list[str]] = [list(CDC_ENTITIES)]
    collected: dict[str, list[Doc]] = {}
    saturated: list[str] = []
    asked_at: datetime | None = None
    while groups:
        group = groups.pop()
        body = ctx.client.cdc(ctx.realm_id, group, changed_since, lane="sync")
        moment = server_time(body, ctx.now())
        asked_at = moment if asked_at is None else min(asked_at, moment)
        changes = cdc_changes(body)
        for entity, docs in changes.items():
            collected.setdefault(entity, []).extend(docs)
        if sum(len(docs) for docs in changes.values()) >= ctx.options.cdc_max_objects:
            if len(group) > 1:
                half = len(group) // 2
                groups += [group[:half], group[half:]]
            else:
                saturated.append(group[0])
        ctx.beat()
    assert asked_at is not None
    new_since = asked_at
    for entity in saturated:
        # keep the CDC checkpoint where it was until this windowed pull has finished
        hi = run_backfill(ctx, since=changed_since, entities=[entity], cdc_after=since)
        new_since = min(new_since, hi)
    refreshed_at = _refresh_outside_cdc(ctx, since)
    at = ctx.now()
    owed = [e for e in saturated if not store.spec_for(e).is_list]

    def write_changes(con: duckdb.DuckDBPyConnection) -> int:
        rows = sum(
            ingest.ingest_into(
                con, ctx.realm_id, entity, docs, run_id=ctx.run_id, ingested_at=at, source="cdc"
            )
            for entity, docs in collected.items()
            if entity in BY_QBO_NAME
        )
        store.set_checkpoint(
            con, ctx.realm_id, CDC_KEY, {"since": new_since.isoformat()}, run_id=ctx.run_id, at=at
        )
        if owed:  # deletions CDC could not report: the Id reconciliation is owed from now on
            mark_reconcile_pending(con, ctx.realm_id, owed, run_id=ctx.run_id, at=at)
        if refreshed_at is not None:
            store.set_checkpoint(
                con,
                ctx.realm_id,
                REFRESH_KEY,
                {"at": refreshed_at.isoformat()},
                run_id=ctx.run_id,
                at=at,
            )
        return rows

    weight = sum(len(docs) for docs in collected.values())
    ctx.rows += ctx.warehouse.transact(
        write_changes, weight=weight
    )  # the changes and the new checkpoint together
    return saturated


def _refresh_outside_cdc(ctx: RunContext, since: datetime) -> datetime | None:
    """Pull what changed since the last refresh of the entities CDC does not carry, at most once
    a day (a request of its own). Returns the new refresh mark, or None to keep the stored one.
    A store without a mark was just backfilled up to ``since``: the mark starts there."""
    if not REFRESHED_ENTITIES:
        return None
    mark = ctx.read(lambda con: store.get_checkpoint(con, ctx.realm_id, REFRESH_KEY))
    last = datetime.fromisoformat(mark["at"]) if mark else None
    if last is None:
        return since
    if ctx.now() - last < REFRESH_EVERY:
        return None
    lo = last - timedelta(seconds=ctx.options.overlap_seconds)
    return run_backfill(ctx, since=lo, entities=list(REFRESHED_ENTITIES), cdc_after=since)
