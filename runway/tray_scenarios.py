"""The prep tray's re-runs: which one change each row re-runs (a bill paid today, delayed to its
latest safe date or left out; an invoice collected when a reminder likely brings it, or not within
the horizon), and the forecast re-run with each of them — every scenario of every company in one
vectorised pass on integer cents — with, per row, the lowest balance among the days its change
moves (the effect of a row the owner does not feel on the payday or in the weeks to the reserve).
``runway.tray_effects`` reads them as before → after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import numpy as np
import polars as pl

from runway.forecast import (
    BASE,
    HORIZON_DAYS,
    SCENARIO_SCHEMA,
    daily_paths,
    finish_stats,
    path_stats,
    scenario_items,
    signed,
)
from runway.money import MONEY, zero

SCENARIOS_PER_SECTION = 25  # per company: the tray shows the top rows; the long tail is not re-run


def cap_scenarios(tray: pl.DataFrame, per_section: int = SCENARIOS_PER_SECTION) -> pl.DataFrame:
    """Keep a scenario (so a re-run forecast) only for each company's top ``per_section`` must-pay
    and can-delay rows (largest amount) and chase rows (highest score); the rest get scenario_id
    null, hence no effect — a firm of 500 companies otherwise re-runs ~150k forecasts nobody
    looks at."""
    weight = (
        pl.when(pl.col("section") == "chase")
        .then(pl.col("score"))
        .otherwise(pl.col("amount").cast(pl.Float64))
    )
    place = weight.rank("ordinal", descending=True).over("realm_id", "section")
    return tray.with_columns(
        scenario_id=pl.when(pl.col("scenario_id").is_not_null() & (place <= per_section)).then(
            pl.col("scenario_id")
        )
    )


PRIOR = {"chase": "uncollected", "can_delay": "paynow"}  # the alternative a row is weighed against


def prior_id() -> pl.Expr:
    """The scenario a chase or can-delay row's effect starts from: the invoice not collected
    within the horizon, the bill paid today; null for other rows (they start from the base)."""
    section = pl.col("section")
    return (
        pl.when(pl.col("scenario_id").is_null())
        .then(None)
        .when(section == "chase")
        .then(pl.format("{}:{}", pl.lit(PRIOR["chase"]), "doc_id"))
        .when(section == "can_delay")
        .then(pl.format("{}:{}", pl.lit(PRIOR["can_delay"]), "doc_id"))
    )


def effect_pair() -> tuple[pl.Expr, pl.Expr]:
    """(from_id, to_id): the two re-runs a row's effect goes between, before → after its own
    action — paying a must-pay item goes from "without it" to the base, delaying a bill from
    "paid today" to "paid on its latest safe date", collecting an invoice from "not collected
    within the horizon" to "collected when a reminder likely brings it"; null when not re-run."""
    rerun, paying = pl.col("scenario_id").is_not_null(), pl.col("section") == "must_pay"
    start = (
        pl.when(~rerun)
        .then(None)
        .when(paying)
        .then(pl.col("scenario_id"))
        .otherwise(pl.coalesce(prior_id(), pl.lit(BASE)))
    )
    end = (
        pl.when(~rerun).then(None).when(paying).then(pl.lit(BASE)).otherwise(pl.col("scenario_id"))
    )
    return start.alias("from_id"), end.alias("to_id")


def recurring_occurrences(sched: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """realm_id, source_id, occurrence, line, date: the forecast item of each expected recurring
    occurrence, per line. The forecast pays an occurrence its vendor's usual days after the
    expected date (a shift fixed per vendor and line), so a pattern's occurrences, in date order,
    are its items in date order (the horizon only cuts the tail)."""
    order = pl.int_range(pl.len())
    occ = (
        sched.filter(pl.col("covered_by_bill").is_null())
        .select("realm_id", pl.col("pattern_id").alias("source_id"), pl.col("date").alias("occ"))
        .sort("realm_id", "source_id", "occ")
        .with_columns(k=order.over("realm_id", "source_id"))
    )
    paid = (
        items.filter(pl.col("kind") == "recurring")
        .select("realm_id", "source_id", "line", "date")
        .sort("realm_id", "source_id", "line", "date")
        .with_columns(k=order.over("realm_id", "source_id", "line"))
    )
    return occ.join(paid, on=["realm_id", "source_id", "k"], how="inner").select(
        "realm_id", "source_id", pl.col("occ").alias("occurrence"), "line", "date"
    )


def scenarios_of(
    tray: pl.DataFrame, as_of: date, occurrences: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The scenarios of the capped rows: a delayable bill paid on its latest safe date (and, to
    weigh it against, paid today), a chase invoice collected when a reminder would likely bring it
    (and not collected within the horizon), a must-pay bill or expected recurring occurrence
    removed (new_date null).

    ``occurrences`` (``recurring_occurrences``): where the forecast pays each recurring
    occurrence, per line; a recurring row's scenario then names those items (one scenario row
    per distinct date), not the expected date the forecast shifts them from."""
    rows = tray.filter(pl.col("scenario_id").is_not_null())
    kind = (
        pl.when(pl.col("section") == "chase")
        .then(pl.lit("invoice"))
        .otherwise(pl.col("doc_type"))
        .alias("kind")
    )
    from_date = (
        pl.when(pl.col("doc_type") == "recurring").then(pl.col("due_date")).alias("from_date")
    )
    own = rows.select(
        "realm_id", "scenario_id", kind, pl.col("doc_id").alias("source_id"), "new_date", from_date
    )
    prior = rows.filter(pl.col("section").is_in(list(PRIOR))).select(
        "realm_id",
        prior_id().alias("scenario_id"),
        kind,
        pl.col("doc_id").alias("source_id"),
        pl.when(pl.col("section") == "can_delay").then(pl.lit(as_of)).alias("new_date"),
        from_date,
    )
    if occurrences is not None and occurrences.height:
        on_items = occurrences.select(
            "realm_id", "source_id", pl.col("occurrence").alias("from_date"), "date"
        ).unique()
        own = (
            own.join(on_items, on=["realm_id", "source_id", "from_date"], how="left")
            .with_columns(from_date=pl.coalesce("date", "from_date"))
            .drop("date")
            .unique(maintain_order=True)
        )
    return pl.concat([own.cast(SCENARIO_SCHEMA), prior.cast(SCENARIO_SCHEMA)])


CHUNK = 20_000  # scenarios per numpy block (bounded memory: CHUNK × 91 int64)


def _cents(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).round(0).cast(pl.Int64)


def _money_from_cents(expr: pl.Expr | pl.Series) -> pl.Expr:
    return (expr.cast(pl.Decimal(20, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)


def _paydays(payroll: pl.DataFrame | None, realms: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per realm index r: the next payday's day index (-1: none in the horizon), payroll amount
    and the P90 cash available for it (coverage's numerator) in cents."""
    if payroll is None or payroll.height == 0:
        nxt = pl.DataFrame(
            schema={"realm_id": pl.String, "date": pl.Date, "amount": MONEY, "avail": MONEY}
        )
    else:
        nxt = payroll.filter(pl.col("seq") == 1).select(
            "realm_id",
            "date",
            "amount",
            (pl.col("cash_before_p90") - pl.col("must_pay_before")).alias("avail"),
        )
    day = (pl.col("date") - pl.lit(as_of)).dt.total_days()
    return (
        realms.join(nxt, on="realm_id", how="left")
        .sort("r")
        .select(
            "r",
            pl.when(day.is_between(0, HORIZON_DAYS - 1)).then(day).otherwise(-1).alias("pay_day"),
            _cents(pl.col("avail").fill_null(zero())).alias("avail_c"),
        )
    )


def _moved_paths(
    matrix: np.ndarray, r: np.ndarray, a: np.ndarray, b: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """Each scenario's path (cents, scenario × day): its company's base path with one item of
    signed amount s moved from day a to day b. The change s·(1[d ≥ b] − 1[d ≥ a]) is +s on
    [b, a) when the item moves earlier and −s on [a, b) when later: one window, one mask."""
    d = np.arange(matrix.shape[1])
    path: np.ndarray = matrix[r]  # a copy (fancy indexing): the base stays as it is
    window = (d >= np.minimum(a, b)[:, None]) & (d < np.maximum(a, b)[:, None])
    path += window * np.where(b < a, s, -s)[:, None]
    return path


def effects(
    items: pl.DataFrame,
    *,
    cash: pl.DataFrame,
    reserve: pl.DataFrame,
    scenarios: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
    payroll: pl.DataFrame | None = None,
    uncounted: pl.DataFrame | None = None,
    pairs: pl.DataFrame | None = None,
    base_paths: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(re-runs, moved low points). The re-runs: realm_id, scenario_id, breach_date,
    runway_weeks, runway_days, lowest_balance (P50 line), payday_balance (P50, end of the next
    payday) and payday_avail_delta (the change to the P90 cash available for the next payroll,
    coverage's numerator) for the base and every scenario: the forecast re-run with each single
    change.

    A scenario moves one item from day a to day b (b past the horizon when it is removed), so its
    path is the base path plus s·(1[d ≥ b] − 1[d ≥ a]); all scenarios are evaluated together on
    integer cents (exact money), block by block, against the base path of their company. The P90
    line is needed only just before the payday, so it is evaluated in closed form there.
    ``uncounted`` (realm_id, scenario_id): scenarios whose item coverage leaves out (a bill the
    tray can delay past the payday), so they cannot change it.

    The moved low points (``moved_low_points``) of ``pairs`` (realm_id, from_id, to_id: the two
    re-runs a row's effect goes between, ``effect_pair``).

    ``base_paths``: the base P50 daily paths (``daily_paths`` of these items and cash, P50 line),
    when the caller has them already (the pipeline computes them for the runway): not recomputed."""
    if base_paths is None:
        base_paths = daily_paths(items, cash, as_of, lines=("p50",))
    base = path_stats(base_paths, cash, reserve, as_of, trend)
    realms = base_paths.select("realm_id").unique().sort("realm_id").with_row_index("r")
    matrix = (
        base_paths.sort("realm_id", "day")
        .select(_cents(pl.col("balance")))
        .to_series()
        .to_numpy()
        .reshape(realms.height, HORIZON_DAYS)
    )
    pay = _paydays(payroll, realms.with_columns(pl.col("r").cast(pl.Int64)), as_of)
    pay_day = pay["pay_day"].to_numpy()
    rows = np.arange(realms.height)
    base_payday = np.where(pay_day >= 0, matrix[rows, np.clip(pay_day, 0, None)], 0)
    base_extra = realms.select(
        "realm_id",
        pl.lit(BASE).alias("scenario_id"),
        pl.when(pl.Series(pay_day) >= 0)
        .then(_money_from_cents(pl.Series(base_payday)))
        .alias("payday_balance"),
        pl.lit(0, dtype=pl.Int64).alias("payday_avail_delta_c"),
    )
    keep = [
        "realm_id",
        "scenario_id",
        "breach_date",
        "runway_weeks",
        "runway_days",
        "lowest_balance",
        "payday_balance",
        "payday_avail_delta",
    ]
    finish: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame.with_columns(
        payday_avail_delta=_money_from_cents(pl.col("payday_avail_delta_c"))
    )
    base = finish(base.join(base_extra, on=["realm_id", "scenario_id"], how="left"))
    if scenarios.height == 0:
        return base.select(keep), no_low_points()
    res = (
        realms.join(reserve, on="realm_id", how="left")
        .sort("r")
        .select(_cents(pl.col("reserve").fill_null(zero())))
        .to_series()
        .to_numpy()
    )
    day_of: Callable[[str], pl.Expr] = lambda col: (
        (pl.col(col) - pl.lit(as_of)).dt.total_days().clip(0, HORIZON_DAYS).cast(pl.Int32)
    )
    # collecting an invoice never makes it later than the forecast already expects it, and
    # delaying a bill never pays it earlier than the forecast does (its usual day may be later)
    collect = (pl.col("kind") == "invoice") & pl.col("new_date").is_not_null()
    delay = pl.col("scenario_id").str.starts_with("delay:")
    moves = (
        # only the kinds scenarios move (a firm's items are mostly expected billing and spend)
        scenario_items(
            items.filter(pl.col("kind").is_in(scenarios.get_column("kind").unique().implode())),
            scenarios,
        )
        .join(realms, on="realm_id", how="inner")
        .with_columns(a=day_of("date"), b=day_of("new_date").fill_null(HORIZON_DAYS))
        .with_columns(
            b=pl.when(collect)
            .then(pl.min_horizontal("a", "b"))
            .when(delay)
            .then(pl.max_horizontal("a", "b"))
            .otherwise(pl.col("b"))
        )
        .group_by("realm_id", "r", "scenario_id", "line", "a", "b")
        .agg(_cents(signed(items)).sum().alias("s"))
    )
    # P90 line: the change to the cash just before the payday (flows dated before it)
    p90 = moves.filter(pl.col("line") == "p90")
    if uncounted is not None and uncounted.height:
        p90 = p90.join(uncounted, on=["realm_id", "scenario_id"], how="anti")
    r9, a9, b9, s9 = (p90[c].to_numpy() for c in ("r", "a", "b", "s"))
    before = pay_day[r9] - 1  # last day whose flows land before the payday
    delta90 = np.where(
        before >= 0, s9 * ((before >= b9).astype(np.int64) - (before >= a9).astype(np.int64)), 0
    )
    avail = (
        p90.select("realm_id", "scenario_id")
        .with_columns(d=pl.Series(delta90, dtype=pl.Int64))
        .group_by("realm_id", "scenario_id")
        .agg(pl.col("d").sum().alias("payday_avail_delta_c"))
    )
    moves = moves.filter(pl.col("line") == "p50").sort("realm_id", "scenario_id")
    lows = no_low_points() if pairs is None else moved_low_points(matrix, moves, pairs, as_of)
    r, a, b, s = (moves[c].to_numpy() for c in ("r", "a", "b", "s"))
    breach, lowest, lowest_day, closing, payday = (
        np.empty(len(r), dtype=np.int64) for _ in range(5)
    )
    for start in range(0, len(r), CHUNK):  # blocks of scenarios, not documents
        sl = slice(start, start + CHUNK)
        path = _moved_paths(matrix, r[sl], a[sl], b[sl], s[sl])
        below = path < res[r[sl], None]
        first = below.argmax(axis=1)
        idx = np.arange(path.shape[0])
        breach[sl] = np.where(below[idx, first], first, -1)
        lowest_day[sl] = path.argmin(axis=1)
        lowest[sl] = path[idx, lowest_day[sl]]
        closing[sl] = path[:, -1]
        payday[sl] = path[idx, np.clip(pay_day[r[sl]], 0, None)]
    has_payday = pl.Series(pay_day[r] >= 0)
    stats = moves.select("realm_id", "scenario_id").with_columns(
        line=pl.lit("p50"),
        breach_day=pl.Series(breach).replace(-1, None).cast(pl.Int32),
        lowest_balance=_money_from_cents(pl.Series(lowest)),
        lowest_day=pl.Series(lowest_day).cast(pl.Int32),
        closing_end=_money_from_cents(pl.Series(closing)),
        payday_balance=pl.when(has_payday).then(_money_from_cents(pl.Series(payday))),
    )
    scen = finish(
        finish_stats(stats, cash, reserve, as_of, trend)
        .join(avail, on=["realm_id", "scenario_id"], how="left")
        .with_columns(pl.col("payday_avail_delta_c").fill_null(0))
    )
    return pl.concat([base.select(keep), scen.select(keep)]).sort("realm_id", "scenario_id"), lows


LOW_POINT_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "from_id": pl.String(),
        "to_id": pl.String(),
        "moved_low_date": pl.Date(),
        "moved_low_before": MONEY,
        "moved_low_after": MONEY,
    }
)


def no_low_points() -> pl.DataFrame:
    return pl.DataFrame(schema=LOW_POINT_SCHEMA)


def moved_low_points(
    matrix: np.ndarray, moves: pl.DataFrame, pairs: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """realm_id, from_id, to_id, moved_low_date, moved_low_before, moved_low_after: where a row's
    change is first felt when it moves neither the next payday, the payroll's coverage nor the
    weeks to the reserve — the lowest P50 balance (the earliest such day) among the days whose
    balance the change moves, before → after. A bill paid before the payday either way still
    lifts the balance on the days between today and its new date; a collection after the
    payday still lifts the later low points.

    ``matrix``: the base P50 path per company (cents, realm index × day); ``moves``: the p50
    moves of every scenario (realm_id, r, scenario_id, a, b, s). Both re-runs of a pair move the
    same item from its forecast day a (to b_from and b_to; a re-run without a move, as the base,
    leaves it at a), so they differ exactly on the days from min(b_from, b_to) up to
    max(b_from, b_to): the from-path there is the base plus s·(1[d ≥ b_from] − 1[d ≥ a]), and
    the to-path the same with b_to."""
    move = moves.select("realm_id", "scenario_id", "r", "a", "b", "s")

    def side(key: str, tag: str) -> pl.DataFrame:
        return move.rename({"scenario_id": key} | {c: f"{c}_{tag}" for c in ("r", "a", "b", "s")})

    joined = (
        pairs.join(side("from_id", "f"), on=["realm_id", "from_id"], how="left")
        .join(side("to_id", "t"), on=["realm_id", "to_id"], how="left")
        .with_columns(
            r=pl.coalesce("r_f", "r_t"), a=pl.coalesce("a_f", "a_t"), s=pl.coalesce("s_f", "s_t")
        )
        .with_columns(b_from=pl.coalesce("b_f", "a"), b_to=pl.coalesce("b_t", "a"))
        .filter(
            pl.col("r").is_not_null() & (pl.col("b_from") != pl.col("b_to")) & (pl.col("s") != 0)
        )
    )
    r, a, s, bf, bt = (
        joined[c].cast(pl.Int64).to_numpy() for c in ("r", "a", "s", "b_from", "b_to")
    )
    lo, hi = np.minimum(bf, bt), np.maximum(bf, bt)
    d = np.arange(matrix.shape[1])
    low_day, before = (np.empty(len(r), dtype=np.int64) for _ in range(2))
    for start in range(0, len(r), CHUNK):
        sl = slice(start, start + CHUNK)
        path = _moved_paths(matrix, r[sl], a[sl], bf[sl], s[sl])
        moved = (d >= lo[sl, None]) & (d < hi[sl, None])
        low_day[sl] = np.where(moved, path, np.iinfo(np.int64).max).argmin(axis=1)
        before[sl] = path[np.arange(path.shape[0]), low_day[sl]]
    after = before + s * ((low_day >= bt).astype(np.int64) - (low_day >= bf))
    return joined.select(
        "realm_id",
        "from_id",
        "to_id",
        (pl.lit(as_of) + pl.duration(days=pl.lit(pl.Series(low_day)))).alias("moved_low_date"),
        _money_from_cents(pl.Series(before, dtype=pl.Int64)).alias("moved_low_before"),
        _money_from_cents(pl.Series(after, dtype=pl.Int64)).alias("moved_low_after"),
    ).cast(LOW_POINT_SCHEMA)
