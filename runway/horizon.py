"""Runway: weeks (and the date) until the projected balance falls below the reserve; and the
secondary simple runway (cash ÷ trailing 13-week average weekly net outflow), labelled."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.classify import accounts_classified
from runway.common import HORIZON_WEEKS, Tables, companies, to_home_currency
from runway.forecast import BASE
from runway.money import MONEY, zero

TRAILING_DAYS = HORIZON_WEEKS * 7


def _flows(
    frame: pl.DataFrame, company_info: pl.DataFrame, amount: str, sign: int, as_of: date
) -> pl.DataFrame:
    since = as_of - timedelta(days=TRAILING_DAYS)
    frame = frame.filter((pl.col("txn_date") > since) & (pl.col("txn_date") <= as_of))
    if "voided" in frame.columns:
        frame = frame.filter(~pl.col("voided").fill_null(False))
    if "exchange_rate" not in frame.columns:
        frame = frame.with_columns(exchange_rate=pl.lit(None, dtype=pl.Decimal(18, 6)))
    frame = to_home_currency(frame, company_info, amount, "home").filter(pl.col("fx_ok"))
    return frame.select("realm_id", (pl.col("home") * sign).cast(MONEY).alias("flow"))


def _transfer_out(transfers: pl.DataFrame, acct: pl.DataFrame) -> pl.DataFrame:
    """Transfers with ``out``: the amount leaving the bank accounts (to a card, a loan, equity)
    or, negative, arriving in them (a line-of-credit draw); between two bank accounts 0."""
    banks = acct.filter(pl.col("is_bank")).select("realm_id", "account_id")
    side = {
        name: banks.select("realm_id", pl.col("account_id").alias(f"{name}_account_id"))
        .unique()
        .with_columns(pl.lit(True).alias(f"_{name}_bank"))
        for name in ("from", "to")
    }
    frame = transfers.join(side["from"], on=["realm_id", "from_account_id"], how="left").join(
        side["to"], on=["realm_id", "to_account_id"], how="left"
    )
    from_bank = pl.col("_from_bank").fill_null(False)
    to_bank = pl.col("_to_bank").fill_null(False)
    amount = pl.col("amount").fill_null(zero())
    return frame.with_columns(
        out=pl.when(from_bank & ~to_bank)
        .then(amount)
        .when(to_bank & ~from_bank)
        .then(-amount)
        .otherwise(zero())
    )


def trailing_net_outflow(tables: Tables, as_of: date) -> pl.DataFrame:
    """realm_id, avg_weekly_net_outflow over the trailing 13 weeks from posted cash movements:
    customer payments into bank (or undeposited) + deposits in; bill payments by check, non-card
    purchases and journal entries crediting a bank account out. Cash sales straight into a bank
    count in and refunds paid from one count out (those waiting in Undeposited Funds arrive with
    their Deposit); transfers between the company's own bank accounts are neutral, those to a
    card, loan or equity account count out and line-of-credit draws in."""
    since = as_of - timedelta(days=TRAILING_DAYS)
    window = (pl.col("txn_date") > since) & (pl.col("txn_date") <= as_of)

    def recent(table: str) -> pl.DataFrame:
        """A table's documents of the trailing weeks (``_flows`` keeps only those): taken first,
        so the joins below carry 13 weeks of documents, not years."""
        return tables[table].filter(window)

    t = tables
    info = t["company_info"]
    acct = accounts_classified(t["account"])
    banks = acct.filter(pl.col("is_bank")).select(
        "realm_id", pl.col("account_id").alias("deposit_account_id")
    )
    payments = (
        recent("payment")
        .drop("links", strict=False)
        .join(
            banks.with_columns(bank=pl.lit(True)),
            on=["realm_id", "deposit_account_id"],
            how="left",
        )
    )
    payments = payments.filter(
        pl.col("bank").fill_null(False) | pl.col("deposit_account_id").is_null()
    )
    je = (
        recent("journal_entry")
        .select("realm_id", "id", "txn_date", "currency", "lines")
        .explode("lines")
        .unnest("lines")
        .join(acct, on=["realm_id", "account_id"], how="left")
        .filter(pl.col("is_bank").fill_null(False))
        .group_by("realm_id", "id", "txn_date", "currency")
        .agg(
            (
                pl.when(pl.col("posting_type") == "Credit")
                .then(pl.col("amount"))
                .otherwise(-pl.col("amount"))
            )
            .sum()
            .alias("out")
        )
    )
    parts = [
        _flows(payments, info, "total_amt", -1, as_of),
        _flows(t["deposit"], info, "total_amt", -1, as_of),
        _flows(
            t["bill_payment"].filter(pl.col("pay_type").fill_null("Check") == "Check"),
            info,
            "total_amt",
            1,
            as_of,
        ),
        _flows(
            t["purchase"].filter(pl.col("payment_type").fill_null("Cash") != "CreditCard"),
            info,
            "total_amt",
            1,
            as_of,
        ),
        _flows(je, info, "out", 1, as_of),
        _flows(
            recent("sales_receipt").join(banks, on=["realm_id", "deposit_account_id"], how="semi"),
            info,
            "total_amt",
            -1,
            as_of,
        ),
        _flows(
            recent("refund_receipt").join(banks, on=["realm_id", "deposit_account_id"], how="semi"),
            info,
            "total_amt",
            1,
            as_of,
        ),
    ]
    parts.append(_flows(_transfer_out(recent("transfer"), acct), info, "out", 1, as_of))
    net = pl.concat(parts).group_by("realm_id").agg(pl.col("flow").sum().alias("net_out"))
    return (
        companies(info)
        .select("realm_id")
        .join(net, on="realm_id", how="left")
        .select(
            "realm_id",
            (pl.col("net_out").fill_null(zero()) / HORIZON_WEEKS)
            .round(2)
            .cast(MONEY)
            .alias("avg_weekly_net_outflow"),
        )
    )


MAX_SIMPLE_WEEKS = 104  # simple runway beyond two years reads "more than 2 years"
RUNWAY_LABEL = (
    "weeks until the projected daily balance falls below the reserve (P50 line; beyond 13 weeks "
    "at the trailing 13-week run-rate)"
)
RUNWAY_P90_LABEL = "the same on the P90 line (late payers, less and later billing)"
ZERO_LABEL = "weeks until the projected daily balance falls below zero (P50 line)"
SIMPLE_LABEL = "secondary: cash ÷ average weekly net outflow over the trailing 13 weeks"


def simple_runway_text(weeks: pl.Expr, outflow: pl.Expr) -> pl.Expr:
    """The simple runway in words: "cash-flow positive" when the trailing net flow is not an
    outflow, "more than 2 years" beyond 104 weeks, else "N.N weeks"."""
    return (
        pl.when(outflow.is_null())
        .then(pl.lit(None, dtype=pl.String))
        .when(outflow <= 0)
        .then(pl.lit("cash-flow positive"))
        .when(weeks > MAX_SIMPLE_WEEKS)
        .then(pl.lit("more than 2 years"))
        .otherwise(pl.format("{} weeks", weeks))
    )


def runway_table(
    stats: pl.DataFrame,
    *,
    cash: pl.DataFrame,
    reserve: pl.DataFrame,
    trailing: pl.DataFrame,
    as_of: date,
    company: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per company (see docs/reports.md): P50 headline (weeks and date until below the
    reserve), P90 beside it, weeks until zero, the simple runway labelled as secondary (capped),
    each with the words of its definition; ``expected_billing`` says whether billing not yet
    invoiced is in the forecast (off: the page shows a banner)."""
    base = stats.filter(pl.col("scenario_id") == BASE)
    zero_cols = [c for c in ("zero_weeks", "zero_date") if c in base.columns]
    p50 = base.filter(pl.col("line") == "p50").select(
        "realm_id",
        "runway_weeks",
        "breach_date",
        "lowest_balance",
        (pl.col("lowest_day") // 7).cast(pl.Int32).alias("lowest_week"),
        "method",
        *zero_cols,
    )
    p90 = base.filter(pl.col("line") == "p90").select(
        "realm_id",
        pl.col("runway_weeks").alias("runway_weeks_p90"),
        pl.col("breach_date").alias("breach_date_p90"),
    )
    flags = (
        company.select("realm_id", pl.col("expected_billing").fill_null(True))
        if company is not None and "expected_billing" in company.columns
        else cash.select("realm_id", pl.lit(True).alias("expected_billing"))
    )
    frame = (
        cash.select("realm_id", "cash")
        .join(reserve, on="realm_id", how="left")
        .join(p50, on="realm_id", how="left")
        .join(p90, on="realm_id", how="left")
        .join(trailing, on="realm_id", how="left")
        .join(flags, on="realm_id", how="left")
    )
    if "zero_weeks" not in frame.columns:
        frame = frame.with_columns(
            zero_weeks=pl.lit(None, dtype=pl.Float64), zero_date=pl.lit(None, dtype=pl.Date)
        )
    simple = (
        pl.col("cash").cast(pl.Float64) / pl.col("avg_weekly_net_outflow").cast(pl.Float64)
    ).round(1)
    return (
        frame.with_columns(
            as_of=pl.lit(as_of),
            simple_runway_weeks=pl.when(pl.col("avg_weekly_net_outflow") > 0)
            .then(simple)
            .otherwise(None),
        )
        .with_columns(
            simple_runway_text=simple_runway_text(
                pl.col("simple_runway_weeks"), pl.col("avg_weekly_net_outflow")
            ),
            runway_label=pl.lit(RUNWAY_LABEL),
            runway_p90_label=pl.lit(RUNWAY_P90_LABEL),
            zero_label=pl.lit(ZERO_LABEL),
            simple_runway_label=pl.lit(SIMPLE_LABEL),
            expected_billing=pl.col("expected_billing").fill_null(True),
        )
        .select(
            "realm_id",
            "as_of",
            "cash",
            "reserve",
            "reserve_source",
            "runway_weeks",
            "breach_date",
            "runway_weeks_p90",
            "breach_date_p90",
            "zero_weeks",
            "zero_date",
            "lowest_balance",
            "lowest_week",
            "method",
            "simple_runway_weeks",
            "simple_runway_text",
            "avg_weekly_net_outflow",
            "expected_billing",
            "runway_label",
            "runway_p90_label",
            "zero_label",
            "simple_runway_label",
        )
        .sort("realm_id")
    )
