"""The forecast's own benchmark: forecasts made as of past Fridays from the point-in-time books,
compared with what the bank balance really did, beside a naive baseline measured in the same run.

For every Friday F of the last ``weeks`` weeks (F + 7 days ≤ today, so at least one week is known):

* books = ``books_as_of(snapshot, F, known_only=True)`` (nothing dated or created after F), the
  whole pipeline run as of F; its P50 / P90 weekly closings;
* actual = the bank balance (the Bank accounts the forecast starts from) at the end of each
  forecast week, rebuilt from today's balance minus the movements after it;
* naive = the true opening carried forward at the trailing 13 weeks' average weekly net flow;
* errors at weeks 1, 4, 8 and 12 as a share of a month's outflows (the trailing 13 weeks' bank
  outflows ÷ 3); per company and overall the median absolute error of both, their ratio, the
  P90 calibration (share of weeks the actual ends at or above the P90 line) and reserve breaches
  predicted (P50 daily low below the reserve in a known week) vs happened (the actual end-of-day
  balance below it in that week).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from runway.cash import cash_accounts_for
from runway.money import jsonable
from runway.pointintime import bank_flows, books_as_of
from runway.snapshot import Snapshot

HORIZONS = (1, 4, 8, 12)
TRAILING_WEEKS = 13
FRIDAY = 4  # date.weekday()


@dataclass(frozen=True)
class Backtest:
    """``weeks``: one row per (realm, Friday, horizon week) compared; ``summary``: per company and
    "ALL"; ``fridays``: the dates forecast from."""

    weeks: pl.DataFrame
    summary: pl.DataFrame
    fridays: list[date]


def fridays_before(today: date, weeks: int) -> list[date]:
    """The Fridays of the last ``weeks`` weeks that have at least one whole week after them."""
    last = today - timedelta(days=7)
    last -= timedelta(days=(last.weekday() - FRIDAY) % 7)
    return sorted(last - timedelta(days=7 * k) for k in range(weeks))


def daily_bank(snapshot: Snapshot, start: date, end: date) -> pl.DataFrame:
    """realm_id, day, balance (end of day), outflow (that day's money out): the home-currency Bank
    accounts the forecast opens with, from ``start`` to ``end`` inclusive."""
    banks = cash_accounts_for(snapshot, end).filter(pl.col("included"))
    # a foreign account's movements at the rate its balance is converted at today
    flows = (
        bank_flows(snapshot)
        .join(
            banks.select("realm_id", "account_id", pl.col("rate").cast(pl.Float64).fill_null(1.0)),
            on=["realm_id", "account_id"],
            how="inner",
        )
        .with_columns(flow=pl.col("flow").cast(pl.Float64) * pl.col("rate"))
    )
    daily = flows.group_by("realm_id", pl.col("txn_date").alias("day")).agg(
        pl.col("flow").sum().alias("net"),
        pl.col("flow").filter(pl.col("flow") < 0).sum().abs().alias("outflow"),
    )
    now = banks.group_by("realm_id").agg(pl.col("balance").sum().cast(pl.Float64).alias("now"))
    days = pl.DataFrame({"day": pl.date_range(start, end, "1d", eager=True)})
    # balance at end of D = now − the net of everything dated after D
    after_end = (
        daily.filter(pl.col("day") > end)
        .group_by("realm_id")
        .agg(pl.col("net").sum().alias("tail"))
    )
    return (
        now.join(after_end, on="realm_id", how="left")
        .join(days, how="cross")
        .join(daily, on=["realm_id", "day"], how="left")
        .with_columns(pl.col("net").fill_null(0.0), pl.col("outflow").fill_null(0.0))
        .sort("realm_id", "day", descending=[False, True])
        .with_columns(
            balance=pl.col("now")
            - pl.col("tail").fill_null(0.0)
            - (pl.col("net").cum_sum().over("realm_id") - pl.col("net"))
        )
        .select("realm_id", "day", "balance", "outflow")
        .sort("realm_id", "day")
    )


Forecaster = Callable[[Snapshot, date], Any]  # (point-in-time books, as_of) -> FirmView-like


def run_backtest(
    snapshot: Snapshot,
    today: date,
    weeks: int = 26,
    forecaster: Forecaster | None = None,
    company: pl.DataFrame | None = None,
) -> Backtest:
    """Forecast as of every Friday of the last ``weeks`` weeks and compare (see module docstring).
    ``company``: per-company settings frame (``runway.pipeline.compute``'s)."""
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, not {weeks}")
    if forecaster is None:
        from runway.pipeline import CalculatorInputs, compute

        forecaster = lambda books, as_of: compute(CalculatorInputs(books, as_of, company=company))
    fridays = fridays_before(today, weeks)
    start = fridays[0] - timedelta(days=7 * TRAILING_WEEKS)
    bank = daily_bank(snapshot, start, today)
    rows: list[pl.DataFrame] = []
    for friday in fridays:
        books = books_as_of(snapshot, friday, known_only=True)
        view = forecaster(books, friday)
        rows.append(_compare(view, bank, friday, today))
    compared = pl.concat(rows) if rows else pl.DataFrame()
    return Backtest(weeks=compared, summary=summarise(compared), fridays=fridays)


def _compare(view: Any, bank: pl.DataFrame, friday: date, today: date) -> pl.DataFrame:
    fc: pl.DataFrame = view.forecast.select("realm_id", "line", "week", "week_end", "closing")
    wide = (
        fc.filter(pl.col("line") == "p50")
        .select("realm_id", "week", "week_end", pl.col("closing").cast(pl.Float64).alias("p50"))
        .join(
            fc.filter(pl.col("line") == "p90").select(
                "realm_id", "week", pl.col("closing").cast(pl.Float64).alias("p90")
            ),
            on=["realm_id", "week"],
            how="left",
        )
        .filter(pl.col("week_end") <= today)
    )
    low_col = "low" if "low" in view.forecast.columns else "closing"
    lows: pl.DataFrame = view.forecast.filter(pl.col("line") == "p50").select(
        "realm_id", "week", pl.col(low_col).cast(pl.Float64).alias("p50_low")
    )
    since = friday - timedelta(days=7 * TRAILING_WEEKS)
    past = bank.filter((pl.col("day") > since) & (pl.col("day") <= friday))
    trail = past.group_by("realm_id").agg(
        pl.col("balance").sort_by("day").last().alias("opening"),
        pl.col("outflow").sum().alias("outflow_13w"),
    )
    start_bal = bank.filter(pl.col("day") == since).select(
        "realm_id", pl.col("balance").alias("bal_13w_ago")
    )
    ahead = bank.filter((pl.col("day") > friday) & (pl.col("day") <= today)).with_columns(
        week=((pl.col("day") - pl.lit(friday)).dt.total_days() // 7).cast(pl.Int32)
    )
    actual_low = ahead.group_by("realm_id", "week").agg(pl.col("balance").min().alias("actual_low"))
    reserve: pl.DataFrame = view.runway.select("realm_id", pl.col("reserve").cast(pl.Float64))
    return (
        wide.join(
            bank.select(
                "realm_id", pl.col("day").alias("week_end"), pl.col("balance").alias("actual")
            ),
            on=["realm_id", "week_end"],
            how="inner",
        )
        .join(lows, on=["realm_id", "week"], how="left")
        .join(actual_low, on=["realm_id", "week"], how="left")
        .join(trail, on="realm_id", how="left")
        .join(start_bal, on="realm_id", how="left")
        .join(reserve, on="realm_id", how="left")
        .with_columns(
            friday=pl.lit(friday),
            horizon=(pl.col("week") + 1).cast(pl.Int32),
            month_outflow=(pl.col("outflow_13w") / 3.0),
        )
        .with_columns(
            naive=pl.col("opening")
            + (pl.col("opening") - pl.col("bal_13w_ago")) / TRAILING_WEEKS * pl.col("horizon")
        )
        .with_columns(
            err_p50=((pl.col("p50") - pl.col("actual")).abs() / pl.col("month_outflow")),
            err_naive=((pl.col("naive") - pl.col("actual")).abs() / pl.col("month_outflow")),
            above_p90=pl.col("actual") >= pl.col("p90"),
            breach_predicted=pl.col("p50_low") < pl.col("reserve").fill_null(0.0),
            breach_happened=pl.col("actual_low") < pl.col("reserve").fill_null(0.0),
        )
        .filter(pl.col("month_outflow") > 0)
        .select(
            "realm_id",
            "friday",
            "horizon",
            "week_end",
            "actual",
            "p50",
            "p90",
            "naive",
            "month_outflow",
            "err_p50",
            "err_naive",
            "above_p90",
            "reserve",
            "breach_predicted",
            "breach_happened",
        )
    )


def _stats(frame: pl.DataFrame, key: pl.Expr) -> pl.DataFrame:
    aggs: list[pl.Expr] = []
    for h in HORIZONS:
        at = pl.col("horizon") == h
        aggs += [
            pl.col("err_p50").filter(at).median().alias(f"p50_w{h}"),
            pl.col("err_naive").filter(at).median().alias(f"naive_w{h}"),
        ]
    aggs += [
        pl.col("above_p90").mean().alias("p90_calibration"),
        pl.len().alias("weeks_compared"),
        pl.col("friday").n_unique().alias("fridays"),
        pl.col("breach_predicted").sum().alias("breach_weeks_predicted"),
        pl.col("breach_happened").sum().alias("breach_weeks_happened"),
        (pl.col("breach_predicted") & pl.col("breach_happened")).sum().alias("breach_weeks_both"),
    ]
    out = frame.group_by(key.alias("realm_id")).agg(aggs)
    return out.with_columns(
        [(pl.col(f"p50_w{h}") / pl.col(f"naive_w{h}")).alias(f"ratio_w{h}") for h in HORIZONS]
    )


def summarise(compared: pl.DataFrame) -> pl.DataFrame:
    """Per company, then one "ALL" row (medians over every company's weeks)."""
    if compared.height == 0:
        return pl.DataFrame()
    per = _stats(compared, pl.col("realm_id")).sort("realm_id")
    overall = _stats(compared, pl.lit("ALL"))
    return pl.concat([per, overall.select(per.columns)])


def backtest_json(result: Backtest, names: dict[str, str] | None = None) -> dict[str, Any]:
    """The stable JSON of a backtest: per company and overall figures (floats rounded)."""
    names = names or {}
    rows = []
    for row in result.summary.iter_rows(named=True):
        rows.append(
            {
                "realm_id": row["realm_id"],
                "company": names.get(row["realm_id"], "all companies"),
                "error_share_of_month_outflows": {
                    f"week_{h}": {
                        "forecast_p50": row[f"p50_w{h}"],
                        "naive": row[f"naive_w{h}"],
                        "ratio": row[f"ratio_w{h}"],
                    }
                    for h in HORIZONS
                },
                "p90_calibration": row["p90_calibration"],
                "weeks_compared": row["weeks_compared"],
                "fridays": row["fridays"],
                "reserve_breach_weeks": {
                    "predicted": row["breach_weeks_predicted"],
                    "happened": row["breach_weeks_happened"],
                    "both": row["breach_weeks_both"],
                },
            }
        )
    payload: dict[str, Any] = jsonable(
        {
            "fridays": [result.fridays[0], result.fridays[-1]] if result.fridays else [],
            "horizons": list(HORIZONS),
            "aims": {"week_4_ratio": 0.5, "week_12_ratio": 0.7, "p90_calibration": 0.85},
            "companies": rows,
        }
    )
    return payload


def backtest_text(payload: dict[str, Any]) -> str:
    """A plain table: per company, the median errors (share of a month's outflows) and ratios."""
    head = f"{'company':<28} " + " ".join(f"{'w' + str(h):>17}" for h in HORIZONS)
    lines = [
        f"Backtest from {payload['fridays'][0]} to {payload['fridays'][-1]} (Fridays); "
        "median |error| as a share of a month's outflows: forecast P50 / naive (ratio)",
        head + f" {'P90 calib':>9} {'breach pred/act/both':>21}",
    ]
    for row in payload["companies"]:
        cells = []
        for h in HORIZONS:
            cell = row["error_share_of_month_outflows"][f"week_{h}"]
            if cell["forecast_p50"] is None:
                cells.append(f"{'-':>17}")
                continue
            ratio = "-" if cell["ratio"] is None else f"{cell['ratio']:.2f}"
            cells.append(f"{cell['forecast_p50']:.2f}/{cell['naive']:.2f} ({ratio})".rjust(17))
        b = row["reserve_breach_weeks"]
        cal = row["p90_calibration"]
        lines.append(
            f"{row['company'][:28]:<28} "
            + " ".join(cells)
            + f" {'-' if cal is None else f'{cal:.0%}':>9}"
            + f" {b['predicted']:>7}/{b['happened']}/{b['both']}".rjust(22)
        )
    return "\n".join(lines)


def backtest_report(
    settings: Any, today: date, weeks: int = 26, realm_ids: list[str] | None = None
) -> tuple[Backtest, dict[str, str]]:
    """Run the backtest on the store (today's documents, each company's own settings): the result
    and the company names. KeyError naming the company when it is not in the store."""
    from runway.pipeline import complete_settings
    from runway.settings import all_company_settings, frames_from_settings
    from runway.snapshot import load_snapshot

    snapshot = load_snapshot(settings, realm_ids)
    missing = [r for r in realm_ids or [] if r not in snapshot.realm_ids]
    if missing:
        raise KeyError(
            f"company {missing[0]!r} is not in the store "
            f"(known: {', '.join(load_snapshot(settings).realm_ids) or 'none'})"
        )
    company, _ = frames_from_settings(all_company_settings(settings), snapshot.realm_ids)
    info = snapshot["company_info"]
    names = dict(zip(info["realm_id"].to_list(), info["company_name"].to_list(), strict=True))
    result = run_backtest(snapshot, today, weeks, company=complete_settings(company, info))
    return result, names
