"""The words of tray rows: money as whole dollars, dates in the product's one format, weeks to
the reserve — vectorised Polars expressions, so a firm's tray is worded in one pass."""

from __future__ import annotations

import polars as pl


def grouped(whole: pl.Expr) -> pl.Expr:
    """A non-negative integer with thousands separators (5800 -> "5,800"), vectorised."""
    return (
        whole.cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.strip_suffix(",")
        .str.reverse()
    )


def day(column: str) -> pl.Expr:
    """A date inside row text in the product's one date format ('Fri 4 Dec 2026', as
    oodaloo.present.day writes it), so the tray's words match every other date on the page."""
    when = pl.col(column)
    return pl.concat_str(
        when.dt.strftime("%a "), when.dt.day().cast(pl.String), when.dt.strftime(" %b %Y")
    )


def dollars(value: pl.Expr) -> pl.Expr:
    """Money as whole dollars with separators and a sign ("$12,300", "-$4,100")."""
    whole = value.cast(pl.Float64).round(0).cast(pl.Int64)
    return pl.format(
        "{}${}", pl.when(whole < 0).then(pl.lit("-")).otherwise(pl.lit("")), grouped(whole.abs())
    )


def weeks(value: pl.Expr) -> pl.Expr:
    """Weeks to the reserve to one decimal ("4.3 weeks"), "not reached" when it never is."""
    return (
        pl.when(value.is_null())
        .then(pl.lit("not reached"))
        .otherwise(pl.format("{} weeks", value.round(1)))
    )
