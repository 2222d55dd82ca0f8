"""The Friday 07:00 schedule: each digest once per week and scope, in each company's zone; a missed
Friday is made once at the next start; racing claims yield one winner. The makers are replaced by
recorders here (drawing is tested elsewhere); the ledger, weeks and APScheduler are real."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from digest import ledger, make, schedule
from digest.weeks import IsoWeek, latest_due_week
from oodaloo.config import Settings

NY, LA = "America/New_York", "America/Los_Angeles"
DIRECTORY = {
    "111": {"name": "East Co", "time_zone": NY},
    "222": {"name": "West Co", "time_zone": LA},
}


class Recorder:
    """Stands in for the makers: records (scope, week) and returns a tiny Produced."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def produced(self, scope: str, week: IsoWeek, now: datetime) -> make.Produced:
        with self.lock:
            self.made.append((scope, str(week)))
        manifest = {"scope": scope, "week": str(week)}
        return make.Produced(scope, week, b"%PDF-1.4 stub", manifest, now, 1, False)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    monkeypatch.setattr(make, "company_directory", lambda settings: DIRECTORY)
    monkeypatch.setattr(
        make,
        "make_company_digest",
        lambda settings, realm, week, *, now, tz=None: rec.produced(realm, week, now),
    )
    monkeypatch.setattr(
        make, "make_firm_digest", lambda settings, week, *, now: rec.produced("firm", week, now)
    )
    return rec


def at(local: str, tz: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def test_latest_due_week_turns_at_friday_seven_local() -> None:
    assert str(latest_due_week(at("2026-11-20T06:59", NY), NY)) == "2026-W46"
    assert str(latest_due_week(at("2026-11-20T07:00", NY), NY)) == "2026-W47"
    assert str(latest_due_week(at("2026-11-20T07:00", NY), LA)) == "2026-W46"  # 04:00 in LA
    assert IsoWeek.parse("2026-W47").cutoff(LA) == at("2026-11-20T07:00", LA)
    with pytest.raises(ValueError, match="2026-W47"):
        IsoWeek.parse("2026-47")
    with pytest.raises(ValueError, match="ISO week"):
        IsoWeek(2026, 54)


def test_fake_clock_crossing_friday_in_two_zones_makes_each_digest_once(
    settings: Settings, recorder: Recorder
) -> None:
    start = at("2026-11-20T06:00", NY)
    for minute in range(0, 8 * 60, 10):  # 06:00 -> 14:00 New York, every 10 minutes
        schedule.run_due_digests(settings, start + timedelta(minutes=minute))
    w46 = [m for m in recorder.made if m[1] == "2026-W46"]
    w47 = [m for m in recorder.made if m[1] == "2026-W47"]
    assert sorted(w46) == [
        ("111", "2026-W46"),
        ("222", "2026-W46"),
        ("firm", "2026-W46"),
    ]  # the first start
    assert sorted(w47) == [("111", "2026-W47"), ("222", "2026-W47"), ("firm", "2026-W47")]
    assert len(recorder.made) == 6
    # and in the right order: New York and the firm at 07:00 NY, Los Angeles three hours later
    order = [m for m in recorder.made if m[1] == "2026-W47"]
    assert order[-1] == ("222", "2026-W47")
    made = {(r.scope, r.week): r for r in ledger.records(settings)}
    assert made[("111", "2026-W47")].made_at == at("2026-11-20T07:00", NY).isoformat()
    assert made[("222", "2026-W47")].made_at == at("2026-11-20T07:00", LA).isoformat()
    assert (settings.digests_dir / "2026-W47" / "222.pdf").read_bytes().startswith(b"%PDF")
    assert (settings.digests_dir / "2026-W47" / "firm.json").exists()


def test_missed_friday_is_made_once_on_start_and_not_on_a_second_start(
    settings: Settings, recorder: Recorder
) -> None:
    monday = at("2026-11-23T09:00", NY)  # the machine was off over Friday
    first = schedule.run_due_digests(settings, monday)
    assert sorted((o.scope, o.week, o.status) for o in first) == [
        ("111", "2026-W47", "made"),
        ("222", "2026-W47", "made"),
        ("firm", "2026-W47", "made"),
    ]
    again = schedule.run_due_digests(settings, monday + timedelta(minutes=5))
    assert again == [] and len(recorder.made) == 3


def test_racing_runs_make_each_digest_once(settings: Settings, recorder: Recorder) -> None:
    now = at("2026-11-20T12:00", NY)
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        schedule.run_due_digests(settings, now)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(recorder.made) == [("111", "2026-W47"), ("222", "2026-W47"), ("firm", "2026-W47")]


def test_a_failed_digest_is_recorded_and_retried_next_run(
    settings: Settings, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}

    def flaky(
        settings: Settings, realm: str, week: IsoWeek, *, now: datetime, tz: str | None = None
    ) -> make.Produced:
        calls["n"] += 1
        if realm == "111" and calls["n"] == 1:
            raise LookupError("company 111 has no synced data")
        return recorder.produced(realm, week, now)

    monkeypatch.setattr(make, "make_company_digest", flaky)
    now = at("2026-11-20T12:00", NY)
    outcomes = {o.scope: o for o in schedule.run_due_digests(settings, now)}
    assert outcomes["111"].status == "failed" and "no synced data" in (outcomes["111"].error or "")
    assert ledger.record(settings, "111", "2026-W47").status == ledger.FAILED
    retry = schedule.run_due_digests(settings, now + timedelta(minutes=15))
    assert [(o.scope, o.status) for o in retry] == [("111", "made")]


def test_early_preview_is_replaced_at_the_cut_off(settings: Settings) -> None:
    week = "2026-W47"
    wednesday = at("2026-11-18T10:00", NY)
    assert ledger.claim(settings, "111", week, wednesday, early=True)
    ledger.mark_made(
        settings, "111", week, made_at=wednesday, data_as_of=wednesday, pages=3, early=True
    )
    assert ledger.record(settings, "111", week).status == ledger.EARLY
    assert ledger.claim(
        settings, "111", week, at("2026-11-20T07:00", NY)
    )  # the scheduled run takes it over
    ledger.mark_made(settings, "111", week, made_at=wednesday, data_as_of=wednesday, pages=3)
    assert not ledger.claim(settings, "111", week, at("2026-11-20T08:00", NY))
    assert not ledger.claim(settings, "111", week, at("2026-11-20T08:00", NY), early=True)


def test_add_digest_jobs_registers_friday_seven_per_zone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(make, "company_directory", lambda settings: DIRECTORY)
    scheduler = BackgroundScheduler(timezone=ZoneInfo("UTC"))
    scheduler.start(paused=True)  # a running (paused) scheduler, so replace_existing applies
    ids = schedule.add_digest_jobs(scheduler, settings)
    assert ids == [f"digest:{LA}", f"digest:{NY}", "digest:catch-up"]
    for tz in (NY, LA):
        job = scheduler.get_job(f"digest:{tz}")
        assert job.misfire_grace_time == schedule.MISFIRE_GRACE_SECONDS and job.coalesce
        fire = job.trigger.get_next_fire_time(None, at("2026-11-18T12:00", tz))
        assert fire == at("2026-11-20T07:00", tz)
        assert fire.astimezone(ZoneInfo(tz)).strftime("%a %H:%M") == "Fri 07:00"
    # the same registration twice replaces, never duplicates
    schedule.add_digest_jobs(scheduler, settings)
    assert len(scheduler.get_jobs()) == 3
    scheduler.shutdown(wait=False)


def test_a_digest_interrupted_by_shutdown_fails_cleanly_and_is_made_next_start(
    settings: Settings,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The process exits while the first digest computes: that one is released (failed, no
    traceback), no further digest is started, and the next start makes them all."""

    def exiting(
        settings: Settings, realm: str, week: IsoWeek, *, now: datetime, tz: str | None = None
    ) -> make.Produced:
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(make, "make_company_digest", exiting)
    now = at("2026-11-20T12:00", NY)
    outcomes = schedule.run_due_digests(settings, now)
    assert [(o.scope, o.status, o.error) for o in outcomes] == [
        ("111", "failed", "interrupted: the process was exiting")
    ]
    assert not any(r.exc_info for r in caplog.records), "no traceback logged"
    assert ledger.record(settings, "222", "2026-W47") is None  # not started
    monkeypatch.setattr(
        make,
        "make_company_digest",
        lambda settings, realm, week, *, now, tz=None: recorder.produced(realm, week, now),
    )
    again = schedule.run_due_digests(settings, now + timedelta(minutes=5))
    assert sorted((o.scope, o.status) for o in again) == [
        ("111", "made"),
        ("222", "made"),
        ("firm", "made"),
    ]


def test_run_scheduled_never_raises(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(settings: Settings, now: datetime | None = None) -> list:
        raise OSError("disk full")

    monkeypatch.setattr(schedule, "run_due_digests", broken)
    schedule.run_scheduled(settings)
    assert any("digest run failed" in r.getMessage() for r in caplog.records)


def test_catch_up_at_start_runs_in_the_background(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scheduler started after Friday 07:00 owes a digest at once: the catch-up job runs in a
    worker thread while start() has already returned to the console (the job is held open here
    until the test has checked that)."""
    monkeypatch.setattr(make, "company_directory", lambda settings: DIRECTORY)
    running, release = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []

    def slow_catch_up(settings: Settings) -> None:
        threads.append(threading.current_thread())
        running.set()
        release.wait(60)

    monkeypatch.setattr(schedule, "run_scheduled", slow_catch_up)
    scheduler = BackgroundScheduler(timezone=ZoneInfo("UTC"))
    schedule.add_digest_jobs(scheduler, settings)
    scheduler.start()  # returns while the catch-up is still running
    try:
        assert running.wait(30), "the catch-up ran at start"
        assert not release.is_set() and threads[0] is not threading.main_thread()
        for _ in range(300):  # a one-off: gone from the job store once submitted (bounded wait)
            if scheduler.get_job("digest:catch-up") is None:
                break
            release.wait(0.01)
        assert (
            scheduler.get_job("digest:catch-up") is None
            and scheduler.get_job(f"digest:{NY}") is not None
        )
    finally:
        release.set()
        scheduler.shutdown(wait=True)
