"""Cash position: every Bank account's CurrentBalance, foreign ones converted to the home currency
at the latest known rate (shown with the rate and its date), with the time each balance is known
as of. Shown beside the cash, never added to it: payments waiting in Undeposited Funds, credit-card
balances owed and the line of credit's balance and unused limit. An account that cannot be
converted (no rate anywhere) is listed and flagged, never dropped."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from runway.common import Tables, companies
from runway.money import MONEY, RATE, as_money, zero
from runway.tables import TIMESTAMP

RATE_SCHEMA = {
    "realm_id": pl.String(),
    "currency": pl.String(),
    "rate": RATE,
    "rate_date": pl.Date(),
    "rate_source": pl.String(),
}
# Documents whose own ExchangeRate is a rate the company booked (the fallback when QBO's
# ExchangeRate list has none for a currency).
RATED_TABLES = (
    "invoice",
    "payment",
    "bill",
    "bill_payment",
    "deposit",
    "credit_memo",
    "vendor_credit",
    "sales_receipt",
    "refund_receipt",
    "estimate",
)
ACCOUNT_KINDS = ("bank", "undeposited_funds", "credit_card", "line_of_credit")
_LIMIT = re.compile(r"limit\D{0,12}?([\d][\d,]*(?:\.\d{1,2})?)", re.IGNORECASE)


def latest_rates(tables: Tables, as_of: date) -> pl.DataFrame:
    """realm_id, currency, rate (home per foreign unit), rate_date, rate_source: for each foreign
    currency the latest rate known on ``as_of`` — QBO's ExchangeRate list first, else the rate
    of the latest document booked in that currency."""
    homes = companies(tables["company_info"]).select("realm_id", "home_currency")
    listed = (
        tables["exchange_rate"]
        .join(homes, on="realm_id", how="left")
        .filter(
            (pl.col("as_of_date") <= as_of)
            & pl.col("rate").is_not_null()
            & (
                pl.col("target_currency").is_null()
                | (pl.col("target_currency") == pl.col("home_currency"))
            )
        )
        .select(
            "realm_id",
            pl.col("source_currency").alias("currency"),
            pl.col("rate").cast(RATE),
            pl.col("as_of_date").alias("rate_date"),
            pl.lit("QuickBooks exchange rate").alias("rate_source"),
            pl.lit(0).alias("preference"),
        )
    )
    booked = [
        tables[name]
        .filter(
            pl.col("exchange_rate").is_not_null()
            & pl.col("currency").is_not_null()
            & (pl.col("txn_date") <= as_of)
        )
        .select(
            "realm_id",
            "currency",
            pl.col("exchange_rate").cast(RATE).alias("rate"),
            pl.col("txn_date").alias("rate_date"),
            pl.lit(f"rate of the latest {name.replace('_', ' ')} in that currency").alias(
                "rate_source"
            ),
            pl.lit(1).alias("preference"),
        )
        for name in RATED_TABLES
    ]
    every = pl.concat([listed, *booked]).join(homes, on="realm_id", how="left")
    return (
        every.filter(pl.col("currency") != pl.col("home_currency"))
        .sort(
            "realm_id",
            "currency",
            "preference",
            "rate_date",
            descending=[False, False, False, True],
        )
        .unique(["realm_id", "currency"], keep="first", maintain_order=True)
        .select(*[pl.col(c).cast(t) for c, t in RATE_SCHEMA.items()])
        .sort("realm_id", "currency")
    )


def _kind() -> pl.Expr:
    name = pl.col("name").fill_null("").str.to_lowercase()
    sub = pl.col("account_sub_type").fill_null("")
    return (
        pl.when(pl.col("account_type") == "Bank")
        .then(pl.lit("bank"))
        .when((sub == "UndepositedFunds") | (name == "undeposited funds"))
        .then(pl.lit("undeposited_funds"))
        .when(pl.col("account_type") == "Credit Card")
        .then(pl.lit("credit_card"))
        .when(
            pl.col("account_type").is_in(["Other Current Liability", "Long Term Liability"])
            & ((sub == "LineOfCredit") | name.str.contains("line of credit"))
        )
        .then(pl.lit("line_of_credit"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def credit_limit(description: str | None) -> str | None:
    """The limit written in an account's description ("... limit $150,000"): QBO has no field
    for it, so the owner's note is the source; None when none is written."""
    match = _LIMIT.search(description or "")
    return match.group(1).replace(",", "") if match else None


def cash_accounts(
    accounts: pl.DataFrame, company_info: pl.DataFrame, rates: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per active Bank, Undeposited Funds, credit-card and line-of-credit account.

    ``balance`` is in the home currency (a foreign account converted at ``rate`` of
    ``rate_date``; null when no rate is known, and the row says so), ``balance_foreign`` in the
    account's own currency. ``included``: counted in cash (Bank accounts that convert); the
    other kinds are shown beside it. Credit-card and line-of-credit balances are what is owed."""
    homes = companies(company_info).select("realm_id", "home_currency")
    rates = pl.DataFrame(schema=RATE_SCHEMA) if rates is None else rates
    frame = (
        accounts.filter(pl.col("active").fill_null(True))
        .with_columns(kind=_kind())
        .filter(pl.col("kind").is_not_null())
        .join(homes, on="realm_id", how="left")
        .with_columns(currency=pl.col("currency").fill_null(pl.col("home_currency")))
        .with_columns(foreign=pl.col("currency") != pl.col("home_currency"))
        .join(rates, on=["realm_id", "currency"], how="left")
        .with_columns(
            balance_foreign=pl.col("current_balance").fill_null(zero()).cast(MONEY),
            convertible=~pl.col("foreign") | pl.col("rate").is_not_null(),
        )
        .with_columns(
            balance=pl.when(~pl.col("foreign"))
            .then(pl.col("balance_foreign"))
            .when(pl.col("convertible"))
            .then(as_money(pl.col("balance_foreign") * pl.col("rate")))
            .otherwise(pl.lit(None, dtype=MONEY))
            .cast(MONEY),
            limit=pl.col("description")
            .map_elements(credit_limit, return_dtype=pl.String)
            .cast(MONEY),
        )
    )
    note = (
        pl.when(~pl.col("convertible"))
        .then(
            pl.format(
                "{} account without any {} exchange rate: not converted, not in cash",
                "currency",
                "currency",
            )
        )
        .when(pl.col("foreign"))
        .then(
            pl.format(
                "converted from {} {} at {} ({}, {})",
                "currency",
                pl.col("balance_foreign").cast(pl.String),
                pl.col("rate").cast(pl.String),
                pl.col("rate_source"),
                pl.col("rate_date").cast(pl.String),
            )
        )
        .when(pl.col("kind") == "undeposited_funds")
        .then(pl.lit("received, not yet deposited: shown beside cash"))
        .when(pl.col("kind") == "credit_card")
        .then(pl.lit("owed on the card: shown beside cash"))
        .when(pl.col("kind") == "line_of_credit")
        .then(pl.lit("drawn on the line of credit: shown beside cash"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return frame.select(
        "realm_id",
        pl.col("id").alias("account_id"),
        pl.col("name").alias("account_name"),
        "kind",
        "currency",
        "balance",
        "balance_foreign",
        "rate",
        "rate_date",
        ((pl.col("kind") == "bank") & pl.col("convertible")).alias("included"),
        (~pl.col("convertible")).alias("unconverted"),
        note.alias("note"),
        pl.col("source_updated_at").cast(TIMESTAMP).alias("balance_as_of"),
        "limit",
        pl.when(pl.col("kind") == "line_of_credit")
        .then((pl.col("limit") - pl.col("balance")).cast(MONEY))
        .otherwise(pl.lit(None, dtype=MONEY))
        .alias("available"),
    ).sort("realm_id", "kind", "account_name", "account_id")


def cash_accounts_for(tables: Tables, as_of: date) -> pl.DataFrame:
    """``cash_accounts`` with the rates known on ``as_of`` (the per-account frame of a company)."""
    return cash_accounts(tables["account"], tables["company_info"], latest_rates(tables, as_of))


def cash_position(
    accounts: pl.DataFrame,
    company_info: pl.DataFrame,
    freshness: pl.DataFrame,
    per_account: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, cash, cash_as_of (last successful sync, else the newest balance version), counts,
    and beside the cash: undeposited funds, card balances owed, line-of-credit drawn / limit /
    available, and how many accounts could not be converted (flagged on every page)."""
    per = cash_accounts(accounts, company_info) if per_account is None else per_account
    kind = pl.col("kind")
    sums = per.group_by("realm_id").agg(
        pl.col("balance").filter(pl.col("included")).sum().alias("cash"),
        pl.col("balance_as_of").filter(kind == "bank").max().alias("newest"),
        pl.col("included").sum().cast(pl.UInt32).alias("accounts"),
        ((kind == "bank") & ~pl.col("included")).sum().cast(pl.UInt32).alias("excluded_accounts"),
        (kind == "bank")
        .filter(pl.col("rate").is_not_null())
        .sum()
        .cast(pl.UInt32)
        .alias("converted_accounts"),
        pl.col("unconverted").sum().cast(pl.UInt32).alias("unconverted_accounts"),
        pl.col("balance").filter(kind == "undeposited_funds").sum().alias("undeposited"),
        pl.col("balance").filter(kind == "credit_card").sum().alias("card_owed"),
        pl.col("balance").filter(kind == "line_of_credit").sum().alias("credit_line_drawn"),
        pl.col("limit").filter(kind == "line_of_credit").sum().alias("credit_line_limit"),
        (kind == "line_of_credit").sum().cast(pl.UInt32).alias("credit_lines"),
    )
    fresh = freshness.select("realm_id", pl.col("last_success_at").cast(TIMESTAMP))
    return (
        companies(company_info)
        .select("realm_id")
        .join(sums, on="realm_id", how="left")
        .join(fresh, on="realm_id", how="left")
        .select(
            "realm_id",
            pl.col("cash").fill_null(zero()).cast(MONEY),
            pl.coalesce("last_success_at", "newest").alias("cash_as_of"),
            pl.col("accounts").fill_null(0),
            pl.col("excluded_accounts").fill_null(0),
            pl.col("converted_accounts").fill_null(0),
            pl.col("unconverted_accounts").fill_null(0),
            pl.col("undeposited").fill_null(zero()).cast(MONEY),
            pl.col("card_owed").fill_null(zero()).cast(MONEY),
            pl.when(pl.col("credit_lines").fill_null(0) > 0)
            .then(pl.col("credit_line_drawn").cast(MONEY))
            .otherwise(pl.lit(None, dtype=MONEY))
            .alias("credit_line_drawn"),
            pl.when(pl.col("credit_lines").fill_null(0) > 0)
            .then(pl.col("credit_line_limit").cast(MONEY))
            .otherwise(pl.lit(None, dtype=MONEY))
            .alias("credit_line_limit"),
        )
        .with_columns(
            credit_line_available=(pl.col("credit_line_limit") - pl.col("credit_line_drawn")).cast(
                MONEY
            )
        )
        .sort("realm_id")
    )
