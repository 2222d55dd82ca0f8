"""Snapshots are pure data: no clock, no freshness computed at load; the freshness service's
answer is stamped on by the caller."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta

import pytest

from oodaloo import clock
from oodaloo.config import Settings
from runway.snapshot import load_snapshot
from sync import freshness
from sync.freshness import Freshness
from tests.runway.factory import Company, write_warehouse

SYNCED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def two_companies() -> list[Company]:
    out = []
    for realm in ("r-a", "r-b"):
        c = Company(realm, name=f"Agency {realm}")
        c.bank("1000.00")
        c.invoice(c.customer("Client"), date(2026, 11, 1), date(2026, 12, 1), 500)
        out.append(c)
    return out


def test_loading_reads_no_clock_and_computes_no_status(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_warehouse(settings.warehouse_path, two_companies(), sync_status=SYNCED)

    def no_clock(*_: object) -> datetime:
        raise AssertionError("a snapshot must not read the clock")

    monkeypatch.setattr(clock, "now", no_clock)
    monkeypatch.setattr(freshness, "company_freshness", no_clock)
    snap = load_snapshot(settings)
    rows = snap.freshness.sort("realm_id").rows(named=True)
    assert [r["realm_id"] for r in rows] == ["r-a", "r-b"]
    assert all(r["last_success_at"] == SYNCED for r in rows)  # the store's fact
    assert all(r["status"] is None and r["badge"] is None for r in rows)  # nobody's verdict yet


def test_with_freshness_stamps_the_service_answer_and_keeps_the_data_version(
    settings: Settings,
) -> None:
    write_warehouse(settings.warehouse_path, two_companies(), sync_status=SYNCED)
    snap = load_snapshot(settings)
    answer = [
        Freshness("r-a", SYNCED, "stale", "Synced 3 h ago"),
        Freshness("r-zz", None, "never", "Not synced yet"),  # not in this snapshot: ignored
    ]
    stamped = snap.with_freshness(answer)
    assert stamped.version == snap.version and stamped.tables is snap.tables
    by_realm = {r["realm_id"]: r for r in stamped.freshness.rows(named=True)}
    assert set(by_realm) == {"r-a", "r-b"}
    assert (by_realm["r-a"]["status"], by_realm["r-a"]["badge"]) == ("stale", "Synced 3 h ago")
    assert by_realm["r-b"]["status"] is None and by_realm["r-b"]["last_success_at"] == SYNCED
    assert snap.freshness["status"].null_count() == 2  # the original is untouched


def test_a_historical_snapshot_knows_the_last_success_before_its_time(settings: Settings) -> None:
    """As of T, the last successful sync is the last run that finished ok by T (sync_runs)."""
    from sync.store import Warehouse, finish_run, start_run

    write_warehouse(settings.warehouse_path, two_companies())
    wh = Warehouse(settings.warehouse_path)
    for finished in (SYNCED, SYNCED + timedelta(days=2)):
        run = start_run(wh, "r-a", "incremental", finished - timedelta(minutes=1))
        wh.transact(
            lambda con, run=run, finished=finished: finish_run(
                con, run, finished_at=finished, requests=1, rows=1, outcome="ok"
            )
        )
    then = load_snapshot(settings, at=SYNCED + timedelta(days=1))
    last = dict(then.freshness.select("realm_id", "last_success_at").iter_rows())
    assert last == {"r-a": SYNCED, "r-b": None}
    now = load_snapshot(settings)  # current: sync_status, which these runs did not mark
    assert now.freshness["last_success_at"].null_count() == 2


def test_the_badge_promises_a_refresh_only_while_one_runs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = SYNCED + timedelta(hours=3)
    assert freshness.badge("stale", SYNCED, now, refreshing=False) == "Synced 3 h ago"
    assert freshness.badge("stale", SYNCED, now, refreshing=True) == "Synced 3 h ago — refreshing"
    running: Future[object] = Future()
    monkeypatch.setattr(freshness, "_inflight", {(str(settings.data_dir), "r-a"): running})
    assert freshness.refreshing(settings, "r-a") and not freshness.refreshing(settings, "r-b")
    running.set_result(None)
    assert not freshness.refreshing(settings, "r-a")
