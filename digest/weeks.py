"""ISO weeks and the Friday 07:00 cut-off that defines "what we knew then" for a week's digest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DIGEST_WEEKDAY = 4  # Friday (Monday is 0)
DIGEST_TIME = time(7, 0)
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO week such as 2026-W47; its digest describes the company as of that week's Friday."""

    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError as exc:
            raise ValueError(f"not an ISO week: {self.year}-W{self.week:02d} ({exc})") from None

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK_RE.match(text.strip())
        if not match:
            raise ValueError(f"week must look like 2026-W47, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def friday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 5)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(days=7))

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(days=7))

    def cutoff(self, tz: str) -> datetime:
        """Friday 07:00 in ``tz`` as an aware UTC datetime: the moment this week's digest is due."""
        local = datetime.combine(self.friday, DIGEST_TIME, tzinfo=zone(tz))
        return local.astimezone(UTC)

    def span_text(self) -> str:
        """'16–22 Nov 2026' for headers."""
        start, end = self.monday, self.sunday
        if start.month == end.month:
            return f"{start.day}–{end.day} {end:%b %Y}"
        if start.year == end.year:
            return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
        return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


def zone(tz: str) -> ZoneInfo:
    """A ZoneInfo, with an error that names the bad setting."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {tz!r} (expected an IANA name like America/New_York)"
        ) from None


def latest_due_week(now: datetime, tz: str) -> IsoWeek:
    """The newest week whose Friday 07:00 in ``tz`` is at or before ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    week = IsoWeek.of(now.astimezone(zone(tz)).date())
    return week if week.cutoff(tz) <= now else week.previous()
