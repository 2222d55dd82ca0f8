"""How figures read on the page: one formatter per column kind, shared by the PDF, the e-mail and
the tests (which look for exactly these strings in the extracted PDF text)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from digest.model import ColumnKind

DASH = "—"


def money(value: Decimal | int | str | None, currency: str = "$") -> str:
    """Whole currency units with thousands separators: '$12,345', '−$1,200'."""
    if value is None:
        return DASH
    amount = Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    sign = "−" if amount < 0 else ""
    return f"{sign}{currency}{abs(amount):,}"


def _as_date(value: date | str) -> date:
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def day(value: date | str | None) -> str:
    """'Fri 20 Nov 2026'."""
    if value is None or value == "":
        return DASH
    value = _as_date(value)
    return f"{value:%a} {value.day} {value:%b %Y}"


def short_day(value: date | str | None) -> str:
    """'8 Dec 2026' where space is tight."""
    if value is None or value == "":
        return DASH
    value = _as_date(value)
    return f"{value.day} {value:%b %Y}"


def ratio(value: Decimal | float | str | None) -> str:
    """Coverage ratios: '1.35×'."""
    if value is None:
        return DASH
    return f"{Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}×"


def weeks(value: Decimal | float | str | None) -> str:
    """Runway in weeks: '8.4 weeks'; None means the balance never falls below the reserve."""
    if value is None:
        return "beyond the horizon"
    number = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{number} week" if number == 1 else f"{number} weeks"


def cell(value: Any, kind: ColumnKind) -> str:
    if value is None or value == "":
        return DASH
    if kind == "money":
        return money(value)
    if kind == "date":
        return day(value)
    if kind == "ratio":
        return ratio(value)
    if kind == "days":
        return f"{int(value)} d"
    if kind == "weeks":
        return weeks(value)
    if kind == "percent":
        return f"{Decimal(str(value)) * 100:.0f}%"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def kpi_value(value: Any, kind: ColumnKind) -> str:
    if kind == "weeks":
        return weeks(value)
    return cell(value, kind)
