"""Expected billing not yet invoiced: the invoices a customer's billing rhythm (and accepted
estimates) says are coming, each collected at that customer's terms and lag. Split from
``runway.inflows`` (retainers the owner confirms): this is the forecast's default view of sales
not yet billed; its names stay importable from ``runway.inflows``."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.common import shared_codes, sorted_by
from runway.forecast import customer_lags
from runway.money import MONEY
from runway.recurring import billing_rhythm, expected_steps

EXPECTED_KIND = "expected"
P90_BILLING_SHARE = 0.75  # the pessimistic line assumes a quarter less billing ...
P90_BILLING_DELAY_DAYS = 7  # ... issued a week later
ESTIMATE_INVOICE_DAYS = 14  # an accepted estimate not yet invoiced: invoiced within two weeks
EXPECTED_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "source_id": pl.String(),
        "basis": pl.String(),
        "party_id": pl.String(),
        "party": pl.String(),
        "invoice_date": pl.Date(),
        "amount": MONEY,
        "collect_p50": pl.Date(),
        "collect_p90": pl.Date(),
        "amount_p90": MONEY,
        "label": pl.String(),
    }
)


SEASON_MIN_MONTHS = 10  # months billed of the last 12: steady enough for one month to mean much
SEASON_WEIGHT = 0.5  # how far toward last year's same month (one year of data: half-way)
SEASON_RANGE = (0.5, 1.5)


def first_day(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def seasonal_factors(
    events: pl.DataFrame, as_of: date, months: tuple[date, date] | None = None
) -> pl.DataFrame:
    """realm_id, party_id, month (first day), factor: how a customer's billing in a calendar month
    last year compared with its average month over the last 12, for customers seen a whole year
    and billed in most months (where a month's difference is a season, not a lumpy project);
    moved half-way toward 1 and kept within 0.5–1.5, since one year is all the data shows.
    ``months``: only the factors of the months from … to (first days) — the horizon's few,
    where a caller needs no others; every month by default."""
    year_ago = as_of - timedelta(days=365)
    # customers numbered once: the groupings and joins below run on that number, not on two
    # strings per row of a firm's half million invoices
    keys = ["realm_id", "party_id"]
    codes = shared_codes(events, events, keys, keys)
    party = pl.struct(keys) if codes is None else codes[0]
    ev = events.select(*keys, "date", "amount", party.alias("_k"))
    recent = ev.filter((pl.col("date") > year_ago) & (pl.col("date") <= as_of))
    last_year = recent.group_by("_k", pl.col("date").dt.month_start().alias("ly_month")).agg(
        pl.col("amount").cast(pl.Float64).sum().alias("ly")
    )
    seen_a_year = ev.filter(pl.col("date") <= year_ago).select("_k").unique()
    steady = (
        recent.group_by("_k")
        .agg(
            *(pl.col(k).first() for k in keys),
            (pl.col("amount").cast(pl.Float64).sum() / 12).alias("avg_month"),
        )
        .join(last_year.group_by("_k").agg(pl.len().alias("months")), on="_k")
        .join(seen_a_year, on="_k", how="semi")  # first billed a year ago or earlier
        .filter((pl.col("months") >= SEASON_MIN_MONTHS) & (pl.col("avg_month") > 0))
    )
    if months is not None:
        first, last = (date(m.year - 1, m.month, 1) for m in months)
        last_year = last_year.filter(pl.col("ly_month").is_between(first, last))
    low, high = SEASON_RANGE
    return (
        steady.join(last_year, on="_k", how="inner")
        .with_columns(
            month=pl.col("ly_month").dt.offset_by("1y"),
            factor=(1 + SEASON_WEIGHT * (pl.col("ly") / pl.col("avg_month") - 1)).clip(low, high),
        )
        .select("realm_id", "party_id", "month", "factor")
    )


def expected_billing(
    events: pl.DataFrame,
    *,
    payers: pl.DataFrame,
    confirmed: pl.DataFrame,
    as_of: date,
    estimates: pl.DataFrame | None = None,
    horizon_days: int = 91,
) -> pl.DataFrame:
    """Invoices not yet issued that this company's history expects (EXPECTED_SCHEMA), each
    collected at the customer's terms + P50 / P90 lag:

    * per customer billed at least twice in the last 26 weeks and still on rhythm: the next
      invoices every ``gap_days`` after its last one, each worth its recent run-rate × gap
      ("Acme, about $12,000 every 30 days: 6 invoices in 26 weeks"); customers whose retainer the
      owner confirmed are left to that pattern (never counted twice);
    * accepted Estimates not yet invoiced (``txn_status`` Accepted, no linked invoice), invoiced
      within two weeks;
    * the P90 line bills less (× 0.75) and a week later, and collects at the P90 lag.

    Two steps (``undated_billing`` then ``dated_billing``) so the heavy first one, which reads no
    payer history, can run while that history is computed."""
    undated = undated_billing(
        events, confirmed=confirmed, as_of=as_of, estimates=estimates, horizon_days=horizon_days
    )
    return dated_billing(undated, payers, as_of)


def undated_billing(
    events: pl.DataFrame,
    *,
    confirmed: pl.DataFrame,
    as_of: date,
    estimates: pl.DataFrame | None = None,
    horizon_days: int = 91,
    in_order: bool = False,
) -> pl.DataFrame:
    """The invoices ``expected_billing`` expects, before their collection dates: realm_id,
    source_id, basis, party_id, party, invoice_date, amount, terms_days, label. ``in_order``:
    ``events`` in ``invoice_events``' order already."""
    rhythm = billing_rhythm(events, as_of, in_order=in_order)
    if confirmed.height:
        owned = confirmed.select(
            "realm_id", pl.col("pattern_id").str.extract(r"^inflow:([^:]+):", 1).alias("party_id")
        )
        rhythm = rhythm.join(owned, on=["realm_id", "party_id"], how="anti")
    steps = expected_steps(horizon_days)
    end = as_of + timedelta(days=horizon_days)
    first_due = pl.col("last_date") + pl.duration(days=pl.col("gap_days").cast(pl.Int64))
    occ = (
        rhythm.join(steps, how="cross")
        .with_columns(
            invoice_date=pl.max_horizontal(first_due, pl.lit(as_of + timedelta(days=1)))
            + pl.duration(days=(pl.col("gap_days").cast(pl.Int64) * (pl.col("k") - 1)))
        )
        .filter(pl.col("invoice_date") <= end)
        .with_columns(month=pl.col("invoice_date").dt.month_start())
        .join(
            seasonal_factors(events, as_of, (first_day(as_of + timedelta(days=1)), first_day(end))),
            on=["realm_id", "party_id", "month"],
            how="left",
        )
        .with_columns(season=pl.col("factor").fill_null(1.0).round(2))
        .select(
            "realm_id",
            pl.format("expected:{}:{}", "party_id", pl.col("invoice_date")).alias("source_id"),
            pl.lit("history").alias("basis"),
            "party_id",
            "party",
            "invoice_date",
            (pl.col("per_invoice") * pl.col("season")).round(2).cast(MONEY).alias("amount"),
            "terms_days",
            (
                pl.format(
                    "expected invoice: about {} every {} days ({} invoices in 26 weeks)",
                    pl.col("per_invoice").round(0).cast(pl.Int64),
                    pl.col("gap_days").cast(pl.Int64),
                    "invoices",
                )
                + pl.when(pl.col("season") != 1.0)
                .then(pl.format(", × {} for the season (same month last year)", "season"))
                .otherwise(pl.lit(""))
            ).alias("label"),
        )
    )
    parts = [occ]
    if estimates is not None and estimates.height and "txn_status" in estimates.columns:
        accepted = estimates.filter(
            (pl.col("txn_status") == "Accepted")
            & pl.col("linked_invoice_id").is_null()
            & (pl.col("txn_date") <= as_of)
            & (pl.col("expiration_date").is_null() | (pl.col("expiration_date") >= as_of))
        )
        terms = events.group_by("realm_id", "party_id").agg(
            pl.col("terms_days").median().round(0).cast(pl.Int32)
        )
        parts.append(
            accepted.join(
                terms,
                left_on=["realm_id", "customer_id"],
                right_on=["realm_id", "party_id"],
                how="left",
            ).select(
                "realm_id",
                pl.format("estimate:{}", "id").alias("source_id"),
                pl.lit("estimate").alias("basis"),
                pl.col("customer_id").alias("party_id"),
                pl.col("customer_id").alias("party"),
                pl.lit(as_of + timedelta(days=ESTIMATE_INVOICE_DAYS)).alias("invoice_date"),
                pl.col("total_amt").cast(MONEY).alias("amount"),
                pl.col("terms_days").fill_null(30),
                pl.format("accepted estimate {} not yet invoiced", "id").alias("label"),
            )
        )
    return pl.concat(parts, how="vertical_relaxed")


def dated_billing(undated: pl.DataFrame, payers: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """``undated_billing``'s invoices collected at the customer's terms + P50 / P90 lag (+ its
    usual days to the bank; the P90 line a week later, at 75%): EXPECTED_SCHEMA."""
    lags = customer_lags(payers, pl.Int64())

    def collect(lag: str, delay: int) -> pl.Expr:
        return pl.max_horizontal(
            pl.col("invoice_date")
            + pl.duration(
                days=pl.col("terms_days").fill_null(0).cast(pl.Int64)
                + pl.col(lag).fill_null(0.0).clip(lower_bound=0.0).ceil().cast(pl.Int64)
                + pl.col("deposit_days").fill_null(0)
                + delay
            ),
            pl.lit(as_of),
        )

    return (
        undated.join(lags, on=["realm_id", "party_id"], how="left")
        .with_columns(
            collect_p50=collect("p50_days_late", 0),
            collect_p90=collect("p90_days_late", P90_BILLING_DELAY_DAYS),
            amount_p90=(pl.col("amount").cast(pl.Float64) * P90_BILLING_SHARE).round(2).cast(MONEY),
        )
        .select(EXPECTED_SCHEMA.names())
        .cast(EXPECTED_SCHEMA)
        .pipe(sorted_by, "realm_id", "invoice_date", "source_id")
    )


def expected_items(expected: pl.DataFrame) -> pl.DataFrame:
    """Forecast items (kind "expected") of the expected billing: one per line, at that line's
    collection date and amount; source_id names the customer and the expected invoice date."""
    return pl.concat(
        [
            expected.select(
                "realm_id",
                pl.lit(line).alias("line"),
                pl.col(f"collect_{line}").alias("date"),
                pl.lit(EXPECTED_KIND).alias("kind"),
                "source_id",
                "party",
                pl.lit("in").alias("direction"),
                pl.col("amount" if line == "p50" else "amount_p90").alias("amount"),
                "label",
            )
            for line in ("p50", "p90")
        ]
    )


def undated_for_companies(
    events: pl.DataFrame,
    *,
    confirmed: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
    estimates: pl.DataFrame | None = None,
    in_order: bool = False,
) -> pl.DataFrame:
    """``undated_billing`` for the companies whose setting has expected billing on (the
    default); ``dated_billing`` then dates them. ``in_order``: ``events`` in ``invoice_events``'
    order already (the companies left out are filtered away, which keeps it)."""
    off = (
        company.filter(~pl.col("expected_billing").fill_null(True)).select("realm_id")
        if "expected_billing" in company.columns
        else pl.DataFrame(schema={"realm_id": pl.String})
    )

    def keep(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(~pl.col("realm_id").is_in(off["realm_id"])) if off.height else frame

    return undated_billing(
        keep(events),
        confirmed=confirmed,
        as_of=as_of,
        estimates=None if estimates is None else keep(estimates),
        in_order=in_order,
    )
