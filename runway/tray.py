"""The prep tray — Must Pay, Can Delay, Chase — each row with its runway effect, computed by
re-running the forecast with that one change (all scenarios in one pass): a delayed bill paid on
its latest safe date, an invoice collected today, a must-pay obligation taken out of the forecast
(what that payment costs the runway)."""

from __future__ import annotations

from datetime import date, timedelta
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
from runway.mustpay import SOON_DAYS

TRAY_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String,
        "section": pl.String,
        "doc_type": pl.String,
        "doc_id": pl.String,
        "party_id": pl.String,
        "party_name": pl.String,
        "amount": MONEY,
        "due_date": pl.Date,
        "days_past_due": pl.Int32,
        "reason": pl.String,
        "planned_date": pl.Date,
        "latest_safe_date": pl.Date,
        "score": pl.Float64,
        "email": pl.String,
        "scenario_id": pl.String,
    }
)


def _must_pay(bills: pl.DataFrame, sched: pl.DataFrame, as_of: date) -> pl.DataFrame:
    soon = as_of + timedelta(days=SOON_DAYS)
    docs = bills.filter(pl.col("must_pay") & (pl.col("aging_date") <= soon)).select(
        "realm_id",
        pl.lit("must_pay").alias("section"),
        pl.lit("bill").alias("doc_type"),
        "doc_id",
        "party_id",
        "party_name",
        pl.col("balance").alias("amount"),
        pl.col("aging_date").alias("due_date"),
        "days_past_due",
        pl.col("must_pay_reason").alias("reason"),
        pl.format("without:{}", "doc_id").alias("scenario_id"),
    )
    recurring = sched.filter(
        pl.col("covered_by_bill").is_null()
        & pl.col("kind").is_in(["payroll", "tax", "rent", "loan", "utilities"])
        & (pl.col("date") <= soon)
    ).select(
        "realm_id",
        pl.lit("must_pay").alias("section"),
        pl.lit("recurring").alias("doc_type"),
        pl.col("pattern_id").alias("doc_id"),
        "party_id",
        pl.col("party").alias("party_name"),
        "amount",
        pl.col("date").alias("due_date"),
        pl.lit(0, dtype=pl.Int32).alias("days_past_due"),
        pl.format("expected {}", pl.col("kind")).alias("reason"),
        pl.format("without:{}@{}", "pattern_id", "date").alias(
            "scenario_id"
        ),  # a pattern recurs: name the occurrence
    )
    return pl.concat([docs, recurring], how="diagonal_relaxed")


def _can_delay(
    bills: pl.DataFrame, plans: pl.DataFrame, company: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    soon = as_of + timedelta(days=SOON_DAYS)
    tolerance = company.select("realm_id", "delay_tolerance_days")
    return (
        bills.filter(~pl.col("must_pay") & (pl.col("aging_date") <= soon))
        .join(
            plans.select("realm_id", pl.col("bill_id").alias("doc_id"), "planned_date"),
            on=["realm_id", "doc_id"],
            how="left",
        )
        .join(tolerance, on="realm_id", how="left")
        .with_columns(
            planned_date=pl.max_horizontal(
                pl.coalesce("planned_date", "aging_date"), pl.lit(as_of)
            ),
            latest_safe_date=pl.col("aging_date")
            + pl.duration(days=pl.col("delay_tolerance_days").fill_null(14)),
        )
        .filter(pl.col("latest_safe_date") > pl.col("planned_date"))
        .select(
            "realm_id",
            pl.lit("can_delay").alias("section"),
            pl.lit("bill").alias("doc_type"),
            "doc_id",
            "party_id",
            "party_name",
            pl.col("balance").alias("amount"),
            pl.col("aging_date").alias("due_date"),
            "days_past_due",
            pl.format("can wait until {}", pl.col("latest_safe_date")).alias("reason"),
            "planned_date",
            "latest_safe_date",
            pl.format("delay:{}", "doc_id").alias("scenario_id"),
        )
    )


def _chase(
    ar_detail: pl.DataFrame,
    invoices: pl.DataFrame,
    customers: pl.DataFrame,
    payers: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Overdue invoices with an e-mail on file, not reminded within the cooldown, ranked by
    amount × days late × reliability (1 / (1 + P50 lag / 30): reliable payers answer a reminder)."""
    inv = invoices.select("realm_id", pl.col("id").alias("doc_id"), "bill_email", "delivered_at")
    cust = customers.select(
        "realm_id", pl.col("id").alias("party_id"), pl.col("email").alias("customer_email")
    )
    lags = payers.select("realm_id", pl.col("customer_id").alias("party_id"), "p50_days_late")
    reminded = (pl.lit(as_of) - pl.col("delivered_at").dt.date()).dt.total_days()
    return (
        ar_detail.filter(pl.col("days_past_due") > 0)
        .join(inv, on=["realm_id", "doc_id"], how="left")
        .join(cust, on=["realm_id", "party_id"], how="left")
        .join(lags, on=["realm_id", "party_id"], how="left")
        .join(company.select("realm_id", "reminder_cooldown_days"), on="realm_id", how="left")
        .with_columns(email=pl.coalesce("bill_email", "customer_email"))
        .filter(pl.col("email").is_not_null())
        .filter(
            pl.col("delivered_at").is_null()
            | (reminded >= pl.col("reminder_cooldown_days").fill_null(7))
        )
        .with_columns(
            score=(
                pl.col("balance").cast(pl.Float64)
                * pl.col("days_past_due")
                / (1 + pl.col("p50_days_late").fill_null(0.0).clip(lower_bound=0) / 30)
            ).round(2)
        )
        .select(
            "realm_id",
            pl.lit("chase").alias("section"),
            pl.lit("invoice").alias("doc_type"),
            "doc_id",
            "party_id",
            "party_name",
            pl.col("balance").alias("amount"),
            pl.col("aging_date").alias("due_date"),
            "days_past_due",
            pl.format("{} days overdue", "days_past_due").alias("reason"),
            "score",
            "email",
            pl.format("collect:{}", "doc_id").alias("scenario_id"),
        )
    )


def tray_rows(
    bills: pl.DataFrame,
    ar_detail: pl.DataFrame,
    invoices: pl.DataFrame,
    customers: pl.DataFrame,
    payers: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    parts = [
        _must_pay(bills, sched, as_of),
        _can_delay(bills, plans, company, as_of),
        _chase(ar_detail, invoices, customers, payers, company, as_of),
    ]
    return cap_scenarios(
        pl.concat(
            [
                p.select(
                    [pl.col(c) if c in p.columns else pl.lit(None).alias(c) for c in TRAY_SCHEMA]
                ).cast(dict(TRAY_SCHEMA))
                for p in parts
            ]
        )
    )


SCENARIOS_PER_SECTION = 50  # per company: the tray shows the top rows; the long tail is not re-run


def cap_scenarios(tray: pl.DataFrame, per_section: int = SCENARIOS_PER_SECTION) -> pl.DataFrame:
    """Keep a scenario (so a re-run forecast) only for each company's top ``per_section`` must-pay and
    can-delay rows (largest amount) and chase rows (highest score); the rest get scenario_id null, hence no
    effect — a firm of 500 companies otherwise re-runs ~150k forecasts nobody looks at."""
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


def scenarios_of(tray: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """One scenario per capped row: a delayable bill paid on its latest safe date, a chase invoice
    collected today, a must-pay bill or expected recurring occurrence removed (new_date null)."""
    rows = tray.filter(pl.col("scenario_id").is_not_null())
    section = pl.col("section")
    return rows.select(
        "realm_id",
        "scenario_id",
        pl.when(section == "chase")
        .then(pl.lit("invoice"))
        .otherwise(pl.col("doc_type"))
        .alias("kind"),
        pl.col("doc_id").alias("source_id"),
        pl.when(section == "can_delay")
        .then(pl.col("latest_safe_date"))
        .when(section == "chase")
        .then(pl.lit(as_of))
        .alias("new_date"),
        pl.when(pl.col("doc_type") == "recurring").then(pl.col("due_date")).alias("from_date"),
    ).cast(dict(SCENARIO_SCHEMA))


CHUNK = 20_000  # scenarios per numpy block (bounded memory: CHUNK × 91 int64)


def _cents(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).cast(pl.Int64)


def _money_from_cents(expr: pl.Expr) -> pl.Expr:
    return (expr.cast(pl.Decimal(20, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)


def effects(
    items: pl.DataFrame,
    cash: pl.DataFrame,
    reserve: pl.DataFrame,
    scenarios: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, scenario_id, breach_date, runway_weeks, runway_days, lowest_balance (P50 line) for
    the base and every scenario: the forecast re-run with each single change.

    A scenario moves one item from day a to day b (b past the horizon when it is removed), so its
    path is the base path plus s·(1[d ≥ b] − 1[d ≥ a]); all scenarios are evaluated together on integer cents (exact money),
    block by block, against the base path of their company."""
    base_paths = daily_paths(items, cash, as_of, lines=("p50",))
    base = path_stats(base_paths, cash, reserve, as_of, trend)
    keep = [
        "realm_id",
        "scenario_id",
        "breach_date",
        "runway_weeks",
        "runway_days",
        "lowest_balance",
    ]
    if scenarios.height == 0:
        return base.select(keep)
    realms = base_paths.select("realm_id").unique().sort("realm_id").with_row_index("r")
    matrix = (
        base_paths.sort("realm_id", "day")
        .select(_cents(pl.col("balance")))
        .to_series()
        .to_numpy()
        .reshape(realms.height, HORIZON_DAYS)
    )
    res = (
        realms.join(reserve, on="realm_id", how="left")
        .sort("r")
        .select(_cents(pl.col("reserve").fill_null(zero())))
        .to_series()
        .to_numpy()
    )
    day_of = lambda col: (
        (pl.col(col) - pl.lit(as_of)).dt.total_days().clip(0, HORIZON_DAYS).cast(pl.Int32)
    )
    p50 = items.filter(pl.col("line") == "p50")
    moves = (
        scenario_items(p50, scenarios)
        .join(realms, on="realm_id", how="inner")
        .group_by(
            "realm_id",
            "r",
            "scenario_id",
            day_of("date").alias("a"),
            day_of("new_date").fill_null(HORIZON_DAYS).alias("b"),
        )
        .agg(_cents(signed(p50)).sum().alias("s"))
        .sort("realm_id", "scenario_id")
    )
    r, a, b, s = (moves[c].to_numpy() for c in ("r", "a", "b", "s"))
    d = np.arange(HORIZON_DAYS)
    breach, lowest, lowest_day, closing = (np.empty(len(r), dtype=np.int64) for _ in range(4))
    for start in range(0, len(r), CHUNK):  # blocks of scenarios, not documents
        sl = slice(start, start + CHUNK)
        path = matrix[r[sl]] + s[sl, None] * (
            (d >= b[sl, None]).astype(np.int64) - (d >= a[sl, None])
        )
        below = path < res[r[sl], None]
        breach[sl] = np.where(below.any(axis=1), below.argmax(axis=1), -1)
        lowest_day[sl] = path.argmin(axis=1)
        lowest[sl] = path[np.arange(path.shape[0]), lowest_day[sl]]
        closing[sl] = path[:, -1]
    stats = moves.select("realm_id", "scenario_id").with_columns(
        line=pl.lit("p50"),
        breach_day=pl.Series(breach).replace(-1, None).cast(pl.Int32),
        lowest_balance=_money_from_cents(pl.Series(lowest)),
        lowest_day=pl.Series(lowest_day).cast(pl.Int32),
        closing_end=_money_from_cents(pl.Series(closing)),
    )
    scen = finish_stats(stats, cash, reserve, as_of, trend)
    return pl.concat([base.select(keep), scen.select(keep)]).sort("realm_id", "scenario_id")


def _grouped(whole: pl.Expr) -> pl.Expr:
    """A non-negative integer with thousands separators (5800 -> "5,800"), vectorised."""
    return (
        whole.cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.strip_suffix(",")
        .str.reverse()
    )


def _plural_days(n: pl.Expr) -> pl.Expr:
    return pl.when(n.abs() == 1).then(pl.lit("")).otherwise(pl.lit("s"))


def _change_text(days: pl.Expr, dollars: pl.Expr) -> pl.Expr:
    """Delay / collect: what the change gains ("removes the projected reserve breach", "+3 days of
    runway", "lifts the lowest balance by $2,350"); null when it moves neither."""
    return (
        pl.when(pl.col("base_days").is_not_null() & pl.col("scen_days").is_null())
        .then(pl.lit("removes the projected reserve breach"))
        .when(pl.col("base_days").is_not_null() & (days != 0))
        .then(
            pl.format(
                "{} day{} of runway",
                pl.when(days > 0).then(pl.format("+{}", days)).otherwise(days.cast(pl.String)),
                _plural_days(days),
            )
        )
        .when(dollars > 0)
        .then(pl.format("lifts the lowest balance by ${}", _grouped(dollars)))
    )


def _payment_text(days: pl.Expr, dollars: pl.Expr) -> pl.Expr:
    """Must pay: what the payment costs ("causes the projected reserve breach" | "uses 12 days of
    runway", then "lowers the lowest balance by $5,800"), each part only when not zero."""
    used = -days
    runway = (
        pl.when(pl.col("base_days").is_not_null() & pl.col("scen_days").is_null())
        .then(pl.lit("causes the projected reserve breach"))
        .when(used > 0)
        .then(pl.format("uses {} day{} of runway", used, _plural_days(used)))
    )
    lowers = pl.when(dollars < 0).then(
        pl.format("lowers the lowest balance by ${}", _grouped(-dollars))
    )
    joined = pl.concat_str([runway, lowers], separator=", ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def with_effects(tray: pl.DataFrame, fx: pl.DataFrame) -> pl.DataFrame:
    """Tray rows + effect columns, ranked per section. One sign for every row: the effect of the
    row's own action on the runway (positive = more runway). Delay / collect: scenario − base (what
    the change gains). Must pay: base − scenario, the forecast with the payment against the forecast
    without it — what paying costs, so zero or negative."""
    base = fx.filter(pl.col("scenario_id") == BASE).select(
        "realm_id",
        pl.col("runway_days").alias("base_days"),
        pl.col("lowest_balance").alias("base_lowest"),
    )
    scen = fx.filter(pl.col("scenario_id") != BASE).select(
        "realm_id",
        "scenario_id",
        pl.col("runway_days").alias("scen_days"),
        pl.col("lowest_balance").alias("scen_lowest"),
        pl.lit(True).alias("rerun"),
    )
    # a scenario whose item lies past the horizon moved nothing: the re-run equals the base
    unmoved = [
        pl.when(pl.col("rerun"))
        .then(pl.col(f"scen_{c}"))
        .otherwise(pl.col(f"base_{c}"))
        .alias(f"scen_{c}")
        for c in ("days", "lowest")
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
    dollars = lift.round(0).cast(pl.Int64)
    text = (
        pl.when(pl.col("scenario_id").is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(paying)
        .then(_payment_text(days, dollars))
        .otherwise(_change_text(days, dollars))  # null: no effect, nothing to say
    )
    order = (
        pl.when(pl.col("section") == "chase")
        .then(-pl.col("score"))
        .when(pl.col("section") == "can_delay")
        .then(-pl.col("effect_lowest_balance").cast(pl.Float64))
        .otherwise(pl.col("days_past_due").cast(pl.Float64) * -1)
    )
    return (
        tray.join(scen, on=["realm_id", "scenario_id"], how="left")
        .join(base, on="realm_id", how="left")
        .with_columns(unmoved)
        .with_columns(
            effect_runway_days=pl.when(
                pl.col("base_days").is_not_null() & pl.col("scen_days").is_not_null()
            ).then(days),
            effect_lowest_balance=pl.when(pl.col("scenario_id").is_not_null()).then(
                lift.fill_null(zero())
            ),
        )
        .with_columns(effect_text=text)
        .sort("realm_id", "section", order, "doc_id")
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("realm_id", "section").cast(pl.Int32))
        .select(
            *TRAY_SCHEMA.names()[:2],
            "rank",
            *TRAY_SCHEMA.names()[2:],
            "effect_runway_days",
            "effect_lowest_balance",
            "effect_text",
        )
    )
