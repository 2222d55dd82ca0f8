"""Payer behaviour: how late each customer pays, from the payments that closed its invoices."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.common import companies, days_between, shared_codes

MIN_HISTORY = 3  # paid invoices a customer needs before its own lag is trusted


def payment_links(payments: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """realm_id, payment_id, invoice_id, amount, txn_date: one row per payment application up to
    as_of."""
    return (
        payments.lazy()  # a lazy plan filters only the columns read, not the whole table
        .filter(~pl.col("voided").fill_null(False) & (pl.col("txn_date") <= as_of))
        .select("realm_id", pl.col("id").alias("payment_id"), "txn_date", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type") == "Invoice")
        .select(
            "realm_id", "payment_id", pl.col("txn_id").alias("invoice_id"), "amount", "txn_date"
        )
        .collect()
    )


def invoice_payments(
    invoices: pl.DataFrame, links: pl.DataFrame, *, earlier: date | None = None
) -> pl.DataFrame:
    """Every invoice not voided with what was applied to it: ``applied`` (every payment in
    ``links``), ``paid_date`` (the latest of them) and, with ``earlier``, ``applied_earlier`` (the
    ones dated by ``earlier``); null where nothing was applied.

    Why one frame: payer history (which invoices were paid, and when) and DSO (A/R as it stood
    ``earlier``) both need each invoice's payment sums — one grouping of the links and one join of
    half a million invoices, instead of one each."""
    sums = [pl.col("amount").sum().alias("applied"), pl.col("txn_date").max().alias("paid_date")]
    if earlier is not None:
        sums.append(
            pl.col("amount").filter(pl.col("txn_date") <= earlier).sum().alias("applied_earlier")
        )
    read = [
        "realm_id",
        "id",
        "customer_id",
        "txn_date",
        "due_date",
        "total_amt",
        "currency",
        "exchange_rate",
    ]
    live = (
        invoices.lazy()
        .filter(~pl.col("voided").fill_null(False))
        .select(c for c in read if c in invoices.columns)
    )
    codes = shared_codes(invoices, links, ["realm_id", "id"], ["realm_id", "invoice_id"])
    if codes is None:  # keys too many to number: joined on the strings themselves
        applied = links.lazy().group_by("realm_id", "invoice_id").agg(sums)
        joined = live.join(
            applied, left_on=["realm_id", "id"], right_on=["realm_id", "invoice_id"], how="left"
        )
    else:
        applied = links.lazy().group_by(codes[1].alias("_pair")).agg(sums)
        joined = (
            live.with_columns(codes[0].alias("_pair"))
            .join(applied, on="_pair", how="left")
            .drop("_pair")
        )
    return joined.collect()


def paid_invoices(
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    as_of: date,
    links: pl.DataFrame | None = None,
    applications: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Invoices fully paid by as_of: paid date = date of the latest payment applied to each.
    ``links``: ``payment_links(payments, as_of)`` when the caller has them already;
    ``applications``: ``invoice_payments`` of these invoices and links, likewise."""
    if applications is None:
        if links is None:
            links = payment_links(payments, as_of)
        applications = invoice_payments(invoices, links)
    return (
        applications.filter((pl.col("total_amt") > 0) & (pl.col("applied") >= pl.col("total_amt")))
        .with_columns(
            days_late=days_between(pl.col("paid_date"), pl.coalesce("due_date", "txn_date"))
        )
        .select(
            "realm_id",
            pl.col("id").alias("invoice_id"),
            "customer_id",
            "paid_date",
            "days_late",
            "total_amt",
        )
    )


def payer_behaviour(
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    customers: pl.DataFrame,
    company_info: pl.DataFrame,
    as_of: date,
    paid: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per customer: P50/P90 days late with the paid count behind them; thin history falls back
    to the company-wide lag (flagged), no history at all to 0 days ("default"). ``paid``: the
    ``paid_invoices`` of the same books, when the caller already has them (computed once)."""
    if paid is None:
        paid = paid_invoices(invoices, payments, as_of)
    lag_p50 = pl.col("days_late").quantile(0.5, interpolation="linear")
    lag_p90 = pl.col("days_late").quantile(0.9, interpolation="linear")
    own = paid.group_by("realm_id", "customer_id").agg(
        pl.len().cast(pl.UInt32).alias("paid_count"),
        lag_p50.alias("own_p50"),
        lag_p90.alias("own_p90"),
    )
    firm = paid.group_by("realm_id").agg(lag_p50.alias("co_p50"), lag_p90.alias("co_p90"))
    known = (
        pl.concat(
            [
                customers.select(
                    "realm_id",
                    pl.col("id").alias("customer_id"),
                    pl.col("display_name").alias("customer_name"),
                ),
                invoices.select(
                    "realm_id", "customer_id", pl.lit(None, dtype=pl.String).alias("customer_name")
                ),
            ]
        )
        .group_by("realm_id", "customer_id")
        .agg(pl.col("customer_name").drop_nulls().first())
    )
    realms = companies(company_info).select("realm_id")
    enough = pl.col("paid_count") >= MIN_HISTORY
    return (
        known.join(realms, on="realm_id", how="semi")
        .join(own, on=["realm_id", "customer_id"], how="left")
        .join(firm, on="realm_id", how="left")
        .with_columns(pl.col("paid_count").fill_null(0))
        .with_columns(
            source=pl.when(enough)
            .then(pl.lit("history"))
            .when(pl.col("co_p50").is_not_null())
            .then(pl.lit("company"))
            .otherwise(pl.lit("default")),
            p50_days_late=pl.when(enough)
            .then("own_p50")
            .otherwise(pl.col("co_p50").fill_null(0.0)),
            p90_days_late=pl.when(enough)
            .then("own_p90")
            .otherwise(pl.col("co_p90").fill_null(0.0)),
        )
        .select(
            "realm_id",
            "customer_id",
            pl.col("customer_name").fill_null(pl.col("customer_id")),
            "paid_count",
            pl.col("p50_days_late").cast(pl.Float64),
            pl.col("p90_days_late").cast(pl.Float64),
            "source",
            (pl.col("source") != "history").alias("fallback"),
        )
        .sort("realm_id", "customer_name", "customer_id")
    )


def bill_pay_lags(bills: pl.DataFrame, bill_payments: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """How many days after the due date this company pays its bills, from its own paid bills:
    realm_id, party_id (vendor), p50_days_after_due (the vendor's median with 3+ paid bills, else
    the company's), early_days_after_due (the 10th percentile: the P90 line pays that early),
    paid_count. Days before the due date count as negative (early payers stay early)."""
    links = (
        bill_payments.lazy()
        .filter(~pl.col("voided").fill_null(False) & (pl.col("txn_date") <= as_of))
        .select("realm_id", "txn_date", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type") == "Bill")
        .group_by("realm_id", pl.col("txn_id").alias("bill_id"))
        .agg(pl.col("amount").sum().alias("applied"), pl.col("txn_date").max().alias("paid_date"))
        .collect()
    )
    paid = (
        bills.filter(pl.col("total_amt") > 0)
        .join(links, left_on=["realm_id", "id"], right_on=["realm_id", "bill_id"], how="inner")
        .filter(pl.col("applied") >= pl.col("total_amt"))
        .with_columns(
            days=days_between(pl.col("paid_date"), pl.coalesce("due_date", "txn_date")).cast(
                pl.Float64
            )
        )
        .select("realm_id", pl.col("vendor_id").alias("party_id"), "days")
    )
    own = paid.group_by("realm_id", "party_id").agg(
        pl.len().cast(pl.UInt32).alias("paid_count"),
        pl.col("days").quantile(0.5, interpolation="linear").alias("own_p50"),
        pl.col("days").quantile(0.1, interpolation="linear").alias("own_early"),
    )
    firm = paid.group_by("realm_id").agg(
        pl.col("days").quantile(0.5, interpolation="linear").alias("co_p50"),
        pl.col("days").quantile(0.1, interpolation="linear").alias("co_early"),
    )
    vendors = bills.select("realm_id", pl.col("vendor_id").alias("party_id")).unique()
    enough = pl.col("paid_count").fill_null(0) >= MIN_HISTORY
    return (
        vendors.join(own, on=["realm_id", "party_id"], how="left")
        .join(firm, on="realm_id", how="left")
        .select(
            "realm_id",
            "party_id",
            pl.when(enough).then("own_p50").otherwise("co_p50").alias("p50_days_after_due"),
            pl.when(enough).then("own_early").otherwise("co_early").alias("early_days_after_due"),
            pl.col("paid_count").fill_null(0),
        )
        .sort("realm_id", "party_id")
    )


DOUBTFUL_DAYS = 90
DEFAULT_DOUBTFUL_DAYS = 28


def doubtful_collection(
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    as_of: date,
    paid: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """How this company fares with invoices more than 90 days past due: realm_id, collect_rate =
    amount of such invoices it collected ÷ (that + what is still open 91+ days), collect_days =
    median days from the 90th day past due to payment among those collected (at least a week).
    No such history: rate 0 (the forecast then counts none of them). ``paid``: as in
    ``payer_behaviour``."""
    if paid is None:
        paid = paid_invoices(invoices, payments, as_of)
    paid = paid.filter(pl.col("days_late") > DOUBTFUL_DAYS)
    collected = paid.group_by("realm_id").agg(
        pl.col("total_amt").sum().cast(pl.Float64).alias("collected"),
        (pl.col("days_late") - DOUBTFUL_DAYS).median().alias("collect_days"),
    )
    still_open = (
        invoices.filter(
            ~pl.col("voided").fill_null(False)
            & (pl.col("balance") > 0)
            & (pl.col("txn_date") <= as_of)
            & (days_between(pl.lit(as_of), pl.coalesce("due_date", "txn_date")) > DOUBTFUL_DAYS)
        )
        .group_by("realm_id")
        .agg(pl.col("balance").sum().cast(pl.Float64).alias("open_old"))
    )
    return (
        collected.join(still_open, on="realm_id", how="full", coalesce=True)
        .select(
            "realm_id",
            (
                pl.col("collected").fill_null(0.0)
                / (pl.col("collected").fill_null(0.0) + pl.col("open_old").fill_null(0.0))
            )
            .fill_nan(0.0)
            .round(3)
            .alias("collect_rate"),
            pl.col("collect_days")
            .fill_null(DEFAULT_DOUBTFUL_DAYS)
            .clip(lower_bound=7)
            .round(0)
            .cast(pl.Int32)
            .alias("collect_days"),
        )
        .sort("realm_id")
    )


def _undeposited_accounts(accounts: pl.DataFrame) -> pl.DataFrame:
    """realm_id, account_id of Undeposited Funds (where QBO parks payments until a deposit)."""
    name = pl.col("name").fill_null("").str.to_lowercase()
    return accounts.filter(
        (pl.col("account_sub_type") == "UndepositedFunds") | (name == "undeposited funds")
    ).select("realm_id", pl.col("id").alias("account_id"))


def _deposited(deposits: pl.DataFrame) -> pl.DataFrame:
    """realm_id, payment_id, deposited: the deposit that moved each payment into the bank."""
    if deposits.height == 0 or "links" not in deposits.columns:
        return pl.DataFrame(
            schema={"realm_id": pl.String, "payment_id": pl.String, "deposited": pl.Date}
        )
    return (
        deposits.select("realm_id", "txn_date", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type").is_in(["Payment", "SalesReceipt"]))
        .group_by("realm_id", pl.col("txn_id").alias("payment_id"))
        .agg(pl.col("txn_date").min().alias("deposited"))
    )


def with_deposit_days(
    payers: pl.DataFrame,
    payments: pl.DataFrame,
    deposits: pl.DataFrame,
    accounts: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """``payers`` + deposit_days: the median days from a customer's payment to the money reaching
    the bank (0 for payments deposited straight to the bank; the later deposit for those parked in
    Undeposited Funds), so a collection is forecast on the day the bank sees it."""
    parked = _undeposited_accounts(accounts).with_columns(parked=pl.lit(True))
    # a company without an Undeposited Funds account banks every payment the day it is made:
    # 0 days for all its customers (the default below), so only the others' payments are read
    parking = parked.get_column("realm_id").unique().implode()
    frame = (
        payments.lazy()
        .filter(
            ~pl.col("voided").fill_null(False)
            & (pl.col("txn_date") <= as_of)
            & pl.col("realm_id").is_in(parking)
        )
        .join(
            parked.lazy(),
            left_on=["realm_id", "deposit_account_id"],
            right_on=["realm_id", "account_id"],
            how="left",
        )
        .join(
            _deposited(deposits.filter(pl.col("txn_date") <= as_of)).lazy(),
            left_on=["realm_id", "id"],
            right_on=["realm_id", "payment_id"],
            how="left",
        )
        .filter(~pl.col("parked").fill_null(False) | pl.col("deposited").is_not_null())
        .with_columns(
            days=pl.when(pl.col("parked").fill_null(False))
            .then(days_between(pl.col("deposited"), pl.col("txn_date")))
            .otherwise(0)
            .cast(pl.Float64)
        )
        .group_by("realm_id", "customer_id")
        .agg(pl.col("days").median().round(0).cast(pl.Int32).alias("deposit_days"))
        .collect()
    )
    return payers.join(frame, on=["realm_id", "customer_id"], how="left").with_columns(
        pl.col("deposit_days").fill_null(0)
    )


def undeposited_items(
    payments: pl.DataFrame,
    deposits: pl.DataFrame,
    accounts: pl.DataFrame,
    customers: pl.DataFrame,
    as_of: date,
    sales_receipts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Money received but still in Undeposited Funds at ``as_of`` (no deposit dated by then
    moved it): an inflow on the day this company usually deposits such payments (its median days
    from payment to deposit, never before tomorrow), kind "undeposited", on both lines."""
    parked = _undeposited_accounts(accounts)
    sources = [
        payments.select(
            "realm_id", "id", "customer_id", "txn_date", "total_amt", "deposit_account_id", "voided"
        )
    ]
    if sales_receipts is not None and sales_receipts.height:
        sources.append(
            sales_receipts.select(
                "realm_id",
                "id",
                "customer_id",
                "txn_date",
                "total_amt",
                "deposit_account_id",
                "voided",
            )
        )
    received = pl.concat(sources, how="vertical_relaxed").filter(
        ~pl.col("voided").fill_null(False) & (pl.col("txn_date") <= as_of)
    )
    into_funds = received.join(
        parked,
        left_on=["realm_id", "deposit_account_id"],
        right_on=["realm_id", "account_id"],
        how="semi",
    )
    moved = _deposited(deposits.filter(pl.col("txn_date") <= as_of))
    history = into_funds.join(
        moved, left_on=["realm_id", "id"], right_on=["realm_id", "payment_id"], how="inner"
    )
    lag = history.group_by("realm_id").agg(
        days_between(pl.col("deposited"), pl.col("txn_date")).median().alias("lag")
    )
    waiting = into_funds.join(
        moved, left_on=["realm_id", "id"], right_on=["realm_id", "payment_id"], how="anti"
    )
    names = customers.select(
        "realm_id", pl.col("id").alias("customer_id"), pl.col("display_name").alias("party")
    )
    arrive = pl.max_horizontal(
        pl.col("txn_date") + pl.duration(days=pl.col("lag").fill_null(1.0).round(0).cast(pl.Int64)),
        pl.lit(as_of + timedelta(days=1)),
    )
    lines = pl.DataFrame({"line": ["p50", "p90"]})
    return (
        waiting.join(lag, on="realm_id", how="left")
        .join(names, on=["realm_id", "customer_id"], how="left")
        .join(lines, how="cross")
        .select(
            "realm_id",
            "line",
            arrive.alias("date"),
            pl.lit("undeposited").alias("kind"),
            pl.col("id").alias("source_id"),
            pl.col("party").fill_null(pl.col("customer_id")),
            pl.lit("in").alias("direction"),
            pl.col("total_amt").alias("amount"),
            pl.format(
                "received {}, waiting in Undeposited Funds (deposited about {} days after)",
                "txn_date",
                pl.col("lag").fill_null(1.0).round(0).cast(pl.Int64),
            ).alias("label"),
        )
    )
