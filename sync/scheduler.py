"""Background jobs with APScheduler 3: ``BackgroundScheduler`` inside the app,
``BlockingScheduler`` for ``oodaloo scheduler``.

Jobs (memory job store, explicit ids, coalesce, max_instances=1):
  * ``sync-incremental``: every settings.sync_interval_minutes (jittered) for all connected
    companies; each company is also guarded by a cross-process try-lock, so a duplicate
    scheduler, a "Sync now" click and a tick never overlap;
  * ``sync-reconcile``: weekly full Id reconciliation (Sunday 03:30 New York);
  * ``sync-requests``: drains queued sync requests every 20 s;
  * digest jobs, when the digest package is importable: ``digest.schedule.add_digest_jobs``
    registers one Friday 07:00 job per company time zone and a catch-up run at start (a Friday
    missed while the machine was off is made once, on the next start; its ledger dedupes)."""

from __future__ import annotations

import importlib
import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from oodaloo import clock
from oodaloo.config import Settings
from sync import queue
from sync.engine import sync_all

log = logging.getLogger(__name__)
TZ = ZoneInfo(clock.DEFAULT_TZ)


def incremental_job(settings: Settings) -> None:
    for result in sync_all(settings, kind="incremental"):
        log.info(
            "sync %s: %s (%s requests, %s rows)",
            result.realm_id,
            result.outcome,
            result.requests,
            result.rows,
        )


def reconcile_job(settings: Settings) -> None:
    sync_all(settings, kind="reconcile")


def drain_job(settings: Settings) -> None:
    queue.drain(settings)


def digest_job(settings: Settings) -> bool:
    """Calls ``run_due_digests`` once if the digest package provides it; False when it does not
    exist (kept for callers that want a one-off digest slot outside the scheduler)."""
    module = _digest_schedule()
    run = getattr(module, "run_due_digests", None) if module else None
    if run is None:
        return False
    run(settings, clock.now(settings))
    return True


def _digest_schedule() -> object | None:
    try:
        return importlib.import_module("digest.schedule")
    except ModuleNotFoundError:
        return None


def add_digest_jobs(scheduler: BaseScheduler, settings: Settings) -> list[str]:
    """Register the digest package's jobs (per time zone + catch-up); [] when digest is absent."""
    module = _digest_schedule()
    add = getattr(module, "add_digest_jobs", None) if module else None
    if add is None:
        log.info("digest package not available: no digest jobs scheduled")
        return []
    try:
        return list(add(scheduler, settings))
    except Exception:  # the sync jobs must run even if the digest's set-up fails
        log.exception("digest jobs could not be scheduled")
        return []


def build_scheduler(settings: Settings, background: bool = True) -> BaseScheduler:
    scheduler: BaseScheduler = (
        BackgroundScheduler(timezone=TZ) if background else BlockingScheduler(timezone=TZ)
    )
    common = {"coalesce": True, "max_instances": 1, "replace_existing": True, "args": [settings]}
    interval = max(1, settings.sync_interval_minutes)
    scheduler.add_job(
        incremental_job,
        IntervalTrigger(minutes=interval, jitter=min(60, interval * 6)),
        id="sync-incremental",
        misfire_grace_time=interval * 60,
        **common,
    )
    scheduler.add_job(
        reconcile_job,
        CronTrigger(day_of_week="sun", hour=3, minute=30, timezone=TZ),
        id="sync-reconcile",
        misfire_grace_time=6 * 3600,
        **common,
    )
    scheduler.add_job(
        drain_job, IntervalTrigger(seconds=20), id="sync-requests", misfire_grace_time=60, **common
    )
    add_digest_jobs(scheduler, settings)
    return scheduler
