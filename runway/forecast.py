"""The 13-week direct cash forecast (P50 and late-collections P90 lines), traceable item by item,
and the scenario engine that re-runs it with one change per scenario, all in one pass."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.common import HORIZON_WEEKS, packed_order_key, week_of
from runway.money import MONEY, as_money, zero

HORIZON_DAYS = HORIZON_WEEKS * 7
LINES = ("p50", "p90")
BASE = "base"
ITEM_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "line": pl.String(),
        "date": pl.Date(),
        "kind": pl.String(),
        "source_id": pl.String(),
        "party": pl.String(),
        "direction": pl.String(),
        "amount": MONEY,
        "label": pl.String(),  # how the item was arrived at, in words (null: the document itself)
    }
)
OLD_DAYS = 90  # invoices this far past due are "very old": weighted by this company's history
OVERDUE_COLLECT_DAYS = 6  # an invoice already past its usual payment day: expected within the week


def days_after_due_for_line() -> pl.Expr:
    """Whole days after due a bill is paid on each line: the vendor's (else the company's) median
    on P50, the early end on P90 (paying sooner is the pessimistic case for cash), never before
    the due date."""
    return (
        pl.when(pl.col("line") == "p50")
        .then("p50_days_after_due")
        .otherwise("early_days_after_due")
        .fill_null(0.0)
        .clip(lower_bound=0.0)
        .round(0)
        .cast(pl.Int64)
    )


def customer_lags(payers: pl.DataFrame, deposit_dtype: pl.DataType) -> pl.DataFrame:
    """realm_id, party_id (the customer), P50/P90 days late and the usual days from payment to
    bank deposit (0 where payments go straight to the bank): how any expected collection of a
    customer is dated, open invoice or expected billing alike."""
    deposit = pl.col("deposit_days") if "deposit_days" in payers.columns else pl.lit(0)
    return payers.select(
        "realm_id",
        pl.col("customer_id").alias("party_id"),
        "p50_days_late",
        "p90_days_late",
        deposit.fill_null(0).cast(deposit_dtype).alias("deposit_days"),
    )


def _lines() -> pl.DataFrame:
    return pl.DataFrame({"line": list(LINES)})


def invoice_items(
    ar_detail: pl.DataFrame,
    payers: pl.DataFrame,
    as_of: date,
    doubtful: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Open invoices in the week of expected collection: due date + the customer's P50/P90 lag.
    Already-expected-by-now collections land at the end of this week, never earlier.

    ``doubtful`` (``runway.payers.doubtful_collection``: realm_id, collect_rate, collect_days) and
    the ``disputed`` column of ``ar_detail``, when present: disputed invoices and those more than
    90 days past due count on the P50 line at the share of such items this company collected,
    ``collect_days`` from now; the P90 line leaves them out."""
    lags = customer_lags(payers, pl.Float64())
    lag = pl.when(pl.col("line") == "p50").then("p50_days_late").otherwise(
        "p90_days_late"
    ).fill_null(0.0).clip(lower_bound=0.0) + pl.col("deposit_days").fill_null(0.0)
    expected = pl.col("aging_date") + pl.duration(days=lag.ceil().cast(pl.Int64))
    end_of_week0 = pl.lit(as_of + timedelta(days=OVERDUE_COLLECT_DAYS))
    frame = ar_detail.join(lags, on=["realm_id", "party_id"], how="left").join(
        _lines(), how="cross"
    )
    disputed = pl.col("disputed").fill_null(False) if "disputed" in frame.columns else pl.lit(False)
    doubt = (pl.col("days_past_due") > OLD_DAYS) | disputed
    if doubtful is None:
        doubtful = pl.DataFrame(
            schema={"realm_id": pl.String, "collect_rate": pl.Float64, "collect_days": pl.Int32}
        )
    frame = frame.join(doubtful, on="realm_id", how="left").with_columns(
        collect_rate=pl.col("collect_rate").fill_null(0.0),
        collect_days=pl.col("collect_days").fill_null(28),
    )
    frame = frame.filter(~(doubt & (pl.col("line") == "p90")))
    normal_date = pl.when(pl.col("expected") < as_of).then(end_of_week0).otherwise("expected")
    doubt_date = pl.lit(as_of) + pl.duration(days=pl.col("collect_days").cast(pl.Int64))
    return (
        frame.with_columns(expected=expected)
        .filter(~doubt | (pl.col("collect_rate") > 0))
        .select(
            "realm_id",
            "line",
            pl.when(doubt).then(doubt_date).otherwise(normal_date).alias("date"),
            pl.lit("invoice").alias("kind"),
            pl.col("doc_id").alias("source_id"),
            pl.col("party_name").alias("party"),
            pl.lit("in").alias("direction"),
            pl.when(doubt)
            .then((pl.col("balance").cast(pl.Float64) * pl.col("collect_rate")).round(2))
            .otherwise(pl.col("balance").cast(pl.Float64))
            .cast(MONEY)
            .alias("amount"),
            pl.when(doubt)
            .then(
                pl.format(
                    "{} invoice weighted at {}% (share of such items collected before)",
                    pl.when(disputed).then(pl.lit("disputed")).otherwise(pl.lit("91+ days")),
                    (pl.col("collect_rate") * 100).round(0).cast(pl.Int64),
                )
            )
            .otherwise(
                pl.format(
                    "due {} + {} days ({} lag of this customer)",
                    "aging_date",
                    lag.ceil().cast(pl.Int64),
                    pl.col("line").str.to_uppercase(),
                )
            )
            .alias("label"),
        )
    )


def bill_items(
    ap_detail: pl.DataFrame,
    bill_plans: pl.DataFrame,
    as_of: date,
    bill_lags: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Open bills on the owner's planned pay date, else on the day this company usually pays such
    bills: due date + its own days after due (``runway.payers.bill_pay_lags``: the vendor's median,
    else the company's; the P90 line pays at the early end of that history). A bill already past
    its usual pay day leaves next week on P50 and today on P90; without history, on the due date."""
    plans = bill_plans.select("realm_id", pl.col("bill_id").alias("doc_id"), "planned_date")
    if bill_lags is None:
        bill_lags = pl.DataFrame(
            schema={
                "realm_id": pl.String,
                "party_id": pl.String,
                "p50_days_after_due": pl.Float64,
                "early_days_after_due": pl.Float64,
            }
        )
    lag = days_after_due_for_line()
    usual = pl.col("aging_date") + pl.duration(days=lag)
    late = (
        pl.when(pl.col("line") == "p50")
        .then(pl.lit(as_of + timedelta(days=7)))
        .otherwise(pl.lit(as_of))
    )
    return (
        ap_detail.join(plans, on=["realm_id", "doc_id"], how="left")
        .join(bill_lags, on=["realm_id", "party_id"], how="left")
        .join(_lines(), how="cross")
        .select(
            "realm_id",
            "line",
            pl.when(pl.col("planned_date").is_not_null())
            .then(pl.max_horizontal("planned_date", pl.lit(as_of)))
            .when(usual < as_of)
            .then(late)
            .otherwise(usual)
            .alias("date"),
            pl.lit("bill").alias("kind"),
            pl.col("doc_id").alias("source_id"),
            pl.col("party_name").alias("party"),
            pl.lit("out").alias("direction"),
            pl.col("balance").alias("amount"),
            pl.when(pl.col("planned_date").is_not_null())
            .then(pl.lit("planned pay date"))
            .otherwise(
                pl.format(
                    "due {} + {} days (this company's usual payment of such bills)",
                    "aging_date",
                    lag,
                )
            )
            .alias("label"),
        )
    )


def recurring_items(sched: pl.DataFrame, bill_lags: pl.DataFrame | None = None) -> pl.DataFrame:
    """Recurring outflows not already entered as bills. A vendor this company pays by bill (it is in
    ``bill_lags``) is paid its usual days after the expected due date, as its bills are."""
    frame = sched.filter(pl.col("covered_by_bill").is_null()).join(_lines(), how="cross")
    shift = pl.lit(0, dtype=pl.Int64)
    if bill_lags is not None and bill_lags.height:
        frame = frame.join(
            bill_lags.select("realm_id", "party_id", "p50_days_after_due", "early_days_after_due"),
            on=["realm_id", "party_id"],
            how="left",
        )
        shift = days_after_due_for_line()
    return frame.select(
        "realm_id",
        "line",
        (pl.col("date") + pl.duration(days=shift)).alias("date"),
        pl.lit("recurring").alias("kind"),
        pl.col("pattern_id").alias("source_id"),
        "party",
        pl.lit("out").alias("direction"),
        "amount",
        pl.when(shift > 0)
        .then(
            pl.format("recurring, expected {} + {} days (usual payment after due)", "date", shift)
        )
        .otherwise(pl.lit("recurring"))
        .alias("label"),
    )


def mark_disputed(
    ar_detail: pl.DataFrame, invoices: pl.DataFrame, company: pl.DataFrame
) -> pl.DataFrame:
    """``ar_detail`` + ``disputed``: a note on the invoice saying so, or the owner's flag (the
    same rule as the tray's Disputed section)."""
    from runway.common import DISPUTE_NOTE

    notes = invoices.filter(pl.col("private_note").fill_null("").str.contains(DISPUTE_NOTE)).select(
        "realm_id", pl.col("id").alias("doc_id"), pl.lit(True).alias("_note")
    )  # only the marked ones: the join below then carries a few rows, not every invoice
    flags = pl.DataFrame(schema={"realm_id": pl.String, "doc_id": pl.String, "_flag": pl.Boolean})
    if "disputed_invoices" in company.columns:
        flags = (
            company.select("realm_id", "disputed_invoices")
            .explode("disputed_invoices")
            .drop_nulls()
            .select(
                "realm_id", pl.col("disputed_invoices").alias("doc_id"), pl.lit(True).alias("_flag")
            )
            .unique()
        )
    return (
        ar_detail.join(notes, on=["realm_id", "doc_id"], how="left")
        .join(flags, on=["realm_id", "doc_id"], how="left")
        .with_columns(disputed=pl.col("_note").fill_null(False) | pl.col("_flag").fill_null(False))
        .drop("_note", "_flag")
    )


def forecast_items(
    ar_detail: pl.DataFrame,
    ap_detail: pl.DataFrame,
    *,
    payers: pl.DataFrame,
    bill_plans: pl.DataFrame,
    sched: pl.DataFrame,
    as_of: date,
    inflows: pl.DataFrame | None = None,
    expected: pl.DataFrame | None = None,
    bill_lags: pl.DataFrame | None = None,
    doubtful: pl.DataFrame | None = None,
    spend: pl.DataFrame | None = None,
    undeposited: pl.DataFrame | None = None,
    credits: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every item behind the forecast: realm_id, line, week, date, kind, source_id, party,
    direction, amount, label. ``inflows``: confirmed recurring inflow items
    (``runway.inflows.inflow_items``, kind "recurring_inflow"); ``expected``: billing not yet
    invoiced (``runway.billing.expected_items``, kind "expected"); ``spend``: spending not yet
    entered (``runway.recurring.expected_spend``); ``undeposited``: money received but not yet
    in the bank (``runway.payers.undeposited_items``); ``bill_lags`` and ``doubtful``: see
    ``bill_items`` and ``invoice_items``; ``credits``: each customer's open credit
    (``runway.aging.customer_open_credits``), taken off its collections (``net_of_credits``)."""
    parts = [
        invoice_items(ar_detail, payers, as_of, doubtful),
        bill_items(ap_detail, bill_plans, as_of, bill_lags),
        recurring_items(sched, bill_lags),
    ]
    for extra in (inflows, expected, spend, undeposited):
        if extra is not None:
            parts.append(extra)
    # an item past the horizon is left out before the parts are put together (a fifth of a
    # firm's); an open credit is taken off the earliest collections first, so the items left
    # out never changed what it takes off the ones kept
    within = pl.col("date") < as_of + timedelta(days=HORIZON_DAYS)
    items = pl.concat(
        [
            frame.filter(within)
            .with_columns(
                *(
                    []
                    if "label" in frame.columns
                    else [pl.lit(None, dtype=pl.String).alias("label")]
                )
            )
            .select(ITEM_SCHEMA.names())
            .cast(ITEM_SCHEMA)
            for frame in parts
        ]
    )
    if credits is not None:
        items = net_of_credits(items, credits, ar_detail)
    return (
        items.with_columns(week=week_of(pl.col("date"), as_of))
        .select(
            "realm_id",
            "line",
            "week",
            "date",
            "kind",
            "source_id",
            "party",
            "direction",
            "amount",
            "label",
        )
        .pipe(in_item_order)
    )


ITEM_ORDER = ("realm_id", "line", "date", "kind", "source_id")


def in_item_order(items: pl.DataFrame) -> pl.DataFrame:
    """``items`` sorted by ``ITEM_ORDER``, the order every consumer (and the view) sees.

    A firm has ~660k items, and a sort on four string keys row-encodes every string. The first
    four keys are few distinct values (companies, two lines, ~100 days, a handful of kinds), so
    they are packed, as their lexical ranks, into one unsigned integer (``packed_order_key``),
    with the source ids' ranks too where they fit: the sort is then on that integer (or on it and
    ``source_id``) and gives exactly the same order. Keys with nulls, or too wide to pack, take
    the plain sort."""
    every = packed_order_key(items, ITEM_ORDER)  # source ids too, when they fit
    if every is not None:
        return (
            items.with_columns(every.alias("_item_order")).sort("_item_order").drop("_item_order")
        )
    key = packed_order_key(items, ITEM_ORDER[:-1])
    if key is None:
        return items.sort(*ITEM_ORDER)
    return (
        items.with_columns(key.alias("_item_order"))
        .sort("_item_order", "source_id")
        .drop("_item_order")
    )


COLLECTION_KINDS = ("invoice", "expected", "recurring_inflow")
# the customer id inside an expected-billing or recurring-inflow source id
PARTY_IN_SOURCE = r"^(?:expected|inflow):(.+?):(?:\d{4}-\d{2}-\d{2}|biweekly|monthly|quarterly)$"


def net_of_credits(
    items: pl.DataFrame, credits: pl.DataFrame, ar_detail: pl.DataFrame
) -> pl.DataFrame:
    """``items`` with each customer's open credit (``runway.aging.customer_open_credits``: realm_id,
    customer_id, open_credit — open credit memos and unapplied payments) taken off its forecast
    collections, earliest expected first, on each line: a credit memo is applied to the invoices
    it covers and an unapplied payment already sits in the bank, so neither brings cash again.
    Open invoices and expected billing (whose next invoice the credit is applied to) both count;
    an item the credit covers stays, at zero, with a label saying why (traceable)."""
    if not credits.height:
        return items
    owner = ar_detail.select(
        "realm_id", pl.col("doc_id").alias("source_id"), pl.col("party_id").alias("_inv_party")
    ).unique(["realm_id", "source_id"])
    credit = credits.group_by("realm_id", pl.col("customer_id").alias("_party")).agg(
        pl.col("open_credit").cast(pl.Float64).sum().alias("_credit")
    )
    # Only collections of customers holding a credit can change: found first (a few rows of
    # many), their credit applied in date order, the result written back by row number.
    frame = items.with_row_index("_row")
    held = (
        frame.filter((pl.col("direction") == "in") & pl.col("kind").is_in(COLLECTION_KINDS))
        .select("_row", "realm_id", "line", "date", "kind", "source_id", "amount")
        .join(owner, on=["realm_id", "source_id"], how="left")
        .with_columns(
            _party=pl.when(pl.col("kind") == "invoice")
            .then("_inv_party")
            .otherwise(pl.col("source_id").str.extract(PARTY_IN_SOURCE, 1))
        )
        .join(credit, on=["realm_id", "_party"], how="inner")
    )
    keys = ["realm_id", "line", "_party"]
    amount = pl.col("amount").cast(pl.Float64)
    before = amount.cum_sum().over(keys, order_by=["date", "kind", "source_id"]) - amount
    held = held.select(
        "_row",
        pl.min_horizontal(amount, (pl.col("_credit") - before).clip(lower_bound=0.0))
        .round(2)
        .alias("_applied"),
    )
    applied = pl.Series("_applied", [0.0] * frame.height, dtype=pl.Float64).scatter(
        held["_row"], held["_applied"]
    )
    label = pl.col("label").fill_null(pl.col("kind"))
    return (
        frame.with_columns(applied)
        .with_columns(
            amount=(amount - pl.col("_applied")).round(2).cast(MONEY),
            label=pl.when(pl.col("_applied") <= 0)
            .then("label")
            .when(pl.col("_applied") >= amount)
            .then(pl.format("{}; covered by this customer's open credit", label))
            .otherwise(pl.format("{}; less {} of this customer's open credit", label, "_applied")),
        )
        .select(items.columns)
    )


def signed(items: pl.DataFrame) -> pl.Expr:
    return pl.when(pl.col("direction") == "in").then(pl.col("amount")).otherwise(-pl.col("amount"))


def weekly(
    items: pl.DataFrame,
    opening: pl.DataFrame,
    reserve: pl.DataFrame,
    as_of: date,
    paths: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, line, week, week_start, week_end, opening, inflows, outflows, net, closing,
    below_reserve, low, low_date: ``low`` is the lowest end-of-day balance inside the week (what
    breaches a reserve mid-week even when the closing recovers); ``below_reserve`` uses it.
    ``paths``: ``daily_paths(items, opening, as_of)`` when the caller has them already."""
    if paths is None:
        paths = daily_paths(items, opening, as_of)
    sums = (
        items.select(
            "realm_id",
            "line",
            "week",
            pl.when(pl.col("direction") == "in").then("amount").alias("inflows"),
            pl.when(pl.col("direction") == "out").then("amount").alias("outflows"),
        )
        .group_by("realm_id", "line", "week")  # on plain columns: vectorised sums
        .agg(pl.col("inflows").sum(), pl.col("outflows").sum())
    )
    weeks = pl.DataFrame({"week": list(range(HORIZON_WEEKS))}, schema={"week": pl.Int32})
    grid = (
        opening.select("realm_id", pl.col("cash").alias("cash0"))
        .join(_lines(), how="cross")
        .join(weeks, how="cross")
    )
    lows = (
        paths.filter(pl.col("scenario_id") == BASE)
        .with_columns(week=(pl.col("day") // 7).cast(pl.Int32))
        .group_by("realm_id", "line", "week")
        .agg(
            pl.col("balance").min().alias("low"),
            pl.col("day").sort_by("balance", "day").first().alias("low_day"),
        )
    )
    return (
        grid.join(sums, on=["realm_id", "line", "week"], how="left")
        .join(lows, on=["realm_id", "line", "week"], how="left")
        .join(reserve.select("realm_id", "reserve"), on="realm_id", how="left")
        .with_columns(pl.col("inflows").fill_null(zero()), pl.col("outflows").fill_null(zero()))
        .with_columns(net=(pl.col("inflows") - pl.col("outflows")))
        .sort("realm_id", "line", "week")
        .with_columns(closing=pl.col("cash0") + pl.col("net").cum_sum().over("realm_id", "line"))
        .with_columns(opening=pl.col("closing") - pl.col("net"))
        .select(
            "realm_id",
            "line",
            "week",
            (pl.lit(as_of) + pl.duration(days=pl.col("week") * 7)).alias("week_start"),
            (pl.lit(as_of) + pl.duration(days=pl.col("week") * 7 + 6)).alias("week_end"),
            *[
                as_money(pl.col(c)).alias(c)
                for c in ("opening", "inflows", "outflows", "net", "closing")
            ],
            (pl.coalesce("low", "closing") < pl.col("reserve").fill_null(zero())).alias(
                "below_reserve"
            ),
            as_money(pl.coalesce("low", "closing")).alias("low"),
            (pl.lit(as_of) + pl.duration(days=pl.col("low_day").cast(pl.Int64))).alias("low_date"),
        )
    )


# ---- scenarios: one change each, all re-run together -----------------------------------------
SCENARIO_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String,
        "scenario_id": pl.String,
        "kind": pl.String,
        "source_id": pl.String,
        "new_date": pl.Date,
        "from_date": pl.Date,
    }
)
# new_date null: the item is removed from the forecast (a must-pay obligation taken out).
# from_date set: only the occurrence on that date moves (a recurring pattern's source_id repeats).


def scenario_items(items: pl.DataFrame, scenarios: pl.DataFrame) -> pl.DataFrame:
    """The items each scenario moves: items + scenario_id, new_date (matched on realm, kind,
    source_id and, when the scenario names one, the occurrence date)."""
    return items.join(scenarios, on=["realm_id", "kind", "source_id"], how="inner").filter(
        pl.col("from_date").is_null() | (pl.col("date") == pl.col("from_date"))
    )


def scenario_deltas(items: pl.DataFrame, scenarios: pl.DataFrame) -> pl.DataFrame:
    """For each scenario (move item kind/source_id to new_date, or remove it): the item removed
    where it was and added at its new date — signed daily deltas keyed by scenario id."""
    moved = scenario_items(items, scenarios)
    removed = moved.select(
        "realm_id", "scenario_id", "line", "date", (-signed(moved)).alias("delta")
    )
    kept = moved.filter(pl.col("new_date").is_not_null())
    added = kept.select(
        "realm_id",
        "scenario_id",
        "line",
        pl.col("new_date").alias("date"),
        signed(kept).alias("delta"),
    )
    return pl.concat([removed, added])


def daily_paths(
    items: pl.DataFrame,
    opening: pl.DataFrame,
    as_of: date,
    scenarios: pl.DataFrame | None = None,
    lines: tuple[str, ...] = LINES,
) -> pl.DataFrame:
    """End-of-day projected balance for every (realm, scenario, line, day 0..90):
    realm_id, scenario_id, line, day, balance. The base scenario is always included."""
    days = pl.DataFrame({"day": list(range(HORIZON_DAYS))}, schema={"day": pl.Int32})
    line_frame = pl.DataFrame({"line": list(lines)})
    day_of = (pl.col("date") - pl.lit(as_of)).dt.total_days().clip(lower_bound=0).cast(pl.Int32)
    base = (
        items.filter(pl.col("line").is_in(list(lines)))
        .select("realm_id", "line", day_of.alias("day"), signed(items).alias("flow"))
        .group_by("realm_id", "line", "day")  # on plain columns: a vectorised sum
        .agg(pl.col("flow").sum())
    )
    keys = opening.select("realm_id", "cash").with_columns(scenario_id=pl.lit(BASE))
    delta = None
    if scenarios is not None and scenarios.height:
        keys = pl.concat(
            [
                keys,
                scenarios.select("realm_id", "scenario_id")
                .unique()
                .join(opening.select("realm_id", "cash"), on="realm_id", how="inner")
                .select(keys.columns),
            ]
        )
        delta = (
            scenario_deltas(items.filter(pl.col("line").is_in(list(lines))), scenarios)
            .filter(pl.col("date") < as_of + timedelta(days=HORIZON_DAYS))
            .group_by("realm_id", "scenario_id", "line", day_of.alias("day"))
            .agg(pl.col("delta").sum())
        )
    grid = (
        keys.join(line_frame, how="cross")
        .join(days, how="cross")
        .join(base, on=["realm_id", "line", "day"], how="left")
    )
    flow = pl.col("flow").fill_null(zero())
    if delta is not None:
        grid = grid.join(delta, on=["realm_id", "scenario_id", "line", "day"], how="left")
        flow = flow + pl.col("delta").fill_null(zero())
    return (
        grid.with_columns(flow=flow)
        .sort("realm_id", "scenario_id", "line", "day")
        .with_columns(
            balance=as_money(
                pl.col("cash") + pl.col("flow").cum_sum().over("realm_id", "scenario_id", "line")
            )
        )
        .select("realm_id", "scenario_id", "line", "day", "balance")
    )


MAX_RUNWAY_WEEKS = 104


def path_stats(
    paths: pl.DataFrame,
    opening: pl.DataFrame,
    reserve: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per (realm, scenario, line): first day below the reserve (extended past the horizon by the
    run-rate, up to 104 weeks — see ``finish_stats``), lowest balance and its day, and the method
    used."""
    frame = paths.join(
        reserve.select("realm_id", "reserve"), on="realm_id", how="left"
    ).with_columns(pl.col("reserve").fill_null(zero()))
    stats = frame.group_by("realm_id", "scenario_id", "line").agg(
        pl.col("day").filter(pl.col("balance") < pl.col("reserve")).min().alias("breach_day"),
        pl.col("day").filter(pl.col("balance") < 0).min().alias("zero_day"),
        pl.col("balance").min().alias("lowest_balance"),
        pl.col("day").sort_by("balance", "day").first().alias("lowest_day"),
        pl.col("balance").sort_by("day").last().alias("closing_end"),
    )
    return finish_stats(stats, opening, reserve, as_of, trend)


def _zero_columns(stats: pl.DataFrame, rate: pl.Expr, as_of: date) -> list[pl.Expr]:
    """zero_weeks, zero_date: weeks until the balance falls below zero, on the daily path within
    the horizon, beyond it at the same run-rate as the reserve breach (null: not within 2 years)."""
    if "zero_day" not in stats.columns:
        return []
    extended = (HORIZON_DAYS + pl.col("closing_end").cast(pl.Float64) / (-rate) * 7).round(0)
    days = (
        pl.when(pl.col("zero_day").is_not_null())
        .then(pl.col("zero_day").cast(pl.Float64))
        .when((rate < 0) & (extended <= MAX_RUNWAY_WEEKS * 7))
        .then(extended)
        .otherwise(None)
    )
    return [
        (days / 7).round(1).alias("zero_weeks"),
        (pl.lit(as_of) + pl.duration(days=days.cast(pl.Int64))).alias("zero_date"),
    ]


def finish_stats(
    stats: pl.DataFrame,
    opening: pl.DataFrame,
    reserve: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Breach day (or the run-rate extension), runway weeks and date from per-path aggregates.

    Past the horizon the balance is extended by the run-rate: with ``trend`` (realm_id,
    avg_weekly_net_outflow: the trailing 13 weeks of posted cash) that actual rate, because the
    forecast's own tail holds no sales not yet invoiced (recurring outflows run all 13 weeks while
    inflows stop once today's receivables are collected), so its average net flow shows every
    company, healthy or not, burning cash; without ``trend``, the forecast's average weekly net
    flow."""
    stats = stats.join(opening.select("realm_id", "cash"), on="realm_id", how="left").join(
        reserve.select("realm_id", pl.col("reserve").fill_null(zero())), on="realm_id", how="left"
    )
    if trend is not None:
        stats = stats.join(
            trend.select("realm_id", "avg_weekly_net_outflow"), on="realm_id", how="left"
        )
        rate = (
            -pl.col("avg_weekly_net_outflow").cast(pl.Float64).fill_null(0.0)
        )  # net flow per week
    else:
        rate = (pl.col("closing_end") - pl.col("cash")).cast(pl.Float64) / HORIZON_WEEKS  # per week
    extra_weeks = (pl.col("closing_end") - pl.col("reserve")).cast(pl.Float64) / (-rate)
    extended_days = (HORIZON_DAYS + extra_weeks * 7).round(0)
    return (
        stats.with_columns(
            method=pl.when(pl.col("breach_day").is_not_null())
            .then(pl.lit("forecast"))
            .when((rate < 0) & (extended_days <= MAX_RUNWAY_WEEKS * 7))
            .then(pl.lit("run-rate"))
            .otherwise(pl.lit("never")),
        )
        .with_columns(
            runway_days=pl.when(pl.col("method") == "forecast")
            .then(pl.col("breach_day").cast(pl.Float64))
            .when(pl.col("method") == "run-rate")
            .then(extended_days)
            .otherwise(None),
        )
        .with_columns(
            breach_date=pl.lit(as_of) + pl.duration(days=pl.col("runway_days").cast(pl.Int64)),
            runway_weeks=(pl.col("runway_days") / 7).round(1),
        )
        .with_columns(*_zero_columns(stats, rate, as_of))
        .drop("avg_weekly_net_outflow", strict=False)
        .sort("realm_id", "scenario_id", "line")
    )
