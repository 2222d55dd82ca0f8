"""A/R and A/P aging in QuickBooks' buckets, per party and per company, for all companies at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from runway.common import companies, days_between, to_home_currency
from runway.money import MONEY, zero

BUCKETS = ["Current", "1-30", "31-60", "61-90", "91+"]
BUCKET = pl.Enum(BUCKETS)
BUCKET_COLUMNS = {
    "Current": "current",
    "1-30": "d1_30",
    "31-60": "d31_60",
    "61-90": "d61_90",
    "91+": "d91_plus",
}
MONEY_COLUMNS = [*BUCKET_COLUMNS.values(), "total"]


@dataclass(frozen=True)
class Aging:
    """Aging of one side (A/R or A/P): open documents, per party, per company, exclusions, unapplied."""

    detail: pl.DataFrame
    by_party: pl.DataFrame
    totals: pl.DataFrame
    excluded: pl.DataFrame
    unapplied: pl.DataFrame


def bucket_of(days_past_due: pl.Expr) -> pl.Expr:
    """QBO buckets by days past due: ≤0 Current, 1–30, 31–60, 61–90, 91+."""
    return (
        pl.when(days_past_due <= 0)
        .then(pl.lit("Current"))
        .when(days_past_due <= 30)
        .then(pl.lit("1-30"))
        .when(days_past_due <= 60)
        .then(pl.lit("31-60"))
        .when(days_past_due <= 90)
        .then(pl.lit("61-90"))
        .otherwise(pl.lit("91+"))
        .cast(BUCKET)
    )


def _not_voided(frame: pl.DataFrame) -> pl.Expr:
    return ~pl.col("voided").fill_null(False) if "voided" in frame.columns else pl.lit(True)


def applied_after(payments: pl.DataFrame | None, txn_type: str, as_of: date) -> pl.DataFrame:
    """realm_id, doc_id, later_amt: amounts applied to each document by payments dated after as_of
    (added back, so a past as_of sees the document as it stood then even without its old versions)."""
    schema = {"realm_id": pl.String, "doc_id": pl.String, "later_amt": MONEY}
    if payments is None or payments.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        payments.filter(_not_voided(payments) & (pl.col("txn_date") > as_of))
        .select("realm_id", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type") == txn_type)
        .group_by("realm_id", pl.col("txn_id").alias("doc_id"))
        .agg(pl.col("amount").sum().cast(MONEY).alias("later_amt"))
    )


def open_documents(
    docs: pl.DataFrame,
    parties: pl.DataFrame,
    party_col: str,
    company_info: pl.DataFrame,
    as_of: date,
    later: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(open documents with their bucket, foreign documents excluded for want of a rate).
    Open amount = Balance, plus payments dated after as_of added back (capped at TotalAmt)."""
    names = parties.select(
        "realm_id", pl.col("id").alias("party_id"), pl.col("display_name").alias("party_name")
    )
    if later is not None and later.height:
        docs = (
            docs.join(
                later, left_on=["realm_id", "id"], right_on=["realm_id", "doc_id"], how="left"
            )
            .with_columns(
                balance=pl.when(pl.col("later_amt").is_null())
                .then(pl.col("balance"))
                .otherwise(
                    pl.min_horizontal(
                        pl.col("balance") + pl.col("later_amt"), pl.col("total_amt")
                    ).cast(MONEY)
                )
            )
            .drop("later_amt")
        )
    frame = (
        docs.filter(
            (pl.col("balance") != 0)
            & _not_voided(docs)
            & (pl.col("txn_date") <= as_of)
            & pl.col("balance").is_not_null()
        )
        .rename({party_col: "party_id", "id": "doc_id", "balance": "balance_foreign"})
        .join(names, on=["realm_id", "party_id"], how="left")
        .with_columns(pl.col("party_name").fill_null(pl.col("party_id")))
    )
    frame = to_home_currency(frame, company_info, "balance_foreign", "balance")
    detail = (
        frame.filter(pl.col("fx_ok"))
        .with_columns(aging_date=pl.coalesce("due_date", "txn_date"))
        .with_columns(days_past_due=days_between(pl.lit(as_of), pl.col("aging_date")))
        .with_columns(bucket=bucket_of(pl.col("days_past_due")))
        .select(
            "realm_id",
            "doc_id",
            "doc_number",
            "party_id",
            "party_name",
            "txn_date",
            "due_date",
            "aging_date",
            "days_past_due",
            "bucket",
            "balance",
            "balance_foreign",
            "currency",
            "exchange_rate",
        )
        .sort("realm_id", "party_name", "aging_date", "doc_id")
    )
    excluded = (
        frame.filter(~pl.col("fx_ok"))
        .select(
            "realm_id",
            "doc_id",
            "party_name",
            "currency",
            "balance_foreign",
            note=pl.lit("foreign currency without an exchange rate: excluded from totals"),
        )
        .sort("realm_id", "doc_id")
    )
    return detail, excluded


def unapplied_payments(
    payments: pl.DataFrame, customers: pl.DataFrame, company_info: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """Customer payments not (fully) applied to invoices: their own line, never netted silently."""
    names = customers.select(
        "realm_id", pl.col("id").alias("customer_id"), pl.col("display_name").alias("party_name")
    )
    frame = payments.filter(
        (pl.col("unapplied_amt").fill_null(0) > 0)
        & _not_voided(payments)
        & (pl.col("txn_date") <= as_of)
    )
    frame = to_home_currency(frame, company_info, "unapplied_amt", "amount").filter(pl.col("fx_ok"))
    return (
        frame.join(names, on=["realm_id", "customer_id"], how="left")
        .select(
            "realm_id",
            pl.col("id").alias("payment_id"),
            "customer_id",
            "party_name",
            "txn_date",
            "amount",
        )
        .sort("realm_id", "txn_date", "payment_id")
    )


def _bucket_sums(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.group_by(keys).agg(
        *[
            pl.col("balance").filter(pl.col("bucket") == name).sum().alias(col)
            for name, col in BUCKET_COLUMNS.items()
        ],
        pl.col("balance").sum().alias("total"),
        pl.len().alias("open_count"),
    )


def aging(
    docs: pl.DataFrame,
    parties: pl.DataFrame,
    party_col: str,
    company_info: pl.DataFrame,
    as_of: date,
    payments: pl.DataFrame | None = None,
    later: pl.DataFrame | None = None,
) -> Aging:
    """Aging for every company in ``company_info``; A/R passes its payments for the unapplied line;
    ``later`` = applied_after(...) rebuilds past balances."""
    detail, excluded = open_documents(docs, parties, party_col, company_info, as_of, later)
    if payments is not None:
        unapplied = unapplied_payments(payments, parties, company_info, as_of)
    else:
        unapplied = pl.DataFrame(
            schema={
                "realm_id": pl.String,
                "payment_id": pl.String,
                "customer_id": pl.String,
                "party_name": pl.String,
                "txn_date": pl.Date,
                "amount": MONEY,
            }
        )
    party_unapplied = unapplied.group_by("realm_id", pl.col("customer_id").alias("party_id")).agg(
        pl.col("party_name").first().alias("party_name_u"),
        pl.col("amount").sum().alias("unapplied"),
    )
    by_party = (
        _bucket_sums(detail, ["realm_id", "party_id", "party_name"])
        .join(party_unapplied, on=["realm_id", "party_id"], how="full", coalesce=True)
        .with_columns(
            pl.col("party_name").fill_null(pl.col("party_name_u")),
            *[pl.col(c).fill_null(zero()).cast(MONEY) for c in [*MONEY_COLUMNS, "unapplied"]],
        )
        .select("realm_id", "party_id", "party_name", *MONEY_COLUMNS, "unapplied")
        .sort("realm_id", "party_name", "party_id")
    )
    realms = companies(company_info).select("realm_id")
    totals = (
        realms.join(_bucket_sums(detail, ["realm_id"]), on="realm_id", how="left")
        .join(
            unapplied.group_by("realm_id").agg(pl.col("amount").sum().alias("unapplied")),
            on="realm_id",
            how="left",
        )
        .join(
            excluded.group_by("realm_id").agg(pl.len().alias("excluded_count")),
            on="realm_id",
            how="left",
        )
        .with_columns(
            *[pl.col(c).fill_null(zero()).cast(MONEY) for c in [*MONEY_COLUMNS, "unapplied"]],
            pl.col("open_count").fill_null(0).cast(pl.UInt32),
            pl.col("excluded_count").fill_null(0).cast(pl.UInt32),
        )
        .with_columns(net_total=(pl.col("total") - pl.col("unapplied")).cast(MONEY))
        .select(
            "realm_id", *MONEY_COLUMNS, "unapplied", "net_total", "open_count", "excluded_count"
        )
        .sort("realm_id")
    )
    return Aging(
        detail=detail, by_party=by_party, totals=totals, excluded=excluded, unapplied=unapplied
    )


def ar_aging(tables: dict[str, pl.DataFrame] | object, as_of: date) -> Aging:
    t = tables
    later = applied_after(t["payment"], "Invoice", as_of)  # type: ignore[index]
    return aging(
        t["invoice"],
        t["customer"],
        "customer_id",
        t["company_info"],
        as_of,
        payments=t["payment"],
        later=later,
    )  # type: ignore[index]


def ap_aging(tables: dict[str, pl.DataFrame] | object, as_of: date) -> Aging:
    t = tables
    later = applied_after(t["bill_payment"], "Bill", as_of)  # type: ignore[index]
    return aging(t["bill"], t["vendor"], "vendor_id", t["company_info"], as_of, later=later)  # type: ignore[index]
