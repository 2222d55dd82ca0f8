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

import duckdb

from oodaloo.config import Settings
from sync import connections, store
from sync.backfill import RECONCILE_KEY, run_backfill, stored_state
from sync.client import QBOClient
from sync.context import RunClock, RunContext, SyncOptions
from sync.errors import QBOError, QuotaExceeded, ReauthRequired, TransientError
from sync.incremental import cdc_checkpoint, run_cdc
from sync.locks import try_lock
from sync.reconcile import run_reconcile
from sync.schema import ENTITIES

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


def _reconcile_due(ctx: RunContext) -> bool:
    with ctx.warehouse.read() as con:
        last = store.get_checkpoint(con, ctx.realm_id, RECONCILE_KEY)
    if last is None:
        return False  # a first backfill is as good as a reconciliation
    return ctx.now() - datetime.fromisoformat(last["at"]) > timedelta(
        days=ctx.options.reconcile_every_days
    )


def _run(ctx: RunContext, kind: str) -> list[str]:
    steps: list[str] = []
    resume = stored_state(ctx)
    if resume is not None:
        steps.append("resume-backfill")
        run_backfill(ctx, resume=resume)
    since = cdc_checkpoint(ctx)
    reconcile = kind == "reconcile"
    if kind == "full" or since is None:
        steps.append("backfill")
        run_backfill(ctx)
        at = ctx.now()
        ctx.warehouse.transact(  # a fresh full pull is a reconciliation of its own
            lambda con: store.set_checkpoint(
                con, ctx.realm_id, RECONCILE_KEY, {"at": at.isoformat()}, run_id=ctx.run_id, at=at
            )
        )
        if kind == "full" and since is not None:
            reconcile = True  # a re-pull of a store we already had: deletions need the Id check
    elif ctx.now() - since > timedelta(days=ctx.options.cdc_window_days):
        steps.append("window-repull")
        run_backfill(ctx, since=since - timedelta(seconds=ctx.options.overlap_seconds))
        reconcile = True
    since = cdc_checkpoint(ctx)
    assert since is not None
    steps.append("cdc")
    saturated = run_cdc(ctx, since)
    if reconcile or _reconcile_due(ctx):
        steps.append("reconcile")
        run_reconcile(ctx)
    elif saturated:
        steps.append("reconcile-saturated")
        run_reconcile(
            ctx,
            [e for e in saturated if e in {s.qbo_name for s in ENTITIES if not s.is_list}] or None,
        )
    return steps


def sync_company(
    settings: Settings,
    realm_id: str,
    kind: str = "incremental",
    *,
    client: QBOClient | None = None,
    warehouse: store.Warehouse | None = None,
    options: SyncOptions | None = None,
) -> SyncResult:
    """Sync one company. QBO faults end up in the result (and in the company's last_error)."""
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
        clock = RunClock(settings)
        run_id = store.start_run(warehouse, realm_id, kind, clock.now())
        ctx = RunContext(
            settings,
            realm_id,
            client,
            warehouse,
            run_id,
            clock,
            options or SyncOptions.from_settings(settings),
            heartbeat=lock.refresh,
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
            outcome, error = "error", str(exc)
        except BaseException as exc:
            outcome, error = "error", f"{type(exc).__name__}: {exc}"
            _close(warehouse, ctx, before, outcome, error, client)
            if own_client:
                client.close()
            raise
        requests = _close(warehouse, ctx, before, outcome, error, client)
        if own_client:
            client.close()
        kind_of_error = {
            "ok": None,
            "unreachable": "transient",
            "reconnect_needed": "reauth",
            "quota": "quota",
        }.get(outcome, "permanent")
        connections.record_attempt(settings, realm_id, error, kind_of_error)
        return SyncResult(realm_id, kind, outcome, run_id, requests, ctx.rows, error, tuple(steps))


def _close(
    warehouse: store.Warehouse,
    ctx: RunContext,
    before: int,
    outcome: str,
    error: str | None,
    client: QBOClient,
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
                kind="sync",
            )

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
