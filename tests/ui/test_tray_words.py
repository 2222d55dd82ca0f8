"""The Cash Console's tray rows in words (pages/_tray.py): each effect column says before → after
with the figures of the row, and a change that lands after the payday shows the day it moves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import polars as pl

from pages import _tray

AS_OF = date(2026, 11, 20)


def view_with_bill(doc_id: str, number: str) -> SimpleNamespace:
    detail = pl.DataFrame(
        {
            "doc_id": [doc_id],
            "party_name": ["Bright & Loom"],
            "doc_number": [number],
            "due_date": [date(2026, 11, 27)],
            "balance": [Decimal("3750.00")],
        }
    )
    empty = SimpleNamespace(detail=None)
    return SimpleNamespace(as_of=AS_OF, aging_ar=empty, aging_ap=SimpleNamespace(detail=detail))


def tray_row(**effect: object) -> pl.DataFrame:
    row: dict[str, object] = {
        "doc_id": "1111",
        "due_date": date(2026, 11, 27),
        "payday": date(2026, 12, 4),
        "payday_balance_before": Decimal("40000.00"),
        "payday_balance_after": Decimal("40000.00"),
        "coverage_before": 1.2,
        "coverage_after": 1.2,
        "reserve_weeks_before": 6.0,
        "reserve_weeks_after": 6.0,
        "moved_low_date": None,
        "moved_low_before": None,
        "moved_low_after": None,
        "no_effect_reason": None,
        "effect_text": "lifts the lowest balance",
    }
    row.update(effect)
    return pl.DataFrame([row])


def test_a_change_after_the_payday_names_the_lowest_day_it_moves() -> None:
    rows = tray_row(
        moved_low_date=date(2026, 12, 11),
        moved_low_before=Decimal("33797.00"),
        moved_low_after=Decimal("40049.00"),
    )
    out = _tray.tray_table(view_with_bill("1111", "B-1111"), rows).row(0, named=True)
    assert out["effect_payday"] == (
        "Fri 4 Dec 2026: unchanged · lowest day moved, Fri 11 Dec 2026: $33,797 → $40,049"
    )
    assert out["doc_number"] == "B-1111" and out["due_text"] == "due in 7 days"
    assert "effect_text" not in out  # the columns above replace the tray's own sentence


def test_a_change_before_the_payday_shows_the_payday_balance() -> None:
    rows = tray_row(
        payday_balance_after=Decimal("43750.00"),
        coverage_after=1.35,
        moved_low_date=date(2026, 12, 1),
        moved_low_before=Decimal("30000.00"),
        moved_low_after=Decimal("33750.00"),
    )
    out = _tray.tray_table(view_with_bill("1111", "B-1111"), rows).row(0, named=True)
    assert out["effect_payday"] == "Fri 4 Dec 2026: $40,000 → $43,750"
    assert out["effect_coverage"] == "1.20× → 1.35×"
    assert out["effect_reserve"] == "6.0 weeks → 6.0 weeks"


def test_a_row_without_an_effect_says_why() -> None:
    rows = tray_row(no_effect_reason="not in the forecast: more than 90 days overdue")
    out = _tray.tray_table(view_with_bill("9", "—"), rows).row(0, named=True)
    assert out["effect_payday"] == "not in the forecast: more than 90 days overdue"
    assert out["doc_number"] == "—"  # a document the aging does not know reads as a dash
