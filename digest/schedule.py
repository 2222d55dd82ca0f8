"""Friday 07:00 local: which digests are due, made once each.

``run_due_digests`` is idempotent and cheap to call often (the sync scheduler's digest slot and
the Friday cron jobs both call it): for every company (in its own time zone) and for the firm (in
the firm's), the newest week whose Friday 07:00 has passed is made unless the ledger already has
it. The ledger claim is atomic and taken before rendering, so a digest missed while the machine
was off is made once on the next start, never twice, even with two schedulers racing.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from digest import ledger
from digest.weeks import IsoWeek, latest_due_week
from oodaloo.config import Settings

log = logging.getLogger(__name__)
MISFIRE_GRACE_SECONDS = 6 * 3600


@dataclass(frozen=True)
class DueDigest:
    scope: str  # realm id or "firm"
    week: IsoWeek
    time_zone: str


@dataclass(frozen=True)
class RunOutcome:
    scope: str
    week: str
    status: str  # made | failed
    pages: int = 0
    error: str | None = None
    emailed: int = 0
    email_failures: int = 0


def shutting_down() -> bool:
    """The process is exiting (main thread done, or the interpreter finalising): a digest job
    still running then stops at the next boundary instead of failing deep inside a calculator."""
    return sys.is_finalizing() or not threading.main_thread().is_alive()


def _interrupted(exc: BaseException) -> bool:
    return shutting_down() or (isinstance(exc, RuntimeError) and "interpreter shutdown" in str(exc))


def due_digests(settings: Settings, now: datetime) -> list[DueDigest]:
    """Every scope's newest week whose Friday 07:00 local is at or before ``now`` and not made
    yet."""
    from digest.make import FIRM, company_directory

    directory = company_directory(settings)
    wanted = [
        DueDigest(realm, latest_due_week(now, info["time_zone"]), info["time_zone"])
        for realm, info in sorted(directory.items())
    ]
    if directory:
        firm_tz = ledger.firm_time_zone(settings)
        wanted.append(DueDigest(FIRM, latest_due_week(now, firm_tz), firm_tz))
    made = {(r.scope, r.week) for r in ledger.records(settings) if r.status == ledger.MADE}
    return [d for d in wanted if (d.scope, str(d.week)) not in made]


def run_due_digests(settings: Settings, now: datetime | None = None) -> list[RunOutcome]:
    """Make, store, record and e-mail every due digest; returns what happened to each."""
    from digest.delivery import email_digest
    from digest.make import FIRM, make_company_digest, make_firm_digest, store_digest

    if now is None:
        from oodaloo.clock import now as clock_now

        now = clock_now(settings)
    outcomes = []
    for due in due_digests(settings, now):
        week = str(due.week)
        if shutting_down():
            log.warning("process exiting: digest %s %s left for the next start", due.scope, week)
            break
        if not ledger.claim(settings, due.scope, week, now):
            continue  # made or being made by someone else
        try:
            if due.scope == FIRM:
                produced = make_firm_digest(settings, due.week, now=now)
            else:
                produced = make_company_digest(
                    settings, due.scope, due.week, now=now, tz=due.time_zone
                )
            store_digest(settings, produced)
            ledger.mark_made(
                settings,
                due.scope,
                week,
                made_at=now,
                data_as_of=produced.data_as_of,
                pages=produced.pages,
            )
        except Exception as exc:  # one company's failure must not stop the others
            if _interrupted(exc):  # released (failed is retaken), made again on the next start
                log.warning(
                    "process exiting: digest %s %s interrupted, made on the next start",
                    due.scope,
                    week,
                )
                ledger.mark_failed(
                    settings, due.scope, week, "interrupted: the process was exiting"
                )
                outcomes.append(
                    RunOutcome(
                        due.scope, week, "failed", error="interrupted: the process was exiting"
                    )
                )
                break
            log.exception("digest %s %s failed", due.scope, week)
            ledger.mark_failed(settings, due.scope, week, f"{type(exc).__name__}: {exc}")
            outcomes.append(
                RunOutcome(due.scope, week, "failed", error=f"{type(exc).__name__}: {exc}")
            )
            continue
        sent = failed = 0
        if settings.smtp_host:
            results = email_digest(settings, produced, now)
            sent, failed = sum(r.ok for r in results), sum(not r.ok for r in results)
        outcomes.append(
            RunOutcome(due.scope, week, "made", produced.pages, emailed=sent, email_failures=failed)
        )
    return outcomes


def run_scheduled(settings: Settings) -> None:
    """The cron job's body (importable, no closures, so any job store can hold it). Never raises:
    a failure is logged once (each digest's own failure is already in the ledger), and a process
    exiting mid-run logs one line, not a traceback."""
    try:
        run_due_digests(settings)
    except Exception as exc:
        if _interrupted(exc):
            log.warning(
                "process exiting: digest run stopped, due digests are made on the next start"
            )
        else:
            log.exception("digest run failed")


def digest_time_zones(settings: Settings) -> list[str]:
    from digest.make import company_directory

    zones = {info["time_zone"] for info in company_directory(settings).values()}
    zones.add(ledger.firm_time_zone(settings))
    return sorted(zones)


def add_digest_jobs(scheduler: object, settings: Settings) -> list[str]:
    """One Friday 07:00 cron job per time zone in use (late runs, machine asleep, still run within
    six hours and collapse into one) and a one-off catch-up run at start for anything later."""
    from apscheduler.triggers.cron import CronTrigger

    ids = []
    for tz in digest_time_zones(settings):
        job_id = f"digest:{tz}"
        scheduler.add_job(  # type: ignore[attr-defined]  # apscheduler ships no types
            run_scheduled,
            CronTrigger(day_of_week="fri", hour=7, timezone=ZoneInfo(tz)),
            args=[settings],
            id=job_id,
            name=f"Friday digest ({tz})",
            replace_existing=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            coalesce=True,
            max_instances=1,
        )
        ids.append(job_id)
    # Once at start: a Friday missed while the machine was off is made now (once: the ledger).
    # A date-triggered job: it runs in the scheduler's worker threads, never in start()'s caller,
    # so a console starting on a Friday after 07:00 is not held up by the digest it owes.
    scheduler.add_job(  # type: ignore[attr-defined]  # apscheduler ships no types
        run_scheduled,
        args=[settings],
        id="digest:catch-up",
        name="Digest catch-up at start",
        replace_existing=True,
        misfire_grace_time=None,
        coalesce=True,
        max_instances=1,
    )
    ids.append("digest:catch-up")
    return ids
