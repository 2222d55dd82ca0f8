"""A/R and A/P aging in QuickBooks' buckets, per party and per company, for all companies at once.

As QBO's AgedReceivables / AgedPayables report it, open credits are part of the aging: open credit
memos and unapplied payments (A/R) and open vendor credits (A/P) are negative amounts in the
party's row, aged from their own TxnDate (they have no due date). ``detail`` lists the open
documents, ``credits`` the credits on their own lines; bucket columns and ``total`` are net of
credits (what ties out to QBO), ``documents`` and ``credits`` show the two halves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from runway.common import Tables, companies, days_between, sorted_by, to_home_currency
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


CREDIT_SCHEMA = {
    "realm_id": pl.String(),
    "doc_id": pl.String(),
    "kind": pl.String(),  # CreditMemo | Payment (unapplied) | VendorCredit
    "doc_number": pl.String(),
    "party_id": pl.String(),
    "party_name": pl.String(),
    "txn_date": pl.Date(),
    "days_past_due": pl.Int32(),
    "bucket": BUCKET,
    "amount": MONEY,  # open credit in the home currency, positive (the report shows it negative)
    "amount_foreign": MONEY,
    "currency": pl.String(),
    "exchange_rate": pl.Decimal(18, 6),
}


@dataclass(frozen=True)
class Aging:
    """Aging of one side (A/R or A/P): open documents, credits, per party, per company,
    exclusions (foreign without a rate) and the unapplied payments (also among ``credits``)."""

    detail: pl.DataFrame
    by_party: pl.DataFrame
    totals: pl.DataFrame
    excluded: pl.DataFrame
    unapplied: pl.DataFrame
    credits: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=CREDIT_SCHEMA))


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


def applied_after(
    payments: pl.DataFrame | None, txn_type: str | list[str], as_of: date
) -> pl.DataFrame:
    """realm_id, doc_id, later_amt: amounts applied to each document (or credit used) by
    payments dated after as_of (added back: a past as_of sees it as it stood, without old
    versions)."""
    schema = {"realm_id": pl.String(), "doc_id": pl.String(), "later_amt": MONEY}
    if payments is None or payments.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        payments.lazy()  # only the columns read are filtered
        .filter(_not_voided(payments) & (pl.col("txn_date") > as_of))
        .select("realm_id", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type").is_in([txn_type] if isinstance(txn_type, str) else txn_type))
        .group_by("realm_id", pl.col("txn_id").alias("doc_id"))
        .agg(pl.col("amount").sum().cast(MONEY).alias("later_amt"))
        .collect()
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
    docs = _with_later(docs, later)
    read = ["realm_id", "id", "doc_number", party_col, "txn_date", "due_date", "balance"]
    read += [c for c in ("currency", "exchange_rate") if c in docs.columns]
    frame = (
        docs.lazy()
        .filter(
            (pl.col("balance") != 0)
            & _not_voided(docs)
            & (pl.col("txn_date") <= as_of)
            & pl.col("balance").is_not_null()
        )
        .select(read)  # the open ones' columns read here only, not the whole wide table
        .rename({party_col: "party_id", "id": "doc_id", "balance": "balance_foreign"})
        .join(names.lazy(), on=["realm_id", "party_id"], how="left")
        .with_columns(pl.col("party_name").fill_null(pl.col("party_id")))
        .collect()
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
        .pipe(sorted_by, "realm_id", "party_name", "aging_date", "doc_id")
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


def _with_later(docs: pl.DataFrame, later: pl.DataFrame | None) -> pl.DataFrame:
    """Balance as of a past date: amounts applied by payments dated after it added back."""
    if later is None or later.height == 0:
        return docs
    return (
        docs.join(later, left_on=["realm_id", "id"], right_on=["realm_id", "doc_id"], how="left")
        .with_columns(
            balance=pl.when(pl.col("later_amt").is_null())
            .then(pl.col("balance"))
            .otherwise(
                pl.min_horizontal(pl.col("balance") + pl.col("later_amt"), pl.col("total_amt"))
            )
            .cast(MONEY)
        )
        .drop("later_amt")
    )


def open_credits(
    credit_docs: pl.DataFrame,
    *,
    kind: str,
    payments: pl.DataFrame | None,
    parties: pl.DataFrame,
    party_col: str,
    company_info: pl.DataFrame,
    as_of: date,
    later: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(open credits on their own lines, foreign credits excluded for want of a rate).
    Credits: credit memos / vendor credits with Balance left (plus later applications added
    back) and, for A/R, payments' UnappliedAmt; each aged from its TxnDate like QBO does."""
    names = parties.select(
        "realm_id", pl.col("id").alias("party_id"), pl.col("display_name").alias("party_name")
    )
    docs = _with_later(credit_docs, later)
    parts = [
        docs.filter(
            _not_voided(docs) & (pl.col("txn_date") <= as_of) & (pl.col("balance").fill_null(0) > 0)
        ).select(
            "realm_id",
            pl.col("id").alias("doc_id"),
            pl.lit(kind).alias("kind"),
            pl.col("doc_number").cast(pl.String),
            pl.col(party_col).alias("party_id"),
            "txn_date",
            pl.col("balance").cast(MONEY).alias("amount_foreign"),
            "currency",
            pl.col("exchange_rate").cast(pl.Decimal(18, 6)),
        )
    ]
    if payments is not None:
        parts.append(
            payments.filter(
                (pl.col("unapplied_amt").fill_null(0) > 0)
                & _not_voided(payments)
                & (pl.col("txn_date") <= as_of)
            ).select(
                "realm_id",
                pl.col("id").alias("doc_id"),
                pl.lit("Payment").alias("kind"),
                pl.lit(None, dtype=pl.String).alias("doc_number"),
                pl.col("customer_id").alias("party_id"),
                "txn_date",
                pl.col("unapplied_amt").cast(MONEY).alias("amount_foreign"),
                "currency",
                pl.col("exchange_rate").cast(pl.Decimal(18, 6)),
            )
        )
    frame = to_home_currency(pl.concat(parts), company_info, "amount_foreign", "amount")
    frame = frame.join(names, on=["realm_id", "party_id"], how="left").with_columns(
        pl.col("party_name").fill_null(pl.col("party_id"))
    )
    credits = (
        frame.filter(pl.col("fx_ok"))
        .with_columns(days_past_due=days_between(pl.lit(as_of), pl.col("txn_date")))
        .with_columns(bucket=bucket_of(pl.col("days_past_due")))
        .select(*[pl.col(c).cast(t) for c, t in CREDIT_SCHEMA.items()])
        .sort("realm_id", "party_name", "txn_date", "kind", "doc_id")
    )
    excluded = (
        frame.filter(~pl.col("fx_ok"))
        .select(
            "realm_id",
            "doc_id",
            "party_name",
            "currency",
            pl.col("amount_foreign").alias("balance_foreign"),
            note=pl.format(
                "{} in foreign currency without an exchange rate: excluded from totals", "kind"
            ),
        )
        .sort("realm_id", "doc_id")
    )
    return credits, excluded


def _bucket_sums(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    buckets = {
        col: pl.when(pl.col("bucket") == name).then("balance")
        for name, col in BUCKET_COLUMNS.items()
    }
    return (
        frame.select(*keys, "balance", **buckets)
        .group_by(keys)
        .agg(
            *(pl.col(c).sum() for c in buckets),
            pl.col("balance").sum().alias("total"),
            pl.len().alias("open_count"),
        )
    )


def _net_sums(detail: pl.DataFrame, credits: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per ``keys``: buckets and total net of credits (QBO's figures), documents, credits,
    unapplied payments, and counts."""
    signed = pl.concat(
        [
            detail.select(*keys, "bucket", "balance", is_credit=pl.lit(False)),
            credits.select(
                *keys,
                "bucket",
                (-pl.col("amount")).cast(MONEY).alias("balance"),
                is_credit=pl.lit(True),
            ),
        ]
    )
    # each sum's rows picked per row first, so the group-by runs plain (vectorised) sums
    parts = {
        **{
            col: pl.when(pl.col("bucket") == name).then("balance")
            for name, col in BUCKET_COLUMNS.items()
        },
        "total": pl.col("balance"),
        "documents": pl.when(~pl.col("is_credit")).then("balance"),
        "credits": pl.when(pl.col("is_credit")).then(-pl.col("balance")),
        "open_count": ~pl.col("is_credit"),
        "credit_count": pl.col("is_credit"),
    }
    counts = ("open_count", "credit_count")
    return (
        signed.select(*keys, **parts)
        .group_by(keys)
        .agg(
            *(pl.col(c).sum() for c in parts if c not in counts),
            *(pl.col(c).sum().cast(pl.UInt32) for c in counts),
        )
    )


SUM_COLUMNS = [*MONEY_COLUMNS, "documents", "credits", "unapplied"]


def aging(
    docs: pl.DataFrame,
    *,
    parties: pl.DataFrame,
    party_col: str,
    company_info: pl.DataFrame,
    as_of: date,
    payments: pl.DataFrame | None = None,
    later: pl.DataFrame | None = None,
    credit_docs: pl.DataFrame | None = None,
    credit_kind: str = "CreditMemo",
) -> Aging:
    """Aging for every company in ``company_info``. A/R passes its payments (unapplied amounts
    are credits) and credit memos, A/P its vendor credits; ``later`` = applied_after(...) for
    documents and credits alike rebuilds past balances."""
    detail, excluded = open_documents(docs, parties, party_col, company_info, as_of, later)
    if credit_docs is None:
        credit_docs = pl.DataFrame(
            schema={
                "realm_id": pl.String,
                "id": pl.String,
                "doc_number": pl.String,
                party_col: pl.String,
                "txn_date": pl.Date,
                "total_amt": MONEY,
                "balance": MONEY,
                "currency": pl.String,
                "exchange_rate": pl.Decimal(18, 6),
            }
        )
    credits, credit_excluded = open_credits(
        credit_docs,
        kind=credit_kind,
        payments=payments,
        parties=parties,
        party_col=party_col,
        company_info=company_info,
        as_of=as_of,
        later=later,
    )
    excluded = pl.concat([excluded, credit_excluded]).sort("realm_id", "doc_id")
    unapplied = (
        credits.filter(pl.col("kind") == "Payment")
        .select(
            "realm_id",
            pl.col("doc_id").alias("payment_id"),
            pl.col("party_id").alias("customer_id"),
            "party_name",
            "txn_date",
            "amount",
        )
        .sort("realm_id", "txn_date", "payment_id")
    )
    party_unapplied = unapplied.group_by("realm_id", pl.col("customer_id").alias("party_id")).agg(
        pl.col("amount").sum().alias("unapplied")
    )
    by_party = (
        _net_sums(detail, credits, ["realm_id", "party_id", "party_name"])
        .join(party_unapplied, on=["realm_id", "party_id"], how="left")
        .with_columns(*[pl.col(c).fill_null(zero()).cast(MONEY) for c in SUM_COLUMNS])
        .select("realm_id", "party_id", "party_name", *SUM_COLUMNS)
        .sort("realm_id", "party_name", "party_id")
    )
    realms = companies(company_info).select("realm_id")
    totals = (
        realms.join(_net_sums(detail, credits, ["realm_id"]), on="realm_id", how="left")
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
            *[pl.col(c).fill_null(zero()).cast(MONEY) for c in SUM_COLUMNS],
            pl.col("open_count").fill_null(0).cast(pl.UInt32),
            pl.col("credit_count").fill_null(0).cast(pl.UInt32),
            pl.col("excluded_count").fill_null(0).cast(pl.UInt32),
        )
        .with_columns(net_total=pl.col("total"))  # kept for readers of the former net figure
        .select(
            "realm_id",
            *SUM_COLUMNS,
            "net_total",
            "open_count",
            "credit_count",
            "excluded_count",
        )
        .sort("realm_id")
    )
    return Aging(
        detail=detail,
        by_party=by_party,
        totals=totals,
        excluded=excluded,
        unapplied=unapplied,
        credits=credits,
    )


def ar_aging(tables: Tables, as_of: date) -> Aging:
    t = tables
    later = applied_after(t["payment"], ["Invoice", "CreditMemo"], as_of)
    return aging(
        t["invoice"],
        parties=t["customer"],
        party_col="customer_id",
        company_info=t["company_info"],
        as_of=as_of,
        payments=t["payment"],
        later=later,
        credit_docs=t["credit_memo"],
        credit_kind="CreditMemo",
    )


def ap_aging(tables: Tables, as_of: date) -> Aging:
    t = tables
    later = applied_after(t["bill_payment"], ["Bill", "VendorCredit"], as_of)
    return aging(
        t["bill"],
        parties=t["vendor"],
        party_col="vendor_id",
        company_info=t["company_info"],
        as_of=as_of,
        later=later,
        credit_docs=t["vendor_credit"],
        credit_kind="VendorCredit",
    )


def customer_open_credits(tables: Tables, as_of: date, ar: Aging | None = None) -> pl.DataFrame:
    """realm_id, customer_id, open_credit (positive, home currency): each customer's open credit
    memos plus unapplied payments as of ``as_of`` — what could be applied to its open invoices
    instead of chasing them. ``ar``: ``ar_aging(tables, as_of)`` when the caller has it already."""
    credits = (ar_aging(tables, as_of) if ar is None else ar).credits
    return (
        credits.group_by("realm_id", pl.col("party_id").alias("customer_id"))
        .agg(pl.col("amount").sum().cast(MONEY).alias("open_credit"))
        .sort("realm_id", "customer_id")
    )
