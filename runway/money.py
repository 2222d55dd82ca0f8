"""Money as Polars Decimal(18, 2): one dtype, one rounding rule, and the JSON string form."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

MONEY = pl.Decimal(18, 2)
RATE = pl.Decimal(18, 6)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MINUS = "−"  # a real minus sign (U+2212), in row text and on every page: reads better than "-"


def as_money(expr: pl.Expr) -> pl.Expr:
    """Back to Decimal(18, 2) after arithmetic widened the precision (Polars grows it to 38),
    rounding half-up (away from zero on a tie, as ``Decimal.ROUND_HALF_UP``): the house rule."""
    return expr.round(2, mode="half_away_from_zero").cast(MONEY)


def whole_dollars_text(value: pl.Expr, *, sign: bool = True) -> pl.Expr:
    """Money in row text as whole dollars, rounded half-up (the house rule), with thousands
    separators: "$12,345", "−$4,100" (``sign=False``: the digits only, "12,345"), vectorised so
    a firm's rows are worded in one pass; the sign is ``MINUS``, as the presentation layer's."""
    whole = value.round(0, mode="half_away_from_zero").cast(pl.Int64)
    digits = (
        whole.abs()
        .cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.strip_suffix(",")
        .str.reverse()
    )
    if not sign:
        return digits
    return pl.format("{}${}", pl.when(whole < 0).then(pl.lit(MINUS)).otherwise(pl.lit("")), digits)


def lit_money(value: Decimal | int | str | None) -> pl.Expr:
    return pl.lit(None if value is None else Decimal(str(value)).quantize(CENT), dtype=MONEY)


def zero() -> pl.Expr:
    return pl.lit(ZERO, dtype=MONEY)


def quantize(value: Decimal | int | float | str | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def jsonable(value: Any) -> Any:
    """Money as a decimal string, dates ISO, floats rounded for reading; recursive."""
    if isinstance(value, Decimal):
        return str(value.quantize(CENT))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return round(value, 2)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def jsonable_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """``jsonable`` of a mapping, typed as the JSON object it is (reports return these)."""
    return {str(k): jsonable(v) for k, v in value.items()}


def rows_json(
    frame: pl.DataFrame, columns: list[str] | None = None, rename: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """A frame as JSON-ready dicts (money strings, ISO dates)."""
    data = frame.select(columns) if columns else frame
    rename = rename or {}
    return [
        {rename.get(k, k): jsonable(v) for k, v in row.items()}
        for row in data.iter_rows(named=True)
    ]
