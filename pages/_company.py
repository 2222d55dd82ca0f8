"""Reading one company's figures out of ``runway.api.CompanyView`` for display.

Only selection and formatting: every number comes from the runway calculators as they are.
The plain-word answers are the digest's (``digest.figures``), so the console and the PDF agree.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from pages import _ui


def first(frame: pl.DataFrame) -> dict[str, Any]:
    return frame.row(0, named=True) if frame is not None and frame.height else {}


def doc_numbers(view: Any) -> dict[str, str]:
    detail = view.aging_ar.detail
    return {
        str(r["doc_id"]): str(r["doc_number"] or r["doc_id"])
        for r in detail.select("doc_id", "doc_number").iter_rows(named=True)
    }


def tray_section(view: Any, section: str) -> pl.DataFrame:
    return view.tray.filter(pl.col("section") == section).sort("rank")


def answers(view: Any) -> dict[str, str]:
    """The owner's three questions, answered in plain words (insights, never advice)."""
    from digest.figures import answer_chase, answer_payroll, answer_wait

    payroll = view.payroll.sort("seq").to_dicts()
    return {
        "Is the next payroll covered?": answer_payroll(payroll),
        "Who is late, and whom to chase?": answer_chase(
            tray_section(view, "chase").to_dicts(), doc_numbers(view)
        ),
        "What can wait?": answer_wait(
            tray_section(view, "can_delay").to_dicts(), tray_section(view, "must_pay").to_dicts()
        ),
    }


def key_figures(view: Any) -> list[tuple[str, str, str]]:
    """(label, value, note) for the metric row; values are the calculators' own numbers."""
    runway = first(view.runway)
    payroll = first(view.payroll.sort("seq"))
    ar = first(view.aging_ar.totals)
    overdue_ar = _dec(ar.get("total")) - _dec(ar.get("current"))
    weeks = runway.get("runway_weeks")
    breach = runway.get("breach_date")
    figures = [
        ("Cash", _ui.money(runway.get("cash")), f"reserve {_ui.money(runway.get('reserve'))}"),
        (
            "Runway",
            _ui.weeks_short(weeks if breach else None),
            f"below the reserve {_ui.day(breach)}"
            if breach
            else "never below the reserve in 104 weeks",
        ),
    ]
    if payroll:
        coverage = payroll.get("coverage")
        cover = (
            f"covered {coverage:.2f}× ({payroll.get('status')})"
            if coverage is not None
            else str(payroll.get("status"))
        )
        figures.append(
            (
                "Next payroll",
                _ui.money(payroll.get("amount")),
                f"{_ui.day(payroll.get('date'))} · {cover}",
            )
        )
    else:
        figures.append(("Next payroll", "none known", "no payroll detected or set"))
    figures.append(
        ("Overdue A/R", _ui.money(overdue_ar), f"{_ui.money(ar.get('d91_plus'))} is 91+ days")
    )
    figures.append(
        (
            "A/P due this week",
            _ui.money(ap_due_this_week(view)),
            f"through {_ui.day(view.as_of + timedelta(days=6))}",
        )
    )
    return figures


def ap_due_this_week(view: Any) -> Decimal:
    """Open bills due from as_of through as_of + 6 days (overdue bills are in the aging)."""
    detail = view.aging_ap.detail
    if detail.is_empty():
        return Decimal("0.00")
    end = view.as_of + timedelta(days=6)
    due = detail.filter(pl.col("due_date").is_between(view.as_of, end))
    return _dec(due["balance"].sum()) if due.height else Decimal("0.00")


def payroll_dates(view: Any) -> list[Any]:
    dates = [r["date"] for r in view.payroll.iter_rows(named=True) if r.get("date") is not None]
    schedule = view.recurring_schedule
    if schedule.height:
        dates += schedule.filter(pl.col("kind") == "payroll")["date"].to_list()
    return sorted(set(dates))


def reserve(view: Any) -> Any:
    return first(view.runway).get("reserve")


def week_items(view: Any, week: int | None) -> pl.DataFrame:
    """The documents and recurring patterns behind one forecast week (P50 line)."""
    items = view.forecast_items.filter(pl.col("line") == "p50")
    if week is not None:
        items = items.filter(pl.col("week") == week)
    return items.select("week", "date", "direction", "kind", "party", "source_id", "amount").sort(
        "date", "direction"
    )


def _dec(value: Any) -> Decimal:
    return Decimal("0") if value is None else Decimal(str(value))
