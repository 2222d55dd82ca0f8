"""The Cash Console's tray rows in words: document numbers, "due in 7 days", each row's effect
(the balance on the next payday, the next payroll's coverage, the weeks to the reserve) before →
after. Kept out of the page script so it can be imported and tested without drawing a page."""

import polars as pl

from oodaloo import present
from pages import _approval


def tray_table(view: object, rows: pl.DataFrame) -> pl.DataFrame:
    """The tray rows with the words a reader needs: the document number and "due in 7 days"."""
    numbers = {key[1]: (doc.get("number") or "—") for key, doc in _approval.documents(view).items()}
    as_of = view.as_of  # type: ignore[attr-defined]  # a runway CompanyView
    rows = rows.with_columns(
        pl.Series("effect_payday", [_payday(r) for r in rows.iter_rows(named=True)], pl.String),
        pl.Series("effect_coverage", [_cover(r) for r in rows.iter_rows(named=True)], pl.String),
        pl.Series("effect_reserve", [_reserve(r) for r in rows.iter_rows(named=True)], pl.String),
        pl.Series("contact_text", [_contact(r) for r in rows.iter_rows(named=True)], pl.String),
        pl.Series("credit_text", [_credit(r) for r in rows.iter_rows(named=True)], pl.String),
    )
    if "payday" in rows.columns:  # the words above replace the tray's own effect sentence
        rows = rows.drop("effect_text", strict=False)
    return rows.with_columns(
        pl.col("doc_id")
        .map_elements(lambda d: numbers.get(str(d), "—"), return_dtype=pl.String)
        .alias("doc_number"),
        pl.col("due_date")
        .map_elements(lambda d: present.due_phrase(d, as_of), return_dtype=pl.String)
        .alias("due_text"),
    )


def _payday(row: dict) -> str | None:
    if row.get("no_effect_reason"):
        return str(row["no_effect_reason"])
    if row.get("payday") is None:
        return None
    before, after = row.get("payday_balance_before"), row.get("payday_balance_after")
    payday = f"{present.day(row['payday'])}: {present.money(before)} → {present.money(after)}"
    if before == after and row.get("moved_low_date") is not None:
        # the change lands after the payday: show the lowest day it does move instead
        return (
            f"{present.day(row['payday'])}: unchanged · lowest day moved, "
            f"{present.day(row['moved_low_date'])}: {present.money(row.get('moved_low_before'))}"
            f" → {present.money(row.get('moved_low_after'))}"
        )
    return payday


def _cover(row: dict) -> str | None:
    if row.get("coverage_before") is None and row.get("coverage_after") is None:
        return None
    return (
        f"{present.ratio(row.get('coverage_before'))} → {present.ratio(row.get('coverage_after'))}"
    )


def _reserve(row: dict) -> str | None:
    if "reserve_weeks_before" not in row:
        return None
    never = "never below"
    return (
        f"{present.weeks(row.get('reserve_weeks_before'), none_text=never)} → "
        f"{present.weeks(row.get('reserve_weeks_after'), none_text=never)}"
    )


def _contact(row: dict) -> str | None:
    if row.get("reminded_on"):
        return f"reminded {present.day(row['reminded_on'])}"
    if row.get("contact") == "call":
        return "call (no e-mail on file)"
    return row.get("email")


def _credit(row: dict) -> str | None:
    if not row.get("credit_id"):
        return None
    kind = "Unapplied payment" if row.get("credit_type") == "Payment" else "Credit memo"
    return f"{kind} of {present.money_exact(row.get('credit_amount'))}"
