"""The per-company limiter on a fake clock: lanes, reserves, 429 pauses and AIMD."""

from __future__ import annotations

import threading
import time

import pytest

from sync.limiter import FakeClock, Limits, RealmLimiter


def fill(limiter: RealmLimiter, lane: str) -> int:
    n = 0
    while limiter.try_acquire(lane):
        n += 1
        limiter.release()
    return n


def hold(limiter: RealmLimiter, lane: str) -> int:
    n = 0
    while limiter.try_acquire(lane):
        n += 1
    return n


def release_all(limiter: RealmLimiter) -> None:
    while limiter.in_flight:
        limiter.release(throttled=True)


def test_sync_lane_keeps_a_reserve_that_user_calls_may_spend() -> None:
    limiter = RealmLimiter(Limits(), FakeClock())
    assert fill(limiter, "sync") == 8  # the sync lane stops at its per-second share
    assert fill(limiter, "user") == 2  # a click still gets the last two of QBO's 10/s


def test_per_second_window_slides_with_the_clock() -> None:
    clock = FakeClock()
    limiter = RealmLimiter(Limits(), clock)
    assert fill(limiter, "user") == 10
    clock.advance(0.5)
    assert not limiter.try_acquire("user")
    clock.advance(0.51)
    assert fill(limiter, "user") == 10


def test_per_minute_ceiling_and_blocking_acquire_waits_on_the_clock() -> None:
    clock = FakeClock()
    limits = Limits(per_second=1000, sync_per_second=1000, per_minute=500, sync_per_minute=400)
    limiter = RealmLimiter(limits, clock)
    assert fill(limiter, "sync") == 400
    assert fill(limiter, "user") == 100
    start = clock.monotonic()
    limiter.acquire("user")  # blocks until the oldest call leaves the minute window
    assert clock.monotonic() - start == pytest.approx(60.0, abs=0.01)


def test_in_flight_cap_per_lane() -> None:
    limiter = RealmLimiter(Limits(), FakeClock())
    for _ in range(6):
        assert limiter.try_acquire("sync")
    assert not limiter.try_acquire("sync")  # sync may hold at most 6 of the 10
    for _ in range(4):
        assert limiter.try_acquire("user")
    assert not limiter.try_acquire("user")
    assert limiter.in_flight == 10


def test_429_pauses_the_company_and_slows_it_down() -> None:
    clock = FakeClock()
    limiter = RealmLimiter(Limits(), clock)
    limiter.penalize(None)
    assert limiter.paused_for == pytest.approx(60.0)
    assert not limiter.try_acquire("user")
    clock.advance(60.0)
    assert hold(limiter, "user") == 5  # AIMD: halved
    release_all(limiter)
    limiter.penalize(2.0)  # a server hint shorter than the default
    clock.advance(2.0)
    assert hold(limiter, "user") == 2
    release_all(limiter)
    for _ in range(200):  # additive increase with every successful call
        limiter.try_acquire("user") and None
        limiter.release()
    assert limiter.factor == 1.0


def test_blocking_acquire_honours_the_pause_on_the_fake_clock() -> None:
    clock = FakeClock()
    limiter = RealmLimiter(Limits(throttle_pause_seconds=30), clock)
    limiter.penalize()
    limiter.acquire("sync")
    assert sum(clock.slept) == pytest.approx(30.0, abs=0.01)


def test_sync_yields_to_a_waiting_user_call() -> None:
    """With every slot taken, a waiting click gets the next free slot before background sync."""
    limiter = RealmLimiter(Limits(in_flight=1, sync_in_flight=1), FakeClock())
    assert limiter.try_acquire("sync")
    order: list[str] = []

    def take(lane: str) -> None:
        limiter.acquire(lane)
        order.append(lane)

    sync_thread = threading.Thread(target=take, args=("sync",))
    sync_thread.start()
    time.sleep(0.05)
    user_thread = threading.Thread(target=take, args=("user",))
    user_thread.start()
    time.sleep(0.05)
    assert not limiter.try_acquire("sync")  # a user call is waiting: sync yields
    limiter.release()
    user_thread.join(5)
    assert order == ["user"]
    limiter.release()
    sync_thread.join(5)
    assert order == ["user", "sync"]


def test_unknown_lane_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown lane 'batch'"):
        RealmLimiter().try_acquire("batch")
