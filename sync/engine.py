"""Sync of one company (``sync_company``) and of many at once (``sync_all``).

Kinds: "incremental" (CDC from the checkpoint; a first sync, or a checkpoint older than the CDC
window, pulls by windows instead and then reconciles Ids), "full" (backfill then CDC catch-up),
"reconcile" (incremental, then the full Id reconciliation). A crashed pull is resumed first.
Never two syncs of one company at once, across processes (a diskcache try-lock)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from oodaloo.config import Settings
from sync import connections, store
from sync.backfill import (
    RECONCILE_KEY,
    RECONCILE_PENDING_KEY,
    mark_reconcile_pending,
    run_backfill,
    stored_state,
)
from sync.client import QBOClient
from sync.context import RunClock, RunContext, SyncOptions
from sync.errors import QBOError, QuotaExceeded, ReauthRequired, TransientError
from sync.incremental import cdc_checkpoint, run_cdc
from sync.locks import try_lock
from sync.reconcile import TRANSACTION_ENTITIES, run_reconcile
from sync.schema import ENTITIES
from sync.writer import writer_for

log = logging.getLogger(__name__)
KINDS = ("incremental", "full", "reconcile")


@dataclass
class SyncResult:
    realm_id: str
    kind: str
    outcome: str  # ok | skipped | error | reconnect_needed | unreachable | quota
    run_id: int | None = None
    requests: int = 0
    rows: int = 0
    error: str | None = None
    steps: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _reconcile_due(ctx: RunContext) -> bool | list[str]:
    """True (everything), a list of entities (a partial reconciliation left pending), or False."""

    def look(con: duckdb.DuckDBPyConnection) -> tuple[Any, Any]:
        return (
            store.get_checkpoint(con, ctx.realm_id, RECONCILE_PENDING_KEY),
            store.get_checkpoint(con, ctx.realm_id, RECONCILE_KEY),
        )

    pending, last = ctx.read(look)
    if pending is not None:  # an earlier run needed it and did not finish it
        return pending.get("entities") or True
    if last is None:
        return False  # a first backfill is as good as a reconciliation
    return ctx.now() - datetime.fromisoformat(last["at"]) > timedelta(
        days=ctx.options.reconcile_every_days
    )


def _require_reconcile(ctx: RunContext, entities: list[str] | None = None) -> None:
    """Record, durably and BEFORE the work that needs it, that an Id reconciliation is owed: a
    run killed before the reconciliation leaves the marker, and the next run reconciles."""
    at = ctx.now()
    ctx.warehouse.transact(
        lambda con: mark_reconcile_pending(con, ctx.realm_id, entities, run_id=ctx.run_id, at=at)
    )


def _run(ctx: RunContext, kind: str) -> list[str]:
    steps: list[str] = []
    window = timedelta(days=ctx.options.cdc_window_days)
    resume = stored_state(ctx)
    if resume is not None:
        steps.append("resume-backfill")
        run_backfill(ctx, resume=resume)
    since = cdc_checkpoint(ctx)
    reconcile = kind == "reconcile"
    pulled = kind == "full" or since is None or ctx.now() - since > window
    if kind == "full" or since is None:
        steps.append("backfill")
        if since is not None:  # a re-pull of a store we already had: deletions need the Id check
            _require_reconcile(ctx)
            reconcile = True
        run_backfill(ctx)
        if not reconcile:
            at = ctx.now()
            ctx.warehouse.transact(  # a first full pull into an empty store is a reconciliation
                lambda con: store.set_checkpoint(
                    con,
                    ctx.realm_id,
                    RECONCILE_KEY,
                    {"at": at.isoformat()},
                    run_id=ctx.run_id,
                    at=at,
                )
            )
    elif ctx.now() - since > window:
        steps.append("window-repull")
        _require_reconcile(ctx)
        run_backfill(ctx, since=since - timedelta(seconds=ctx.options.overlap_seconds))
        reconcile = True
    if pulled:  # a pull moved the CDC checkpoint; otherwise the one read above still holds
        since = cdc_checkpoint(ctx)
    assert since is not None
    steps.append("cdc")
    saturated = run_cdc(ctx, since)
    due = True if reconcile else _reconcile_due(ctx)
    if due is True:
        steps.append("reconcile")
        run_reconcile(ctx)
    elif due or saturated:  # owed by this CDC pass, or left owed by a run that died
        steps.append("reconcile-saturated" if saturated else "reconcile-pending")
        owed = set(due or []) | {e for e in saturated if e in TRANSACTION_ENTITIES}
        run_reconcile(ctx, sorted(owed) or None)
    return steps


def sync_company(
    settings: Settings,
    realm_id: str,
    kind: str = "incremental",
    *,
    client: QBOClient | None = None,
    warehouse: store.Warehouse | None = None,
    options: SyncOptions | None = None,
    event_at: datetime | None = None,
) -> SyncResult:
    """Sync one company. QBO faults end up in the result, in the company's last_error and in
    sync_status (so the badge shows them). ``event_at``: this run answers a QuickBooks event
    (webhook) received then; a success is recorded as event-driven."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    company = connections.get_company(settings, realm_id)
    if company is not None and company.state == connections.RECONNECT_NEEDED:
        return SyncResult(realm_id, kind, "reconnect_needed", error=company.last_error)
    with try_lock(settings, f"sync:{realm_id}") as lock:
        if lock is None:
            return SyncResult(
                realm_id, kind, "skipped", error="a sync of this company is already running"
            )
        own_client = client is None
        client = client or QBOClient(settings)
        warehouse = warehouse or store.warehouse_for(settings)
        with writer_for(warehouse).hold():  # one connection, one checkpoint for the whole run
            result = _sync_locked(
                settings, realm_id, kind, client, warehouse, options, lock.refresh, event_at
            )
        if own_client:
            client.close()
        return result


def _sync_locked(
    settings: Settings,
    realm_id: str,
    kind: str,
    client: QBOClient,
    warehouse: store.Warehouse,
    options: SyncOptions | None,
    heartbeat: Any,
    event_at: datetime | None,
) -> SyncResult:
    clock = RunClock(settings)  # the clock is asked once per run
    run_id = store.start_run(warehouse, realm_id, kind, clock.now())
    ctx = RunContext(
        settings,
        realm_id,
        client,
        warehouse,
        run_id,
        clock,
        options or SyncOptions.from_settings(settings),
        heartbeat=heartbeat,
    )
    before = client.requests_for(realm_id)
    outcome, error, steps = "ok", None, []
    try:
        steps = _run(ctx, kind)
    except ReauthRequired as exc:
        outcome, error = "reconnect_needed", str(exc)
    except TransientError as exc:
        outcome, error = "unreachable", str(exc)
    except QuotaExceeded as exc:  # resumes from the stored checkpoints tomorrow
        outcome, error = "quota", str(exc)
    except QBOError as exc:
        outcome, error = "error", fault_text(exc)
    except BaseException as exc:
        outcome, error = "error", f"{type(exc).__name__}: {exc}"
        _close(warehouse, ctx, before, outcome, error, client, event_at)
        raise
    requests = _close(warehouse, ctx, before, outcome, error, client, event_at)
    connections.record_attempt(settings, realm_id, error, FAULT_KINDS.get(outcome, "permanent"))
    return SyncResult(realm_id, kind, outcome, run_id, requests, ctx.rows, error, tuple(steps))


def fault_text(exc: QBOError) -> str:
    """The error as kept for the badge: "HTTP 403: query: ..." when QBO answered a status."""
    status = getattr(exc, "status", None)
    return f"HTTP {status}: {exc}" if status else str(exc)


FAULT_KINDS: dict[str, str | None] = {
    "ok": None,
    "unreachable": "transient",
    "reconnect_needed": "reauth",
    "quota": "quota",
}


def _close(
    warehouse: store.Warehouse,
    ctx: RunContext,
    before: int,
    outcome: str,
    error: str | None,
    client: QBOClient,
    event_at: datetime | None = None,
) -> int:
    requests = client.requests_for(ctx.realm_id) - before
    at = ctx.now()

    def close_run(con: duckdb.DuckDBPyConnection) -> None:
        store.finish_run(
            con,
            ctx.run_id,
            finished_at=at,
            requests=requests,
            rows=ctx.rows,
            outcome=outcome,
            error=error,
        )
        if outcome == "ok":
            store.mark_success(
                con,
                ctx.realm_id,
                [s.qbo_name for s in ENTITIES],
                at=at,
                run_id=ctx.run_id,
                kind="event" if event_at is not None else "sync",
            )
            if event_at is not None:
                store.record_event(con, ctx.realm_id, at=event_at)
        else:
            kind = FAULT_KINDS.get(outcome) or "permanent"
            store.record_fault(con, ctx.realm_id, kind, error or outcome, at=at)

    warehouse.transact(close_run)
    return requests


def sync_all(
    settings: Settings,
    realm_ids: list[str] | None = None,
    kind: str = "incremental",
    *,
    options: SyncOptions | None = None,
    client: QBOClient | None = None,
    on_done: object = None,
) -> list[SyncResult]:
    """Sync many companies concurrently (settings.sync_concurrency threads); each stays within its
    own rate limits because the limiter is per company. One shared, thread-safe client."""
    realm_ids = realm_ids if realm_ids is not None else connections.connected_realm_ids(settings)
    if not realm_ids:
        return []
    own_client = client is None
    client = client or QBOClient(settings)
    warehouse = store.warehouse_for(settings)
    lock = threading.Lock()
    results: list[SyncResult] = []

    def one(realm_id: str) -> SyncResult:
        result = sync_company(
            settings, realm_id, kind, client=client, warehouse=warehouse, options=options
        )
        with lock:
            results.append(result)
            if callable(on_done):
                on_done(result)
        return result

    try:
        with ThreadPoolExecutor(
            max_workers=max(1, min(settings.sync_concurrency, len(realm_ids)))
        ) as pool:
            list(pool.map(one, realm_ids))
    finally:
        if own_client:
            client.close()
    order = {r: i for i, r in enumerate(realm_ids)}
    return sorted(results, key=lambda r: order[r.realm_id])
