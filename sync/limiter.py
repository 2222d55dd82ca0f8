"""Per-company rate limiter with two lanes, inside QBO's limits (500/min, 10/s, 10 in flight).

* ``user`` (an owner's click) may spend every token; ``sync`` (background) keeps a reserve and
  yields whenever a user call is waiting.
* A 429 pauses the whole company (60 s or the server's hint) and halves its rates (AIMD: the
  factor then creeps back up with each success).
* Time comes from an injectable ``Clock`` so tests run on a fake clock
  (``tests/sync/fake_clocks.py``).

One limiter per realm per process (``registry()``); the work is parallel across realms."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sync.errors import ThrottledError

if TYPE_CHECKING:
    from oodaloo.config import Settings

LANES = ("user", "sync")


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wait(self, cond: threading.Condition, timeout: float | None) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, cond: threading.Condition, timeout: float | None) -> None:
        cond.wait(timeout)


@dataclass(frozen=True)
class Limits:
    """QBO's published per-realm ceilings and how much of them background sync may use."""

    per_second: float = 10.0
    per_minute: float = 500.0
    in_flight: int = 10
    sync_per_second: float = 8.0
    sync_per_minute: float = 400.0
    sync_in_flight: int = 6
    throttle_pause_seconds: float = 60.0
    aimd_decrease: float = 0.5
    aimd_increase: float = 0.02
    aimd_floor: float = 0.2

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The ceilings configured in ``Settings`` (sync lane = ceiling minus the user reserve)."""
        keep = 1.0 - settings.sync_user_reserve
        return cls(
            per_second=settings.qbo_requests_per_second,
            per_minute=settings.qbo_requests_per_minute,
            sync_per_second=max(1.0, settings.qbo_requests_per_second * keep),
            sync_per_minute=max(1.0, settings.qbo_requests_per_minute * keep),
            throttle_pause_seconds=settings.qbo_throttle_pause_seconds,
        )

    def caps(self, lane: str, factor: float) -> tuple[float, float, int]:
        if lane == "user":
            return (
                max(1.0, self.per_second * factor),
                max(1.0, self.per_minute * factor),
                self.in_flight,
            )
        if lane == "sync":
            return (
                max(1.0, self.sync_per_second * factor),
                max(1.0, self.sync_per_minute * factor),
                self.sync_in_flight,
            )
        raise ValueError(f"unknown lane {lane!r}: expected one of {LANES}")


class RealmLimiter:
    """The limiter of one company."""

    def __init__(self, limits: Limits | None = None, clock: Clock | None = None) -> None:
        self.limits = limits or Limits()
        self.clock = clock or RealClock()
        self._cond = threading.Condition()
        self._starts: deque[float] = deque()
        self._in_flight = 0
        self._user_waiting = 0
        self._paused_until = 0.0
        self.factor = 1.0
        self.throttled = 0

    # ---- state -----------------------------------------------------------------------------
    def _prune(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - 60.0:
            self._starts.popleft()

    def _wait_needed(self, lane: str, now: float) -> float | None:
        """0 if a call may start now; seconds to wait for a time-based limit; None to wait for an
        event."""
        if now < self._paused_until:
            return self._paused_until - now
        if lane == "sync" and self._user_waiting:
            return None
        per_s, per_min, flight = self.limits.caps(lane, self.factor)
        if self._in_flight >= flight:
            return None
        self._prune(now)
        if len(self._starts) >= int(per_min):
            return self._starts[-int(per_min)] + 60.0 - now
        recent = [t for t in self._starts if t > now - 1.0]
        if len(recent) >= int(per_s):
            return recent[-int(per_s)] + 1.0 - now
        return 0.0

    def _take(self, now: float) -> None:
        self._starts.append(now)
        self._in_flight += 1

    # ---- API -------------------------------------------------------------------------------
    def try_acquire(self, lane: str = "sync") -> bool:
        with self._cond:
            now = self.clock.monotonic()
            if self._wait_needed(lane, now) == 0.0:
                self._take(now)
                return True
            return False

    def acquire(self, lane: str = "sync", timeout: float | None = None) -> None:
        """Block until this lane may start a call (``timeout`` in clock seconds -> TimeoutError)."""
        with self._cond:
            deadline = None if timeout is None else self.clock.monotonic() + timeout
            if lane == "user":
                self._user_waiting += 1
            try:
                while True:
                    now = self.clock.monotonic()
                    wait = self._wait_needed(lane, now)
                    if wait == 0.0:
                        self._take(now)
                        return
                    if deadline is not None:
                        left = deadline - now
                        if left <= 0:
                            raise TimeoutError(f"rate limiter: no {lane} slot within {timeout} s")
                        wait = left if wait is None else min(wait, left)
                    self.clock.wait(self._cond, wait if wait is None else max(wait, 0.001))
            finally:
                if lane == "user":
                    self._user_waiting -= 1
                    self._cond.notify_all()

    def release(self, throttled: bool = False) -> None:
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            if not throttled:
                self.factor = min(1.0, self.factor + self.limits.aimd_increase)
            self._cond.notify_all()

    def penalize(self, retry_after: float | None = None) -> None:
        """QBO answered 429: pause the company and slow down (multiplicative decrease)."""
        with self._cond:
            pause = (
                min(retry_after, 600.0)
                if retry_after and retry_after > 0
                else self.limits.throttle_pause_seconds
            )
            self._paused_until = max(self._paused_until, self.clock.monotonic() + pause)
            self.factor = max(self.limits.aimd_floor, self.factor * self.limits.aimd_decrease)
            self.throttled += 1
            self._cond.notify_all()

    @contextmanager
    def slot(self, lane: str = "sync") -> Iterator[None]:
        self.acquire(lane)
        throttled = False
        try:
            yield
        except ThrottledError:
            throttled = True  # the 429 itself is handled by ``penalize``: no additive increase
            raise
        finally:
            self.release(throttled=throttled)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def users_waiting(self) -> int:
        """User-lane calls blocked in ``acquire`` right now (sync yields to them)."""
        with self._cond:
            return self._user_waiting

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock.monotonic())


class LimiterRegistry:
    """One limiter per realm (per process)."""

    def __init__(self, limits: Limits | None = None, clock: Clock | None = None) -> None:
        self.limits = limits or Limits()
        self.clock = clock or RealClock()
        self._limiters: dict[str, RealmLimiter] = {}
        self._lock = threading.Lock()

    def configure(self, limits: Limits) -> None:
        """Adopt new ceilings (from Settings) for every company, present and future."""
        with self._lock:
            if limits == self.limits:
                return
            self.limits = limits
            for limiter in self._limiters.values():
                with limiter._cond:
                    limiter.limits = limits
                    limiter._cond.notify_all()

    def for_realm(self, realm_id: str) -> RealmLimiter:
        with self._lock:
            limiter = self._limiters.get(realm_id)
            if limiter is None:
                limiter = self._limiters[realm_id] = RealmLimiter(self.limits, self.clock)
            return limiter


_default: LimiterRegistry | None = None
_default_lock = threading.Lock()


def registry() -> LimiterRegistry:
    """The process-wide registry (shared by the sync engine and the action executor)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = LimiterRegistry()
        return _default
