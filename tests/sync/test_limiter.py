"""The per-company limiter on a fake clock: lanes, reserves, 429 pauses and AIMD."""

from __future__ import annotations

import threading

import pytest

from sync.errors import ThrottledError, TransientError
from sync.limiter import Limits, RealmLimiter
from tests.sync.fake_clocks import FakeClock, GatedClock


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


def wait_until(condition: object, what: str) -> None:
    """Wait (bounded) for another thread to reach a state; the limiter's clock stays frozen."""
    event = threading.Event()
    for _ in range(500):
        if condition():  # type: ignore[operator]
            return
        event.wait(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def test_sync_yields_to_a_waiting_user_call() -> None:
    """A free slot goes to a waiting click, never to background sync: while a user call waits,
    the sync lane is refused even though a slot and the rate allow it."""
    clock = GatedClock()
    limiter = RealmLimiter(Limits(throttle_pause_seconds=60), clock)
    limiter.penalize()  # the company is paused: the click has to wait
    user = threading.Thread(target=limiter.acquire, args=("user",))
    user.start()
    wait_until(lambda: limiter.users_waiting == 1, "the click waits")
    clock.advance(60.0)  # the pause is over; the waiting click has not been woken yet
    assert limiter.in_flight == 0 and limiter.users_waiting == 1
    assert not limiter.try_acquire("sync")  # a slot is free, yet sync yields to the click
    limiter.release()  # any release wakes the waiter, which takes its slot
    user.join(5)
    assert not user.is_alive() and limiter.in_flight == 1 and limiter.users_waiting == 0
    assert limiter.try_acquire("sync")  # nobody waits any more: sync goes again


def test_a_throttled_call_in_a_slot_gets_no_additive_increase() -> None:
    """``slot()`` tells a 429 (ThrottledError, a subclass of TransientError) from other faults by
    its type: after a throttled call the rate factor stays where ``penalize`` put it."""
    limiter = RealmLimiter(Limits(), FakeClock())
    limiter.penalize()
    slowed = limiter.factor
    with pytest.raises(ThrottledError), limiter.slot("user"):
        raise ThrottledError("429")
    assert limiter.factor == slowed and limiter.in_flight == 0
    with pytest.raises(TransientError), limiter.slot("user"):
        raise TransientError("503")  # not a 429: the call still counts as one more success
    assert limiter.factor > slowed


def test_unknown_lane_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown lane 'batch'"):
        RealmLimiter().try_acquire("batch")
