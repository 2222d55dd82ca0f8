"""Time in QBO's wire formats: company-offset timestamps, dates and the loose ``changedSince``
forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_TZ = "America/Los_Angeles"


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo:
    """The company's time zone (unknown names fall back to QBO's default, Pacific)."""
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (KeyError, ValueError):
        return ZoneInfo(DEFAULT_TZ)


def to_epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def stamp(seconds: float, tz: str | None) -> str:
    """``YYYY-MM-DDTHH:MM:SS±HH:MM`` in the company's offset (MetaData timestamps)."""
    return from_epoch(seconds).astimezone(zone(tz)).isoformat(timespec="seconds")


def stamp_millis(seconds: float, tz: str | None) -> str:
    """The ``time`` member of every answer: milliseconds and the company offset."""
    return from_epoch(seconds).astimezone(zone(tz)).isoformat(timespec="milliseconds")


def local_date(seconds: float, tz: str | None) -> date:
    return from_epoch(seconds).astimezone(zone(tz)).date()


def parse_timestamp(text: str, tz: str | None) -> float:
    """A timestamp or date as clients send it: ``2026-11-20``, naive, ``Z`` or ``±HH:MM``.

    Naive values and bare dates are read in the company's zone, as QBO does.
    Raises ValueError with the offending text.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty timestamp")
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time(0))
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError as exc:
        raise ValueError(f"not a date or timestamp: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz))
    return moment.timestamp()


def parse_date(text: str) -> date:
    return date.fromisoformat(str(text)[:10])


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
