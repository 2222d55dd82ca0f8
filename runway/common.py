"""Small shared frame helpers: the company list, home-currency conversion, week numbering."""

from __future__ import annotations

from collections.abc import Sequence
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
    home = pl.col("_home")
    return (
        _with_home_currency(frame, homes)
        .with_columns(currency=pl.col("currency").fill_null(home))
        .with_columns(fx_ok=(pl.col("currency") == home) | rate.is_not_null())
        .with_columns(
            pl.when(pl.col("currency") == home)
            .then(pl.col(amount))
            .otherwise(as_money(pl.col(amount) * rate))
            .cast(MONEY)
            .alias(out)
        )
        .drop("_home")
    )


def _with_home_currency(frame: pl.DataFrame, homes: pl.DataFrame) -> pl.DataFrame:
    """``frame`` + ``_home``: its company's home currency (USD for a company not in ``homes``).
    Why not always a join: most firms keep every company in one home currency, and then a
    constant does it without joining half a million rows on ``realm_id`` (this runs in many
    calculators)."""
    distinct = homes["home_currency"].unique()
    if distinct.len() != 1:
        return (
            frame.join(homes, on="realm_id", how="left")
            .with_columns(_home=pl.col("home_currency").fill_null("USD"))
            .drop("home_currency")
        )
    only = str(distinct[0])
    if only == "USD":
        return frame.with_columns(_home=pl.lit("USD"))
    return frame.with_columns(
        _home=pl.when(pl.col("realm_id").is_in(homes["realm_id"].implode()))
        .then(pl.lit(only))
        .otherwise(pl.lit("USD"))
    )


def week_of(day: pl.Expr, as_of: date) -> pl.Expr:
    """Forecast week index: week 0 starts on as_of; anything earlier lands in week 0."""
    return ((day - pl.lit(as_of)).dt.total_days().clip(lower_bound=0) // 7).cast(pl.Int32)


def days_between(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return (later - earlier).dt.total_days().cast(pl.Int32)


def packed_order_key(frame: pl.DataFrame, columns: Sequence[str]) -> pl.Expr | None:
    """One unsigned integer that sorts ``frame``'s rows as ``columns`` (strings and dates) do, or
    None when a column holds nulls, is of another type, or the ranks do not fit in 64 bits.

    Why: a sort on string keys row-encodes every string; these keys have few distinct values
    (companies, customer ids, ~100 or ~1000 days), so each is replaced by its lexical rank (a
    string's rank among the sorted distinct values, a date's day number from the first) and
    the ranks are packed, most significant first — the same order at the cost of integers."""
    if (
        frame.height == 0
        or frame.select(pl.any_horizontal(pl.col(*columns).is_null()).any()).item()
    ):
        return None
    key: pl.Expr | None = None
    total = 0
    for name in columns:
        dtype = frame.schema[name]
        if dtype == pl.String:
            values = frame.get_column(name).unique().sort()  # lexical, as the string sort
            rank = pl.col(name).cast(pl.Enum(values)).to_physical().cast(pl.UInt64)
            width = max(values.len() - 1, 1).bit_length()
        elif dtype == pl.Date:
            first, last = frame.select(pl.col(name).min().alias("a"), pl.col(name).max()).row(0)
            rank = (pl.col(name) - pl.lit(first)).dt.total_days().cast(pl.UInt64)
            width = max((last - first).days, 1).bit_length()
        else:
            return None
        total += width
        if total > 64:
            return None
        key = rank if key is None else key * (1 << width) + rank
    return key


def shared_codes(
    left: pl.DataFrame, right: pl.DataFrame, left_on: Sequence[str], right_on: Sequence[str]
) -> tuple[pl.Expr, pl.Expr] | None:
    """(left code, right code): one unsigned integer per key tuple, equal on both sides exactly
    when the string keys are (null where a key is null, so a null matches nothing, as in a
    join on the strings); None when the keys' distinct values do not fit in 64 bits.

    Why: a join or grouping on string keys hashes and compares every string; on a firm's half a
    million invoices and their payments, numbering the (few) distinct values of each key once
    and joining on the packed numbers does less work for the same rows."""
    if not left_on or len(left_on) != len(right_on):
        raise ValueError("shared_codes needs as many right keys as left keys, at least one")
    left_key: pl.Expr | None = None
    right_key: pl.Expr | None = None
    total = 0
    for a, b in zip(left_on, right_on, strict=True):
        values = pl.concat([left.get_column(a).unique(), right.get_column(b).unique()])
        codes = pl.Enum(values.unique().drop_nulls())
        width = max(len(codes.categories), 2).bit_length()
        total += width
        if total > 64:
            return None
        on_left, on_right = (pl.col(c).cast(codes).to_physical().cast(pl.UInt64) for c in (a, b))
        left_key = on_left if left_key is None else left_key * (1 << width) + on_left
        right_key = on_right if right_key is None else right_key * (1 << width) + on_right
    return (left_key, right_key) if left_key is not None and right_key is not None else None


def sorted_by(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``frame`` sorted by ``columns`` (rows equal in all of them keep their order): on their
    packed ranks (``packed_order_key``) where they pack — a large frame sorted on strings
    row-encodes every one — else on the columns themselves. The same order either way."""
    key = packed_order_key(frame, columns)
    if key is None:
        return frame.sort(*columns, maintain_order=True)
    return (
        frame.with_columns(key.alias("_order")).sort("_order", maintain_order=True).drop("_order")
    )


def in_group_order(
    frame: pl.DataFrame, keys: list[str], by: str, *, in_order: bool = False
) -> pl.DataFrame:
    """``frame`` sorted by ``keys`` then ``by`` (rows equal in all of them keep their order in
    ``frame``), with ``_g`` (the group's number, in that order), ``_first`` (the group's first
    row) and ``_from_end`` (0 on the group's last row, 1 before it…).

    Why: per-group statistics written as expressions inside ``group_by().agg`` (``diff``,
    ``tail``, ``mode``) run group by group — slow with tens of thousands of groups. Computed once
    on the ordered rows instead (a gap is ``diff`` where not ``_first``; the last three are
    ``_from_end < 3``), the aggregation is left with plain sums, means and extremes that Polars
    runs vectorised, grouped on one integer key. The sort is on the keys' packed ranks
    (``packed_order_key``) where they pack, else on the keys themselves; stable either way, so
    the order, and every figure read from it, does not depend on how the sort is done.
    ``in_order``: ``frame`` is already in that order (``sorted_by`` it, then perhaps filtered):
    not sorted again — a stable sort then a filter is the filter then the stable sort."""
    ordered = frame if in_order else sorted_by(frame, *keys, by)
    first = pl.any_horizontal(pl.col(k) != pl.col(k).shift(1) for k in keys).fill_null(True)
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    last = pl.col("_g") != pl.col("_g").shift(-1)
    return (
        ordered.with_columns(_first=first)
        .with_columns(_g=pl.col("_first").cum_sum())
        .with_columns(
            _from_end=pl.when(last.fill_null(True)).then(row).backward_fill() - row,
        )
    )


def group_size() -> pl.Expr:
    """Each row's group size, on frames from ``in_group_order``: its groups are runs of rows, so
    the size is read from the row's position (``_first``, ``_from_end``) without hashing keys."""
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    start = pl.when(pl.col("_first")).then(row).forward_fill()
    return row - start + pl.col("_from_end") + 1


def gap_days(by: str = "date") -> pl.Expr:
    """Days since the previous row of the same group (null on a group's first row) on frames from
    ``in_group_order``."""
    return pl.when(~pl.col("_first")).then(pl.col(by).diff().dt.total_days())


def last_three(column: str) -> list[pl.Expr]:
    """Aggregations (over frames from ``in_group_order``) of a group's last three ``column``
    values, for ``middle_of_last_three``."""
    last3 = pl.when(pl.col("_from_end") < 3).then(pl.col(column))
    return [
        last3.sum().alias("_l3_sum"),
        last3.max().alias("_l3_max"),
        last3.min().alias("_l3_min"),
    ]


def middle_of_last_three(count: str) -> pl.Expr:
    """After ``last_three``: the middle of a group's last three values once sorted (with two, the
    larger; with one, itself) — sum − largest − smallest, exact for money. ``count``: the
    column holding the group's row count."""
    return (
        pl.when(pl.col(count) < 3)
        .then(pl.col("_l3_max"))
        .otherwise(pl.col("_l3_sum") - pl.col("_l3_max") - pl.col("_l3_min"))
    )


def with_usual_day_of_month(ordered: pl.DataFrame, by: str = "date") -> pl.DataFrame:
    """``ordered`` (from ``in_group_order``) + ``_usual``: per row, its group's most frequent day
    of the month of ``by`` (the smallest such day on a tie)."""
    dom = pl.col(by).dt.day()
    return (
        ordered.with_columns(_seen=pl.len().over(pl.col("_g") * 32 + dom))
        .with_columns(_top=pl.col("_seen").max().over("_g"))
        .with_columns(_usual=pl.when(pl.col("_seen") == pl.col("_top")).then(dom))
        .with_columns(_usual=pl.col("_usual").min().over("_g"))
        .drop("_seen", "_top")
    )
