"""The in-memory books of one company while it is generated.

The simulation builds light records (plain classes, integer cents, day ordinals); ``render``
turns them into QBO JSON at the end, so balances are computed once, from the records, and
nothing is deep-copied or patched after the fact.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DAY = 86_400
CLOCK_TZ = "America/New_York"  # the sandbox clock is set to `today` 09:00 in this zone
CLOCK_HOUR = 9


def clock_now(today: date) -> datetime:
    """The sandbox clock for a demo built 'as of' ``today``: 09:00 in New York."""
    return datetime.combine(today, time(CLOCK_HOUR), ZoneInfo(CLOCK_TZ))


class Stamps:
    """QBO timestamps in the company's offset. A time is an int: local seconds since day 0."""

    def __init__(self, tz: str, today: date) -> None:
        self.zone = ZoneInfo(tz)
        now_local = clock_now(today).astimezone(self.zone).replace(tzinfo=None)
        self.limit = (
            now_local.toordinal() * DAY + now_local.hour * 3600 + now_local.minute * 60 - 120
        )
        self._offsets: dict[int, str] = {}

    def _offset(self, ordinal: int, hour: int) -> str:
        key = ordinal * 24 + hour
        text = self._offsets.get(key)
        if text is None:
            local = datetime.combine(date.fromordinal(ordinal), time(hour), self.zone)
            minutes = int(local.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]  # aware
            sign = "-" if minutes < 0 else "+"
            text = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
            self._offsets[key] = text
        return text

    def fmt(self, t: int) -> str:
        ordinal, secs = divmod(t, DAY)
        hour, rest = divmod(secs, 3600)
        minute, second = divmod(rest, 60)
        return (
            f"{date.fromordinal(ordinal).isoformat()}T{hour:02d}:{minute:02d}:{second:02d}"
            f"{self._offset(ordinal, hour)}"
        )

    def cap(self, t: int) -> int:
        """Nothing is created or updated after the sandbox clock."""
        return t if t <= self.limit else self.limit - (t % 1800)

    def utc(self, t: int) -> datetime:
        ordinal, secs = divmod(t, DAY)
        local = datetime.combine(date.fromordinal(ordinal), time(), self.zone) + timedelta(
            seconds=secs
        )
        return local.astimezone(UTC)


class Rec:
    """A document in the making. ``kind`` is the QBO entity name."""

    __slots__ = (
        "kind",
        "id",
        "day",
        "created",
        "updated",
        "sync",
        "party",
        "lines",
        "total",
        "applied",
        "due",
        "term",
        "note",
        "voided",
        "extra",
        "account",
    )

    def __init__(self, kind: str, day: int, party: Any = None, account: Any = None) -> None:
        self.kind = kind
        self.id = ""
        self.day = day
        self.created = 0
        self.updated = 0
        self.sync = 0
        self.party = party  # customer / vendor record (or None)
        self.account = account  # bank / card account record the money moves through
        self.lines: list[tuple] = []
        self.total = 0
        self.applied: list[tuple[Rec, int]] = []  # payments applied to this invoice / bill
        self.due: int | None = None
        self.term: Any = None
        self.note: str | None = None
        self.voided = False
        self.extra: dict[str, Any] = {}

    def touch(self, t: int) -> None:
        """An edit: SyncToken goes up by one and LastUpdatedTime moves forward."""
        self.sync += 1
        self.updated = max(self.updated, t, self.created + 1)

    @property
    def applied_total(self) -> int:
        return sum(amount for _, amount in self.applied)

    @property
    def balance(self) -> int:
        return 0 if self.voided else self.total - self.applied_total

    @property
    def due_day(self) -> int:
        """``due`` of a record that has one (invoice, bill; an estimate's expiration day).

        The simulation reads it only after ``issue``/``enter`` set it; asking a record without
        one is a generator bug, so it fails loudly instead of comparing with None."""
        if self.due is None:
            raise ValueError(f"{self.kind} {self.id or '(unsaved)'} has no due day")
        return self.due


class Party:
    """Customer, vendor, account, term or item: list entities created when the company starts."""

    __slots__ = ("kind", "id", "name", "created", "updated", "sync", "attrs")

    def __init__(self, kind: str, name: str, **attrs: Any) -> None:
        self.kind = kind
        self.id = ""
        self.name = name
        self.created = 0
        self.updated = 0
        self.sync = 0
        self.attrs = attrs

    def __getattr__(self, key: str) -> Any:  # only reached for attrs
        try:
            return self.attrs[key]
        except KeyError:
            raise AttributeError(key) from None

    def ref(self) -> dict[str, str]:
        return {"value": self.id, "name": self.name}


class Books:
    """Ids, clock, records and the event queue of one company."""

    def __init__(self, rng: random.Random, tz: str, today: date, start: date) -> None:
        self.rng = rng
        self.stamps = Stamps(tz, today)
        self.today = today.toordinal()
        self.start = start.toordinal()
        self._next_id = 2  # CompanyInfo is "1"
        self.parties: list[Party] = []
        self.records: list[Rec] = []
        self.skipped_ids: list[str] = []
        self._queue: list[tuple[int, int, int, Callable[..., object], tuple]] = []
        self._seq = 0

    # ---- ids and time ---------------------------------------------------------------
    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id - 1)

    def skip_ids(self, count: int) -> None:
        """Documents created and then deleted: their Ids are gone, nothing else remains."""
        for _ in range(count):
            self.skipped_ids.append(self.new_id())

    def moment(self, day: int, lo_hour: int = 8, hi_hour: int = 18) -> int:
        """A plausible local time on ``day`` (never after the sandbox clock)."""
        return self.stamps.cap(day * DAY + self.rng.randrange(lo_hour * 3600, hi_hour * 3600))

    # ---- records ----------------------------------------------------------------------
    def add_party(self, party: Party, day: int) -> Party:
        party.id = self.new_id()
        party.created = party.updated = self.moment(day, 7, 9)
        self.parties.append(party)
        return party

    def add(self, rec: Rec, created: int | None = None) -> Rec:
        rec.id = self.new_id()
        rec.created = rec.updated = created if created is not None else self.moment(rec.day)
        self.records.append(rec)
        return rec

    # ---- events ------------------------------------------------------------------------
    def at(self, day: int, priority: int, fn: Callable[..., object], *args: Any) -> None:
        """Schedule ``fn(day, *args)``; events after today never happen (documents stay open).

        ``fn``'s return value (often the record it made) is ignored."""
        if day > self.today:
            return
        heapq.heappush(self._queue, (day, priority, self._seq, fn, args))
        self._seq += 1

    def run(self) -> None:
        queue = self._queue
        while queue:
            day, _, _, fn, args = heapq.heappop(queue)
            fn(day, *args)


def business_day(day: int, forward: bool = True) -> int:
    """Move a Saturday/Sunday to the next Monday (or the previous Friday)."""
    weekday = date.fromordinal(day).weekday()
    if weekday < 5:
        return day
    return day + (7 - weekday) if forward else day - (weekday - 4)


def month_starts(start: int, end: int) -> list[date]:
    """The first day of every month from ``start``'s month to ``end``'s month."""
    first = date.fromordinal(start).replace(day=1)
    out = []
    while first.toordinal() <= end:
        out.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return out


def month_day(first: date, day_of_month: int) -> int:
    """Ordinal of ``day_of_month`` in ``first``'s month, clamped to the month's last day."""
    last = ((first + timedelta(days=32)).replace(day=1) - timedelta(days=1)).day
    return first.replace(day=min(day_of_month, last)).toordinal()
