"""The prep tray's effects, where the owner feels them: each row's re-runs
(``runway.tray_scenarios``) read before → after its own action as the balance on the next payday,
the next payroll's coverage and the weeks to the reserve — else as the lowest balance among the
days the change moves; a row without an effect says why. The rows are then ranked per section."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from runway.forecast import BASE, HORIZON_DAYS
from runway.money import MONEY, zero
from runway.tray_scenarios import (
    SCENARIOS_PER_SECTION,
    effect_pair,
    no_low_points,
    prior_id,
)
from runway.tray_schema import SECTIONS, TRAY_SCHEMA
from runway.words import day, dollars, ratio, weeks

EFFECT_COLUMNS = (  # after the tray's own columns and its rank, in this order
    "effect_runway_days",
    "effect_lowest_balance",
    "payday",
    "payday_balance_before",
    "payday_balance_after",
    "coverage_before",
    "coverage_after",
    "reserve_weeks_before",
    "reserve_weeks_after",
    "moved_low_date",
    "moved_low_before",
    "moved_low_after",
    "effect_text",
    "no_effect_reason",
)


def _lexical_keys(frame: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
    """realm_id and section as enums whose categories are in lexical order: the same order as
    the strings, at the cost of integers (a firm's tray has ~160k rows to sort)."""
    realms = pl.Enum(frame.get_column("realm_id").unique().drop_nulls().sort())
    sections = pl.Enum(sorted(set(SECTIONS) | set(frame.get_column("section").unique())))
    return pl.col("realm_id").cast(realms), pl.col("section").cast(sections)


def with_effects(
    tray: pl.DataFrame,
    fx: pl.DataFrame,
    payroll: pl.DataFrame | None = None,
    lows: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Tray rows + their effects, ranked per section.

    Where the owner feels them, each before → after the row's own action (paying a must-pay
    bill, delaying a bill, collecting an invoice): ``payday_balance_*`` (P50, end of the next
    payday), ``coverage_*`` (the next payroll's P90 coverage), ``reserve_weeks_*`` (weeks until
    the P50 balance falls below the reserve; null = not within two years); ``effect_text`` says
    what changes, ``no_effect_reason`` why nothing does. When none of those three moves, the
    effect is where the change is first felt: ``moved_low_*``, the lowest balance among the days
    the change moves, on ``moved_low_date`` (``lows``, from ``effects``), before → after.
    ``effect_runway_days`` and
    ``effect_lowest_balance`` keep one sign for every row: the action's effect on the runway
    (positive = more runway)."""
    from runway.payroll import coverage_ratio

    base = fx.filter(pl.col("scenario_id") == BASE).select(
        "realm_id",
        pl.col("runway_days").alias("base_days"),
        pl.col("runway_weeks").alias("base_weeks"),
        pl.col("lowest_balance").alias("base_lowest"),
        pl.col("payday_balance").alias("base_payday"),
    )
    scen = fx.filter(pl.col("scenario_id") != BASE).select(
        "realm_id",
        "scenario_id",
        pl.col("runway_days").alias("scen_days"),
        pl.col("runway_weeks").alias("scen_weeks"),
        pl.col("lowest_balance").alias("scen_lowest"),
        pl.col("payday_balance").alias("scen_payday"),
        pl.col("payday_avail_delta").alias("avail_delta"),
        pl.lit(True).alias("rerun"),
    )
    if payroll is not None and payroll.height:
        nxt = payroll.filter(pl.col("seq") == 1).select(
            "realm_id",
            pl.col("date").alias("payday"),
            pl.col("amount").alias("payroll_amount"),
            (pl.col("cash_before_p90") - pl.col("must_pay_before")).alias("avail"),
            pl.col("coverage").alias("base_cov"),
        )
    else:
        nxt = pl.DataFrame(
            schema={
                "realm_id": pl.String,
                "payday": pl.Date,
                "payroll_amount": MONEY,
                "avail": MONEY,
                "base_cov": pl.Float64,
            }
        )
    # a scenario whose item lies past the horizon moved nothing: the re-run equals the base
    unmoved = [
        pl.when(pl.col("rerun"))
        .then(pl.col(f"scen_{c}"))
        .otherwise(pl.col(f"base_{c}"))
        .alias(f"scen_{c}")
        for c in ("days", "weeks", "lowest", "payday")
    ]
    paying = pl.col("section") == "must_pay"
    days = (
        pl.when(paying)
        .then(pl.col("base_days") - pl.col("scen_days"))
        .otherwise(pl.col("scen_days") - pl.col("base_days"))
        .cast(pl.Int32)
    )
    lift = (
        pl.when(paying)
        .then(pl.col("base_lowest") - pl.col("scen_lowest"))
        .otherwise(pl.col("scen_lowest") - pl.col("base_lowest"))
        .cast(MONEY)
    )
    rerun = pl.col("scenario_id").is_not_null()
    scen_cov = coverage_ratio(
        pl.col("avail") + pl.col("avail_delta").fill_null(zero()), pl.col("payroll_amount")
    )
    prior_cov = coverage_ratio(
        pl.col("avail") + pl.col("prior_avail_delta").fill_null(zero()), pl.col("payroll_amount")
    )
    # before → after the row's action: paying a must-pay bill goes from "without it" to the base;
    # collecting an invoice from "not collected within the horizon" to "collected when a reminder
    # likely brings it"; delaying a bill from "paid today" to "paid on its latest safe date"
    weighed = pl.col("prior_id").is_not_null()
    pick: Callable[[str, str, str], tuple[pl.Expr, pl.Expr]] = lambda b, s, p: (
        pl.when(~rerun)
        .then(None)
        .when(paying)
        .then(pl.col(s))
        .when(weighed)
        .then(pl.col(p))
        .otherwise(pl.col(b)),
        pl.when(~rerun).then(None).when(paying).then(pl.col(b)).otherwise(pl.col(s)),
    )
    pay_b, pay_a = pick("base_payday", "scen_payday", "prior_payday")
    cov_b, cov_a = pick("base_cov", "scen_cov", "prior_cov")
    wk_b, wk_a = pick("base_weeks", "scen_weeks", "prior_weeks")
    parts = [
        pl.when(pl.col("payday_balance_before") != pl.col("payday_balance_after")).then(
            pl.format(
                "payday {}: {} → {}",
                day("payday"),
                dollars(pl.col("payday_balance_before")),
                dollars(pl.col("payday_balance_after")),
            )
        ),
        pl.when(ratio(pl.col("coverage_before")) != ratio(pl.col("coverage_after"))).then(
            pl.format(
                "payroll coverage {} → {}",
                ratio(pl.col("coverage_before")),
                ratio(pl.col("coverage_after")),
            )
        ),
        pl.when(
            rerun
            & (
                pl.col("reserve_weeks_before").ne_missing(pl.col("reserve_weeks_after"))
                & (
                    pl.col("reserve_weeks_before").is_null()
                    | pl.col("reserve_weeks_after").is_null()
                    | (
                        (pl.col("reserve_weeks_before") - pl.col("reserve_weeks_after")).abs()
                        >= 0.1
                    )
                )
            )
        ).then(
            pl.format(
                "reserve reached in {} → {}",
                weeks(pl.col("reserve_weeks_before")),
                weeks(pl.col("reserve_weeks_after")),
            )
        ),
    ]
    owner_felt = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    low_point = (  # the words of rows whose change the owner does not feel in those three
        pl.when(pl.col("moved_low_before") != pl.col("moved_low_after"))
        .then(
            pl.format(
                "balance on {}: {} → {}",
                day("moved_low_date"),
                dollars(pl.col("moved_low_before")),
                dollars(pl.col("moved_low_after")),
            )
        )
        .otherwise(pl.lit(""))
    )
    section = pl.col("section")
    why_not = (
        pl.when(section == "check_first")
        .then(pl.lit("not offered for payment: likely duplicate"))
        .when(section == "disputed")
        .then(pl.lit("disputed: not chased, so not re-run"))
        .when(section == "apply_credit")
        .then(pl.lit("the cash is already in the bank: applying the credit changes the books"))
        .when((section == "can_delay") & pl.col("new_date").is_null() & ~rerun)
        .then(pl.format("already planned for {}", day("planned_date")))
        .when(~rerun)
        .then(pl.format("not re-run: beyond the top {} rows", pl.lit(SCENARIOS_PER_SECTION)))
        # a re-run row whose change moves a day has its effect (the moved low point at least)
        .when(pl.col("rerun").is_null() & pl.col("prior_rerun").is_null() & (section == "chase"))
        .then(
            pl.lit(
                f"not in the forecast's {HORIZON_DAYS // 7} weeks (it leaves out invoices it "
                "doubts will be paid), so re-running its collection moves nothing"
            )
        )
        .when(pl.col("rerun").is_null() & pl.col("prior_rerun").is_null())
        .then(
            pl.lit(f"not in the forecast's {HORIZON_DAYS // 7} weeks: re-running it moves nothing")
        )
        .otherwise(pl.format("paid on {} either way: no balance moves", day("planned_date")))
    )
    order = (
        pl.when(section == "chase")
        .then(-pl.col("score"))
        .when(section == "can_delay")
        .then(-pl.col("effect_lowest_balance").cast(pl.Float64).fill_null(0.0))
        .when(section == "must_pay")
        .then(-pl.col("days_past_due").cast(pl.Float64))
        .otherwise(-pl.col("amount").cast(pl.Float64))
    )
    prior = fx.filter(pl.col("scenario_id") != BASE).select(
        "realm_id",
        pl.col("scenario_id").alias("prior_id"),
        pl.col("runway_weeks").alias("prior_weeks"),
        pl.col("payday_balance").alias("prior_payday"),
        pl.col("payday_avail_delta").alias("prior_avail_delta"),
        pl.lit(True).alias("prior_rerun"),
    )
    prior_unmoved = [
        pl.when(pl.col("prior_rerun"))
        .then(pl.col(f"prior_{c}"))
        .otherwise(pl.col(f"base_{c}"))
        .alias(f"prior_{c}")
        for c in ("weeks", "payday")
    ]
    # only the re-run rows (a fraction of a large firm's tray) are joined to their re-runs
    frame = (
        tray.filter(rerun)
        .with_columns(effect_pair(), prior_id=prior_id())
        .join(
            no_low_points() if lows is None else lows,
            on=["realm_id", "from_id", "to_id"],
            how="left",
        )
        .join(scen, on=["realm_id", "scenario_id"], how="left")
        .join(prior, on=["realm_id", "prior_id"], how="left")
        .join(base, on="realm_id", how="left")
        .join(nxt, on="realm_id", how="left")
        .with_columns(unmoved)
        .with_columns(prior_unmoved)
        .with_columns(scen_cov=scen_cov, prior_cov=prior_cov)
        .with_columns(
            effect_runway_days=pl.when(
                pl.col("base_days").is_not_null() & pl.col("scen_days").is_not_null()
            ).then(days),
            effect_lowest_balance=pl.when(rerun).then(lift.fill_null(zero())),
            payday=pl.when(rerun).then(pl.col("payday")),
            payday_balance_before=pay_b,
            payday_balance_after=pay_a,
            coverage_before=cov_b,
            coverage_after=cov_a,
            reserve_weeks_before=wk_b,
            reserve_weeks_after=wk_a,
        )
    )
    # the words only for the rows that were re-run (a fraction of a large firm's tray)
    quiet = (
        tray.filter(~rerun)
        .join(base.select("realm_id", "base_days"), on="realm_id", how="left")
        .select(
            *tray.columns,
            # as a re-run equal to the base would read: no change to a runway that is known
            effect_runway_days=pl.when(pl.col("base_days").is_not_null()).then(
                pl.lit(0, dtype=pl.Int32)
            ),
        )
    )
    felt = frame.with_columns(text=owner_felt)
    unfelt = pl.col("text") == ""
    worded_rerun = pl.concat(  # the rows' order does not matter: the tray is sorted below
        [felt.filter(~unfelt), felt.filter(unfelt).with_columns(text=low_point)]
    )
    worded = pl.concat(
        [
            worded_rerun,
            quiet.select(
                pl.col(c) if c in quiet.columns else pl.lit(None, dtype=dtype).alias(c)
                for c, dtype in worded_rerun.schema.items()
            ),
        ]
    )
    return (
        worded.with_columns(
            effect_text=pl.when(rerun & (pl.col("text") != "")).then(pl.col("text")),
        )
        .with_columns(
            no_effect_reason=pl.when(pl.col("effect_text").is_null()).then(why_not),
        )
        # the output's columns only, before the sort gathers them (the joins left ~70)
        .select(*TRAY_SCHEMA.names(), *EFFECT_COLUMNS)
        .sort(*_lexical_keys(worded), order, "doc_id", "due_date", maintain_order=True)
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("realm_id", "section").cast(pl.Int32))
        .select(*TRAY_SCHEMA.names()[:2], "rank", *TRAY_SCHEMA.names()[2:], *EFFECT_COLUMNS)
    )
