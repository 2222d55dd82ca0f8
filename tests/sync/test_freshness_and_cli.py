"""Freshness badges, ensure_fresh, the sync-request queue, the per-company try-lock, the
scheduler's jobs and the CLI commands."""

from __future__ import annotations

import json

import pytest

from oodaloo.cli import main
from sandbox.faults import Faults
from sync import connections, freshness, queue
from sync.engine import sync_company
from sync.freshness import company_freshness, ensure_fresh
from sync.locks import try_lock
from sync.scheduler import build_scheduler
from tests.sync.conftest import SMALL_PAGES, World


def by_realm(items: list[freshness.Freshness]) -> dict[str, freshness.Freshness]:
    return {f.realm_id: f for f in items}


def test_badges_follow_the_sandbox_clock(world: World) -> None:
    first, second = world.realms
    f = by_realm(company_freshness(world.settings))
    assert f[first].status == "never" and f[first].badge == "Not synced yet"
    assert (
        sync_company(world.settings, first, client=world.client(), options=SMALL_PAGES).outcome
        == "ok"
    )
    world.db.advance_clock(180)
    f = by_realm(company_freshness(world.settings))
    assert (f[first].status, f[first].badge) == ("fresh", "Synced 3 min ago")
    world.db.advance_clock(20 * 60)
    assert by_realm(company_freshness(world.settings))[first].status == "stale"
    connections.mark_reconnect_needed(world.settings, second, "revoked")
    f = by_realm(company_freshness(world.settings))
    assert (f[second].status, f[second].badge) == ("reconnect_needed", "Reconnect needed")


def test_ensure_fresh_refreshes_stale_data_when_reachable(world: World) -> None:
    realm = world.realms[0]
    assert sync_company(world.settings, realm, client=world.client()).outcome == "ok"
    synced = by_realm(company_freshness(world.settings))[realm].last_success_at
    world.db.advance_clock(3600)
    result = by_realm(ensure_fresh(world.settings, [realm], max_wait=60))
    assert result[realm].status == "fresh"
    assert (
        result[realm].last_success_at is not None
        and synced is not None
        and result[realm].last_success_at > synced
    )


def test_unreachable_qbo_serves_stored_data_with_that_status(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync import retry

    realm = world.realms[0]
    assert sync_company(world.settings, realm, client=world.client()).outcome == "ok"
    synced = by_realm(company_freshness(world.settings))[realm].last_success_at
    world.db.advance_clock(3600)
    Faults(world.db).set({"unavailable": 1.0})
    monkeypatch.setattr(
        retry.RetryPolicy, "__init__", _fast_policy_init
    )  # no real backoff in tests
    ensure_fresh(world.settings, [realm], max_wait=0)  # serve now, refresh in the background
    freshness._inflight[(str(world.settings.data_dir), realm)].result(timeout=60)
    after = by_realm(company_freshness(world.settings))[realm]
    assert after.status == "unreachable" and after.last_success_at == synced
    assert after.badge.startswith("QuickBooks unreachable — showing data from ")
    assert after.badge.endswith(
        synced.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York")).strftime("%H:%M")
    )  # type: ignore[union-attr]


def _fast_policy_init(
    self, attempts=3, initial_wait=0.001, max_wait=0.002, total_seconds=5.0, jitter=0.001
):  # type: ignore[no-untyped-def]
    object.__setattr__(self, "attempts", attempts)
    object.__setattr__(self, "initial_wait", initial_wait)
    object.__setattr__(self, "max_wait", max_wait)
    object.__setattr__(self, "total_seconds", total_seconds)
    object.__setattr__(self, "jitter", jitter)


def test_request_sync_is_non_blocking_deduplicated_and_drained(world: World) -> None:
    realm = world.realms[0]
    first = queue.request_sync(world.settings, realm, "sync now")
    assert queue.request_sync(world.settings, realm, "double click") == first
    queue.request_sync(world.settings, world.realms[1], "after action")
    assert [r["realm_id"] for r in queue.pending_requests(world.settings)] == world.realms
    results = queue.drain(world.settings)
    assert sorted(r.realm_id for r in results) == sorted(world.realms)  # type: ignore[attr-defined]
    assert queue.pending_requests(world.settings) == []
    assert all(f.status == "fresh" for f in company_freshness(world.settings))
    with pytest.raises(ValueError, match="realm_id is required"):
        queue.request_sync(world.settings, "", "x")


def test_never_two_syncs_of_one_company_at_once(world: World) -> None:
    realm = world.realms[0]
    with try_lock(world.settings, f"sync:{realm}") as held:
        assert held is not None
        assert sync_company(world.settings, realm, client=world.client()).outcome == "skipped"
        assert sync_company(world.settings, world.realms[1], client=world.client()).outcome == "ok"
    assert sync_company(world.settings, realm, client=world.client()).outcome == "ok"


def test_scheduler_jobs(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        sync_company(
            world.settings, world.realms[0], client=world.client(), options=SMALL_PAGES
        ).outcome
        == "ok"
    )
    from oodaloo.jobs import build_scheduler as build_product_scheduler

    scheduler = build_product_scheduler(world.settings, background=True)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    sync_jobs = {"sync-incremental", "sync-reconcile", "sync-requests"}
    assert sync_jobs < set(jobs) and "digest" not in jobs  # the old single New York slot is gone
    assert (
        jobs["sync-incremental"].trigger.interval.total_seconds()
        == world.settings.sync_interval_minutes * 60
    )
    assert jobs["sync-incremental"].coalesce and jobs["sync-incremental"].max_instances == 1
    # the digest package's own jobs: one Friday 07:00 per time zone in use, plus a catch-up at start
    digest_jobs = {i: j for i, j in jobs.items() if i.startswith("digest:")}
    assert "digest:catch-up" in digest_jobs and len(digest_jobs) >= 2
    for job_id, job in digest_jobs.items():
        if job_id != "digest:catch-up":
            trigger = str(job.trigger)
            assert "day_of_week='fri'" in trigger and "hour='7'" in trigger
            assert str(job.trigger.timezone) == job_id.split(":", 1)[1]
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)


def test_scheduler_runs_the_jobs_handed_in_and_survives_a_failing_one(world: World) -> None:
    calls: list[tuple[object, object]] = []

    def register(scheduler: object, settings: object) -> list[str]:
        calls.append((scheduler, settings))
        return []

    def broken(scheduler: object, settings: object) -> list[str]:
        raise RuntimeError("digest set-up failed")

    scheduler = build_scheduler(world.settings, background=True, extra_jobs=[broken, register])
    assert calls == [(scheduler, world.settings)]  # the one after the failure still ran
    bare = build_scheduler(world.settings, background=True)
    assert {job.id for job in bare.get_jobs()} == {
        "sync-incremental",
        "sync-reconcile",
        "sync-requests",
    }


def test_cli_sync_and_status(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(world.settings.data_dir), "sync", "--all"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(": ok (" in line for line in out) and out[0].startswith("[1/2] ")
    assert (
        main(
            [
                "--data-dir",
                str(world.settings.data_dir),
                "sync",
                "--company",
                world.realms[0],
                "--full",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["--data-dir", str(world.settings.data_dir), "status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["realm_id"] for r in report] == world.realms
    row = report[0]
    assert row["connection"] == "connected" and row["freshness"] == "fresh"
    assert row["documents"]["Invoice"] == 4 and row["documents"]["Customer"] == 3
    assert row["requests_today"] >= 3 and row["last_error"] is None
    assert main(["--data-dir", str(world.settings.data_dir), "status"]) == 0
    assert "Synced just now" in capsys.readouterr().out
    assert main(["--data-dir", str(world.settings.data_dir), "sync", "--company", "nope"]) == 2
