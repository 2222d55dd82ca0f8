"""Small shared frame helpers: the company list, home-currency conversion, week numbering."""

from __future__ import annotations

from datetime import date
from typing import Protocol

import polars as pl

from runway.money import MONEY, as_money

HORIZON_WEEKS = 13
# an invoice note that marks a dispute ("Disputed — awaiting …"): the tray's Disputed section and
# the forecast's collection dates read it the same way
DISPUTE_NOTE = r"(?i)disput"


class Tables(Protocol):
    """What calculators read their inputs from: a ``Snapshot`` or a plain ``{table: frame}`` dict
    (tests, benchmarks) — anything that hands out a store table's frame by name."""

    def __getitem__(self, table: str, /) -> pl.DataFrame: ...


def companies(company_info: pl.DataFrame) -> pl.DataFrame:
    """realm_id, company_name, home_currency — one row per company, sorted."""
    return (
        company_info.select(
            "realm_id",
            pl.col("company_name").fill_null(pl.col("realm_id")),
            pl.col("home_currency").fill_null("USD"),
        )
        .unique("realm_id", keep="last")
        .sort("realm_id")
    )


def to_home_currency(
    frame: pl.DataFrame, company_info: pl.DataFrame, amount: str, out: str
) -> pl.DataFrame:
    """Add ``out`` = ``amount`` in home currency and ``fx_ok`` (False: foreign without a rate).

    Documents in the home currency pass through; foreign ones are converted with their own
    ExchangeRate (QBO: home = foreign × rate); without a rate they are marked, never summed.
    """
    homes = companies(company_info).select("realm_id", "home_currency")
    rate = (
        pl.col("exchange_rate")
        if "exchange_rate" in frame.columns
        else pl.lit(None, dtype=pl.Decimal(18, 6))
    )
    return (
        frame.join(homes, on="realm_id", how="left")
        .with_columns(
            currency=pl.col("currency").fill_null(pl.col("home_currency").fill_null("USD"))
        )
        .with_columns(
            fx_ok=(pl.col("currency") == pl.col("home_currency").fill_null("USD"))
            | rate.is_not_null(),
        )
        .with_columns(
            pl.when(pl.col("currency") == pl.col("home_currency").fill_null("USD"))
            .then(pl.col(amount))
            .otherwise(as_money(pl.col(amount) * rate))
            .cast(MONEY)
            .alias(out)
        )
        .drop("home_currency")
    )


def week_of(day: pl.Expr, as_of: date) -> pl.Expr:
    """Forecast week index: week 0 starts on as_of; anything earlier lands in week 0."""
    return ((day - pl.lit(as_of)).dt.total_days().clip(lower_bound=0) // 7).cast(pl.Int32)


def days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days().cast(pl.Int32)
