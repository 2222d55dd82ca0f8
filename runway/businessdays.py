"""The US banking calendar: weekends and the Federal Reserve's holidays, so a payday that falls on
one moves to the business day before (money has to be in the account when the run clears).

The Federal Reserve's holidays (12 CFR 7.2 / the Fed's K.8 schedule): New Year's Day, Martin
Luther King Jr. Day (3rd Monday of January), Washington's Birthday (3rd Monday of February),
Memorial Day (last Monday of May), Juneteenth (June 19), Independence Day (July 4), Labor Day (1st
Monday of September), Columbus Day (2nd Monday of October), Veterans Day (November 11),
Thanksgiving (4th Thursday of November), Christmas (December 25). A fixed-date holiday on a Sunday
is observed on the Monday after; on a Saturday the banks stay open the Friday before (the Fed's
rule), so only the Saturday itself is closed — which is a weekend anyway.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import polars as pl

FIXED = ((1, 1), (6, 19), (7, 4), (11, 11), (12, 25))
# (month, weekday Monday=0, nth: 1.. or -1 for the last)
FLOATING = ((1, 0, 3), (2, 0, 3), (5, 0, -1), (9, 0, 1), (10, 0, 2), (11, 3, 4))


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


@cache
def us_bank_holidays(year: int) -> frozenset[date]:
    """The days US banks are closed for a holiday in ``year`` (observed dates)."""
    days = set()
    for month, dom in FIXED:
        day = date(year, month, dom)
        if day.weekday() == 6:  # Sunday: observed Monday
            day += timedelta(days=1)
        days.add(day)
    for month, weekday, nth in FLOATING:
        days.add(_nth_weekday(year, month, weekday, nth))
    return frozenset(days)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in us_bank_holidays(day.year)


def business_day_on_or_before(day: date) -> date:
    """``day`` itself when the banks are open, else the business day before it."""
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def payday_calendar(start: date, end: date) -> pl.DataFrame:
    """date, business_date: every day from ``start`` to ``end`` with the business day on or before
    it (a join table, so frames of dates move without a Python call per row)."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return pl.DataFrame(
        {"date": days, "business_date": [business_day_on_or_before(d) for d in days]},
        schema={"date": pl.Date, "business_date": pl.Date},
    )
