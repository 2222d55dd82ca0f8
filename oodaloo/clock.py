"""The product's notion of "now": the sandbox's controllable clock when we talk to a sandbox,
otherwise the system clock. Calculations never call this; they take ``as_of``."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import httpx

from oodaloo.config import Settings
from oodaloo.wiring import http_client

DEFAULT_TZ = "America/New_York"


def now(settings: Settings) -> datetime:
    """UTC-aware current time as the QBO we talk to sees it."""
    try:
        with http_client(settings, timeout=2.0) as client:
            response = client.get(f"{settings.api_base}/admin/clock")
        if response.status_code == 200:
            value = response.json()["now"]
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    except (httpx.HTTPError, KeyError, ValueError):
        pass
    return datetime.now(timezone.utc)


def today(settings: Settings, tz: str | None = None) -> date:
    """The calendar date in a company's time zone."""
    return now(settings).astimezone(ZoneInfo(tz or DEFAULT_TZ)).date()
