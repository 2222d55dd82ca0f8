"""The product's notion of "now": the sandbox's controllable clock when we talk to a sandbox,
otherwise the system clock. Calculations never call this; they take ``as_of``."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx

from oodaloo.config import Settings
from oodaloo.timezone import DEFAULT_TZ as DEFAULT_TZ  # re-exported: the one default zone
from oodaloo.wiring import http_client

# Remote endpoints that turned out not to be a sandbox (Intuit): asked once per process, then
# the system clock is used without a request. The embedded sandbox is always asked (its clock
# may be frozen or jump).
_not_a_sandbox: set[str] = set()
_lock = threading.Lock()


def now(settings: Settings) -> datetime:
    """UTC-aware current time as the QBO we talk to sees it."""
    base = settings.api_base
    if base in _not_a_sandbox:
        return datetime.now(UTC)
    try:
        with http_client(settings, timeout=2.0) as client:
            response = client.get(f"{base}/admin/clock")
        if response.status_code == 200:
            value = response.json()["now"]
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        if not settings.uses_embedded_sandbox and response.status_code in (401, 403, 404, 405):
            with _lock:
                _not_a_sandbox.add(base)  # a real QBO answered: it has no admin clock
    except (httpx.HTTPError, KeyError, ValueError):
        pass  # unreachable right now: ask again next time
    return datetime.now(UTC)


def today(settings: Settings, tz: str | None = None) -> date:
    """The calendar date in a company's time zone."""
    return now(settings).astimezone(ZoneInfo(tz or DEFAULT_TZ)).date()
