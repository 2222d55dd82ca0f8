"""Every QBO request counted per company per day (Intuit meters reads per app per month).

Counts accumulate in memory and are flushed to state.sqlite every few seconds or requests and
when a client closes, so counting never costs an fsync per request."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from oodaloo.config import Settings
from sync import statedb

FLUSH_EVERY_REQUESTS = 50
FLUSH_EVERY_SECONDS = 5.0


def _day() -> str:
    return datetime.now(UTC).date().isoformat()


class RequestCounter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pending: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._unflushed = 0
        self._last_flush = time.monotonic()
        self._stored: dict[
            tuple[str, str], tuple[int, float]
        ] = {}  # flushed total, read at (monotonic)

    def used(self, realm_id: str) -> int:
        """Requests a company used today: stored (all processes; re-read every few seconds) plus
        this process's unflushed ones. Cheap enough to ask before every request."""
        key = (realm_id, _day())
        with self._lock:
            cached = self._stored.get(key)
        if cached is None or time.monotonic() - cached[1] > FLUSH_EVERY_SECONDS:
            with statedb.connect(self.settings) as con:
                row = con.execute(
                    "SELECT requests FROM qbo_request_counts WHERE realm_id=? AND day=?", key
                ).fetchone()
            cached = (int(row[0]) if row else 0, time.monotonic())
            with self._lock:
                self._stored[key] = cached
        return cached[0] + self.pending(realm_id, key[1])

    def add(self, realm_id: str, n: int = 1) -> None:
        with self._lock:
            key = (realm_id, _day())
            self._pending[key] = self._pending.get(key, 0) + n
            self._unflushed += n
            due = (
                self._unflushed >= FLUSH_EVERY_REQUESTS
                or time.monotonic() - self._last_flush > FLUSH_EVERY_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._unflushed = 0
            self._last_flush = time.monotonic()
        if not pending:
            return
        with self._lock:
            for key, n in pending.items():
                if key in self._stored:
                    total, at = self._stored[key]
                    self._stored[key] = (total + n, at)
        with statedb.immediate(self.settings) as con:
            con.executemany(
                "INSERT INTO qbo_request_counts(realm_id, day, requests) VALUES (?,?,?) "
                "ON CONFLICT(realm_id, day) DO UPDATE SET requests = requests + excluded.requests",
                [(realm, day, n) for (realm, day), n in pending.items()],
            )

    def pending(self, realm_id: str, day: str | None = None) -> int:
        with self._lock:
            return self._pending.get((realm_id, day or _day()), 0)


_counters: dict[str, RequestCounter] = {}
_counters_lock = threading.Lock()


def counter(settings: Settings) -> RequestCounter:
    """The process-wide counter for this data directory."""
    key = str(settings.state_path.resolve())
    with _counters_lock:
        if key not in _counters:
            _counters[key] = RequestCounter(settings)
        return _counters[key]


def requests_on(settings: Settings, realm_id: str, day: str | None = None) -> int:
    """Requests used by a company on a (UTC) day, including this process's unflushed ones."""
    day = day or _day()
    with statedb.connect(settings) as con:
        row = con.execute(
            "SELECT requests FROM qbo_request_counts WHERE realm_id=? AND day=?", (realm_id, day)
        ).fetchone()
    return (int(row[0]) if row else 0) + counter(settings).pending(realm_id, day)
