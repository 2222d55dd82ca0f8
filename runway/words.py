"""Words inside calculator rows (the tray's reasons and effects, drift's changes): money as whole
dollars, dates in the product's one format, weeks to the reserve — vectorised Polars
expressions, so a firm's rows are worded in one pass and read like the rest of the page."""

from __future__ import annotations

import polars as pl

from runway.money import MINUS, whole_dollars_text


def day(column: str) -> pl.Expr:
    """A date inside row text in the product's one date format ('Fri 4 Dec 2026', as
    oodaloo.present.day writes it), so the tray's words match every other date on the page."""
    when = pl.col(column)
    return pl.concat_str(
        when.dt.strftime("%a "), when.dt.day().cast(pl.String), when.dt.strftime(" %b %Y")
    )


def dollars(value: pl.Expr) -> pl.Expr:
    """Money as whole dollars with separators and a sign ("$12,300", "−$4,100"), half-up."""
    return whole_dollars_text(value)


KIND_WORDS = {
    "card_payment": "card payments",
    "owner_draw": "owner draws",
    "estimated_tax": "estimated tax",
    "loan": "loan payments",
    "subscription": "subscriptions",
    "refund": "refunds",
    "other": "other spending",
}


def kind_words(kind: pl.Expr) -> pl.Expr:
    """A kind of spending in words inside a row's name ("owner draws", never "owner_draw");
    a kind without words of its own reads as itself, its underscores as spaces."""
    return kind.replace_strict(KIND_WORDS, default=kind.str.replace_all("_", " "))


def weeks(value: pl.Expr) -> pl.Expr:
    """Weeks to the reserve to one decimal ("4.3 weeks"), "not reached" when it never is."""
    return (
        pl.when(value.is_null())
        .then(pl.lit("not reached"))
        .otherwise(pl.format("{} weeks", value.round(1)))
    )


def ratio(value: pl.Expr) -> pl.Expr:
    """A coverage ratio inside row text as every table writes it (``oodaloo.present.ratio``):
    two decimals, half-up, the product's minus sign ("1.80×", "−0.05×"), never "1.8×" beside a
    table's "1.81×". Coverage ratios are exact thousandths (``runway.payroll.coverage_ratio``):
    rounded to cents in integers, so no float decides a tie."""
    thousandths = (value * 1000).round(0, mode="half_away_from_zero").cast(pl.Int64)
    cents = (thousandths.abs() + 5) // 10
    sign = pl.when((thousandths < 0) & (cents > 0)).then(pl.lit(MINUS)).otherwise(pl.lit(""))
    return pl.format(
        "{}{}.{}×",
        sign,
        cents // 100,
        (cents % 100).cast(pl.String).str.zfill(2),
    )
