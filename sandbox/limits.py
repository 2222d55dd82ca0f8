"""QBO's per-realm throttling: requests per minute and per second, requests in flight, and a
separate per-minute budget for batch calls. Wall-clock (monotonic) windows, per process."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sandbox.config import RateLimits


class Throttled(Exception):
    """The request exceeded a limit (answered 429 / code 3001)."""


class _Realm:
    def __init__(self) -> None:
        self.second: deque[float] = deque()
        self.minute: deque[float] = deque()
        self.batch_minute: deque[float] = deque()
        self.in_flight = 0


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.lock = threading.Lock()
        self.realms: dict[str, _Realm] = {}

    @staticmethod
    def _trim(window: deque[float], now: float, span: float) -> None:
        while window and window[0] <= now - span:
            window.popleft()

    @contextmanager
    def admit(self, realm_id: str, *, batch: bool = False) -> Iterator[None]:
        """Hold one in-flight slot for the request, or raise Throttled."""
        if not self.limits.enabled:
            yield
            return
        with self.lock:
            state = self.realms.setdefault(realm_id, _Realm())
            now = self.clock()
            self._trim(state.second, now, 1.0)
            self._trim(state.minute, now, 60.0)
            self._trim(state.batch_minute, now, 60.0)
            if state.in_flight >= self.limits.in_flight:
                raise Throttled("too many requests in flight")
            if batch:
                if len(state.batch_minute) >= self.limits.batch_per_minute:
                    raise Throttled("batch requests per minute")
                state.batch_minute.append(now)
            else:
                if len(state.second) >= self.limits.per_second:
                    raise Throttled("requests per second")
                if len(state.minute) >= self.limits.per_minute:
                    raise Throttled("requests per minute")
                state.second.append(now)
                state.minute.append(now)
            state.in_flight += 1
        try:
            yield
        finally:
            with self.lock:
                state.in_flight -= 1
