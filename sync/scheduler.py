"""Background jobs with APScheduler 3: ``BackgroundScheduler`` inside the app,
``BlockingScheduler`` for ``oodaloo scheduler``.

Jobs (memory job store, explicit ids, coalesce, max_instances=1):
  * ``sync-incremental``: every settings.sync_interval_minutes (jittered) for all connected
    companies; each company is also guarded by a cross-process try-lock, so a duplicate
    scheduler, a "Sync now" click and a tick never overlap;
  * ``sync-reconcile``: weekly full Id reconciliation (Sunday 03:30 New York);
  * ``sync-requests``: drains queued sync requests every 20 s;
  * jobs of the layers above, handed in as ``extra_jobs`` (``oodaloo.jobs`` passes the digest's:
    one Friday 07:00 job per company time zone and a catch-up run at start)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from oodaloo.config import Settings
from oodaloo.timezone import DEFAULT_TZ
from sync import queue
from sync.engine import sync_all

log = logging.getLogger(__name__)
TZ = ZoneInfo(DEFAULT_TZ)


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


JobRegistrar = Callable[[BaseScheduler, Settings], Iterable[str]]


def add_jobs(scheduler: BaseScheduler, settings: Settings, registrar: JobRegistrar) -> list[str]:
    """Let another package register its jobs (the digest's: ``oodaloo.jobs``); a failing set-up
    is logged and skipped — the sync jobs must run whatever happens to the others."""
    try:
        return list(registrar(scheduler, settings))
    except Exception:
        log.exception("jobs of %s could not be scheduled", getattr(registrar, "__module__", "?"))
        return []


def build_scheduler(
    settings: Settings, background: bool = True, extra_jobs: Sequence[JobRegistrar] = ()
) -> BaseScheduler:
    """The sync jobs, plus whatever ``extra_jobs`` register (sync knows nothing of the layers
    above it; ``oodaloo.jobs.build_scheduler`` adds the digest's)."""
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
    for registrar in extra_jobs:
        add_jobs(scheduler, settings, registrar)
    return scheduler
