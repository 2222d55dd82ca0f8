"""Cash position: Bank accounts' CurrentBalance, with the time each balance is known as of."""

from __future__ import annotations

import polars as pl

from runway.common import companies
from runway.money import MONEY, zero
from runway.tables import TIMESTAMP


def cash_accounts(accounts: pl.DataFrame, company_info: pl.DataFrame) -> pl.DataFrame:
    """One row per active Bank account; foreign-currency accounts are listed but not summed."""
    homes = companies(company_info).select("realm_id", "home_currency")
    return (
        accounts.filter((pl.col("account_type") == "Bank") & pl.col("active").fill_null(True))
        .join(homes, on="realm_id", how="left")
        .with_columns(currency=pl.col("currency").fill_null(pl.col("home_currency")))
        .with_columns(included=pl.col("currency") == pl.col("home_currency"))
        .select(
            "realm_id",
            pl.col("id").alias("account_id"),
            pl.col("name").alias("account_name"),
            "currency",
            pl.col("current_balance").fill_null(zero()).cast(MONEY).alias("balance"),
            "included",
            pl.when(pl.col("included"))
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(pl.lit("foreign-currency account: not converted, excluded from cash"))
            .alias("note"),
            pl.col("source_updated_at").cast(TIMESTAMP).alias("balance_as_of"),
        )
        .sort("realm_id", "account_name", "account_id")
    )


def cash_position(
    accounts: pl.DataFrame, company_info: pl.DataFrame, freshness: pl.DataFrame
) -> pl.DataFrame:
    """realm_id, cash, cash_as_of (last successful sync, else the newest balance version), counts."""
    per = cash_accounts(accounts, company_info)
    sums = per.group_by("realm_id").agg(
        pl.col("balance").filter(pl.col("included")).sum().alias("cash"),
        pl.col("balance_as_of").max().alias("newest"),
        pl.col("included").sum().cast(pl.UInt32).alias("accounts"),
        (~pl.col("included")).sum().cast(pl.UInt32).alias("excluded_accounts"),
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
        )
        .sort("realm_id")
    )
