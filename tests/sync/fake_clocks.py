"""Clocks for the limiter's tests (``sync.limiter.Clock``): time moves only when a test says."""

from __future__ import annotations

import threading


class FakeClock:
    """Time moves only when a waiter would sleep (or a test calls ``advance``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def wait(self, cond: threading.Condition, timeout: float | None) -> None:
        if timeout is None:
            cond.wait(5.0)  # event-driven waits (in-flight, lane yielding) use real notifications
            return
        self.slept.append(timeout)
        self.now += timeout


class GatedClock(FakeClock):
    """A waiter sleeps until the limiter is notified (a release): ``advance`` alone wakes nobody,
    so a test can move time while a waiter provably still waits."""

    def wait(self, cond: threading.Condition, timeout: float | None) -> None:
        cond.wait(5.0)  # the bound only keeps a broken test from hanging
