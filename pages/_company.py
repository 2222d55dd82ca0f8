"""Reading one company's figures out of ``runway.api.CompanyView`` for display.

Only selection and formatting: every number comes from the runway calculators as they are.
The plain-word answers come from the presentation layer (``oodaloo.present``), the same ones the
PDF prints, so the console and the digest agree.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from oodaloo import present


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
    from oodaloo.present import answer_chase, answer_payroll, answer_wait

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


def pick(row: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` the row carries (runway adds fields over time; read defensively)."""
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


def runway_lines(view: Any) -> list[str]:
    """The runway in labelled words: the P50 date, the P90 ("late payers") date, weeks to zero
    and the daily low point (each only when the forecast provides it)."""
    runway = first(view.runway)
    reserve = present.money(runway.get("reserve"))
    lines = []
    p50 = runway.get("breach_date")
    lines.append(
        f"**Below the {reserve} reserve (P50, usual payers):** "
        + (
            f"{present.day(p50)}, in {present.weeks(runway.get('runway_weeks'))}"
            if p50
            else "not within the forecast"
        )
    )
    p90 = pick(runway, "breach_date_p90")
    lines.append(
        "**Below the reserve if customers pay late (P90):** "
        + (
            f"{present.day(p90)}, in {present.weeks(runway.get('runway_weeks_p90'))}"
            if p90
            else "not within the forecast"
        )
    )
    zero_weeks = pick(runway, "weeks_to_zero", "runway_weeks_to_zero", "zero_weeks")
    zero_date = pick(runway, "zero_date", "date_to_zero", "zero_date_p50")
    if zero_weeks is not None or zero_date is not None or "zero_weeks" in runway:
        lines.append(
            "**Weeks until the balance reaches zero (P50):** "
            + (
                f"{present.weeks(zero_weeks)}"
                + (f", {present.day(zero_date)}" if zero_date else "")
                if zero_weeks is not None or zero_date is not None
                else "not within the forecast"
            )
        )
    low, low_date = daily_low(view)
    if low is not None:
        what = "Lowest daily balance" if has_daily_low(view) else "Lowest weekly closing"
        lines.append(
            f"**{what} (P50):** {present.money(low)}"
            + (f" on {present.day(low_date)}" if low_date else "")
            + (" — marked ◆ on the chart" if low_date else "")
        )
    return lines


def daily_low(view: Any) -> tuple[Any, Any]:
    """(lowest end-of-day balance, its date) on the P50 line: the forecast's daily low points
    (``low``, ``low_date`` per week) when it provides them, else the lowest weekly closing (dated
    by its week's end)."""
    forecast = view.forecast.filter(pl.col("line") == "p50")
    if {"low", "low_date"} <= set(forecast.columns) and forecast.height:
        row = first(forecast.sort("low", "low_date").head(1))
        return row.get("low"), row.get("low_date")
    runway = first(view.runway)
    low, week = runway.get("lowest_balance"), runway.get("lowest_week")
    if low is None:
        return None, None
    if week is not None and "week" in forecast.columns:
        return low, first(forecast.filter(pl.col("week") == week)).get("week_end")
    return low, None


def has_daily_low(view: Any) -> bool:
    return {"low", "low_date"} <= set(view.forecast.columns)


def key_figures(view: Any) -> list[tuple[str, str, str]]:
    """(label, value, note) for the metric row; values are the calculators' own numbers."""
    runway = first(view.runway)
    payroll = first(view.payroll.sort("seq"))
    ar = first(view.aging_ar.totals)
    overdue_ar = _dec(ar.get("total")) - _dec(ar.get("current"))
    weeks = runway.get("runway_weeks")
    breach = runway.get("breach_date")
    figures = [
        (
            "Cash",
            present.money(runway.get("cash")),
            f"in {present.plural(int(first(view.cash_position).get('accounts') or 0), 'account')}"
            f" · reserve {present.money(runway.get('reserve'))}",
        ),
        (
            "Runway (P50)",
            present.weeks_short(weeks if breach else None),
            f"below the reserve {present.day(breach)}"
            if breach
            else "never below the reserve in 104 weeks",
        ),
    ]
    if payroll:
        coverage = payroll.get("coverage")
        cover = (
            f"{present.ratio(coverage)} with late collections · "
            f"{present.status(payroll.get('status'))}"
            if coverage is not None
            else present.status(payroll.get("status"))
        )
        figures.append(
            (
                "Next payroll",
                present.money(payroll.get("amount")),
                f"{present.day(payroll.get('date'))} · {cover}",
            )
        )
    else:
        figures.append(("Next payroll", "none known", "no payroll detected or set"))
    figures.append(
        (
            "Overdue A/R",
            present.money(overdue_ar),
            f"{present.money(ar.get('d91_plus'))} is 91+ days late",
        )
    )
    figures.append(
        (
            "A/P due this week",
            present.money(ap_due_this_week(view)),
            f"through {present.day(view.as_of + timedelta(days=6))}",
        )
    )
    return figures


def accounts_table(view: Any) -> pl.DataFrame:
    """The cash position per account: name, currency, balance, whether it counts, as of when."""
    cash = view.cash
    if cash is None or cash.is_empty():
        return pl.DataFrame(schema={"account_name": pl.String})
    wanted = ["account_name", "currency", "balance", "included", "note", "balance_as_of"]
    frame = cash.select([c for c in wanted if c in cash.columns])
    if "included" in frame.columns:
        frame = frame.with_columns(
            pl.when(pl.col("included"))
            .then(pl.lit("Counted in cash"))
            .otherwise(pl.lit("Not counted"))
            .alias("included")
        )
    return frame


def show_pending(realm_id: str | None, view: Any = None) -> None:
    """Approved actions that have not finished (waiting to run or to retry), until they end."""
    import streamlit as st

    from pages import _approval

    rows = _approval.pending_actions(realm_id, view)
    if not rows:
        return
    st.warning(
        f"{present.plural(len(rows), 'approved action')} not finished yet: QuickBooks has not "
        "confirmed them. They are retried automatically; the figures include them once they are "
        "done.",
        icon=":material/pending:",
    )
    frame = pl.DataFrame(rows)
    if realm_id is not None:
        frame = frame.drop("Company")
    st.table(frame.to_pandas().set_index("Action"))  # plain text: read aloud, found, copied


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


def forecast_chart(view: Any) -> Any:
    """The 13-week chart of Runway (bars, both balance lines, reserve, payrolls, the daily low):
    one definition, used by the page and by the console's warm-up."""
    from oodaloo import charts

    return charts.forecast_chart(
        view.forecast, reserve(view), payroll_dates(view), low_point=daily_low(view)
    )


def aging_chart(view: Any, side: str) -> Any:
    """The aging bars of one side ("ar" or "ap")."""
    from oodaloo import charts

    return charts.aging_chart((view.aging_ar if side == "ar" else view.aging_ap).totals)


KIND_WORDS = {
    "invoice": "Invoice",
    "bill": "Bill",
    "payroll": "Payroll",
    "rent": "Rent",
    "loan": "Loan",
    "expected_invoice": "Expected billing (not invoiced yet)",
    "recurring": "Recurring",
}


def week_items(view: Any, week: int | None) -> pl.DataFrame:
    """The documents and recurring patterns behind one forecast week (P50 line), in words."""
    items = view.forecast_items.filter(pl.col("line") == "p50")
    if week is not None:
        items = items.filter(pl.col("week") == week)
    numbers = {
        (kind, str(r["doc_id"])): r["doc_number"]
        for kind, aging in (("invoice", view.aging_ar), ("bill", view.aging_ap))
        if aging.detail is not None and not aging.detail.is_empty()
        for r in aging.detail.select("doc_id", "doc_number").iter_rows(named=True)
    }
    rows = []
    for r in items.sort("date", "direction").iter_rows(named=True):
        kind = str(r.get("kind") or "")
        number = numbers.get((kind, str(r.get("source_id"))))
        rows.append(
            {
                "week": int(r["week"]) + 1,
                "date": r["date"],
                "direction": "Money in" if r.get("direction") == "in" else "Money out",
                "kind": KIND_WORDS.get(kind, present.words(kind).capitalize() or "—"),
                "party": r.get("party"),
                "source_id": f"{KIND_WORDS.get(kind, kind)} {number}" if number else "—",
                "amount": r.get("amount"),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "week": pl.Int32,
            "date": pl.Date,
            "direction": pl.String,
            "kind": pl.String,
            "party": pl.String,
            "source_id": pl.String,
            "amount": items.schema.get("amount", pl.Decimal(18, 2)),
        },
    )


def _dec(value: Any) -> Decimal:
    return Decimal("0") if value is None else Decimal(str(value))
