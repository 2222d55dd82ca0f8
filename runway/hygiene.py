"""Hygiene flags, each with what it does to the forecast, and a 0–100 score per company."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.aging import Aging
from runway.common import Tables, companies
from runway.money import MONEY

DUPLICATE_WINDOW_DAYS = (
    7  # same vendor and amount fewer than this many days apart = likely duplicate
)
RECENT_DAYS = 7  # "since the last sync" = within the week before as_of (the digest's rhythm)
HYGIENE_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "flag": pl.String(),
        "doc_type": pl.String(),
        "doc_id": pl.String(),
        "party_name": pl.String(),
        "amount": MONEY,
        "detail": pl.String(),
        "forecast_effect": pl.String(),
    }
)


def _rows(
    frame: pl.DataFrame,
    flag: str,
    doc_type: str,
    detail: pl.Expr,
    effect: str,
    doc_id: str = "doc_id",
    party: str = "party_name",
    amount: str | None = "balance",
) -> pl.DataFrame:
    return frame.select(
        "realm_id",
        pl.lit(flag).alias("flag"),
        pl.lit(doc_type).alias("doc_type"),
        pl.col(doc_id).cast(pl.String).alias("doc_id"),
        pl.col(party).alias("party_name"),
        (pl.col(amount) if amount else pl.lit(None)).cast(MONEY).alias("amount"),
        detail.alias("detail"),
        pl.lit(effect).alias("forecast_effect"),
    )


def _numeric_id(col: str) -> pl.Expr:
    """QBO ids are numeric strings: order them as numbers (``"99" < "100"``)."""
    return pl.col(col).cast(pl.Int64, strict=False)


def likely_duplicates(bills: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """realm_id, id, other_id, other_paid, why: open bills that repeat another bill of the same
    vendor — the same amount entered fewer than ``DUPLICATE_WINDOW_DAYS`` apart, or the same vendor
    invoice number (``doc_number``). Paying one would pay the vendor twice.

    The twin may be paid (the open copy is the suspect) or open too: then only the later copy
    (by date, then id) is the suspect, so the original stays payable and exactly one copy is held
    back. One row per suspect, naming a paid twin first."""
    schema = {
        "realm_id": pl.String(),
        "id": pl.String(),
        "other_id": pl.String(),
        "other_paid": pl.Boolean(),
        "why": pl.String(),
    }
    live = bills.filter(pl.col("txn_date") <= as_of)
    if "voided" in live.columns:
        live = live.filter(~pl.col("voided").fill_null(False))
    suspects = live.filter(pl.col("balance") > 0).select(
        "realm_id", "id", "vendor_id", "total_amt", "txn_date", "doc_number"
    )
    if suspects.height == 0:
        return pl.DataFrame(schema=schema)
    others = live.select(
        "realm_id",
        pl.col("id").alias("other_id"),
        "vendor_id",
        "total_amt",
        pl.col("txn_date").alias("other_date"),
        pl.col("doc_number").alias("other_number"),
        (pl.col("balance") <= 0).alias("other_paid"),
    )
    apart = (pl.col("txn_date") - pl.col("other_date")).dt.total_days().abs()
    by_amount = (
        suspects.join(others, on=["realm_id", "vendor_id", "total_amt"], how="inner")
        .filter((pl.col("id") != pl.col("other_id")) & (apart < DUPLICATE_WINDOW_DAYS))
        .with_columns(
            why=pl.format(
                "same vendor and amount as bill {}, entered {} days apart", "other_id", apart
            )
        )
    )
    numbered = pl.col("doc_number").is_not_null() & (pl.col("doc_number").str.strip_chars() != "")
    by_number = (
        suspects.filter(numbered)
        .join(
            others.drop("total_amt"),
            left_on=["realm_id", "vendor_id", "doc_number"],
            right_on=["realm_id", "vendor_id", "other_number"],
            how="inner",
        )
        .filter(pl.col("id") != pl.col("other_id"))
        .with_columns(
            why=pl.format("same vendor invoice number {} as bill {}", "doc_number", "other_id")
        )
    )
    cols = ["realm_id", "id", "other_id", "other_paid", "other_date", "txn_date", "why"]
    pairs = pl.concat([by_amount.select(cols), by_number.select(cols)])
    later = (pl.col("txn_date") > pl.col("other_date")) | (
        (pl.col("txn_date") == pl.col("other_date"))
        & (_numeric_id("id").fill_null(0) > _numeric_id("other_id").fill_null(0))
    )
    state = pl.when(pl.col("other_paid")).then(pl.lit(" (paid)")).otherwise(pl.lit(" (open)"))
    return (
        pairs.filter(pl.col("other_paid") | later)
        .with_columns(why=pl.format("{}{}", "why", state))
        .sort("realm_id", "id", pl.col("other_paid").not_(), _numeric_id("other_id"))
        .group_by("realm_id", "id", maintain_order=True)
        .first()
        .select(list(schema))
        .cast(pl.Schema(schema))
    )


def _without_terms(undated: pl.DataFrame, terms: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``undated`` (open documents without a due date: usually none or a few) whose
    document has no terms either. The few documents' terms are picked out first, so no hash
    table is built over every document of the firm."""
    keys = ["realm_id", "doc_id"]
    theirs = terms.join(undated.select(keys), on=keys, how="semi")
    return undated.join(theirs, on=keys, how="left").filter(pl.col("term_id").is_null())


def hygiene(
    tables: Tables,
    ar: Aging,
    ap: Aging,
    deleted: pl.DataFrame,
    as_of: date,
    duplicates: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``duplicates``: ``likely_duplicates`` of the bill table on ``as_of``, when the caller has it
    (the pipeline computes it once for hygiene and the tray's Check first)."""
    t = tables
    inv_terms = t["invoice"].select("realm_id", pl.col("id").alias("doc_id"), "term_id")
    bill_terms = t["bill"].select("realm_id", pl.col("id").alias("doc_id"), "term_id")
    no_due = [
        _rows(
            _without_terms(detail.filter(pl.col("due_date").is_null()), terms),
            "no_due_date",
            kind,
            pl.lit("no due date or terms"),
            f"ages and is {verb} from its transaction date",
        )
        for detail, terms, kind, verb in (
            (ar.detail, inv_terms, "invoice", "expected"),
            (ap.detail, bill_terms, "bill", "paid"),
        )
    ]
    customers = t["customer"]
    open_parties = ar.detail.select("realm_id", pl.col("party_id").alias("id")).unique()
    no_email = customers.filter(pl.col("email").is_null()).join(
        open_parties, on=["realm_id", "id"], how="semi"
    )
    bills = t["bill"]
    vendors = t["vendor"].select(
        "realm_id", pl.col("id").alias("vendor_id"), pl.col("display_name").alias("party_name")
    )
    if duplicates is None:
        duplicates = likely_duplicates(bills, as_of)
    pairs = duplicates.join(
        bills.select("realm_id", "id", "vendor_id", "total_amt"), on=["realm_id", "id"], how="left"
    )
    dup = pairs.join(vendors, on=["realm_id", "vendor_id"], how="left")
    old = [
        _rows(
            side.detail.filter(pl.col("bucket") == "91+"),
            "open_91_plus",
            kind,
            pl.format("{} days past due", "days_past_due"),
            effect,
        )
        for side, kind, effect in (
            (
                ar,
                "invoice",
                "counted as a collection this week; may have been paid outside QuickBooks",
            ),
            (ap, "bill", "counted as an outflow this week; may have been paid outside QuickBooks"),
        )
    ]
    since = as_of - timedelta(days=RECENT_DAYS)
    voided = pl.concat(
        [
            t[name]
            .filter(
                pl.col("voided").fill_null(False) & (pl.col("source_updated_at").dt.date() > since)
            )
            .select("realm_id", pl.lit(name).alias("entity"), "id")
            for name in ("invoice", "payment", "bill_payment")
        ]
    )
    gone = deleted.filter(pl.col("deleted_at").dt.date() > since).select("realm_id", "entity", "id")
    changed = pl.concat(
        [voided.with_columns(what=pl.lit("voided")), gone.with_columns(what=pl.lit("deleted"))]
    )
    parts = [
        *no_due,
        _rows(
            no_email,
            "no_email",
            "customer",
            pl.lit("no e-mail on file: reminders will fail"),
            "its overdue invoices cannot be chased by e-mail",
            doc_id="id",
            party="display_name",
            amount="balance",
        ),
        _rows(
            dup,
            "duplicate_bill",
            "bill",
            pl.col("why"),
            "both copies are forecast as outflows (double-payment risk)",
            doc_id="id",
            amount="total_amt",
        ),
        *old,
        _rows(
            ar.unapplied,
            "unapplied_payment",
            "payment",
            pl.lit("payment not applied to an invoice"),
            "cash already received; the invoices it may pay are still forecast as inflows",
            doc_id="payment_id",
            amount="amount",
        ),
        _rows(
            changed,
            "voided_or_deleted",
            "document",
            pl.format("{} {} {} in the last {} days", "entity", "id", "what", pl.lit(RECENT_DAYS)),
            "no longer in the forecast",
            doc_id="id",
            party="entity",
            amount=None,
        ),
        _rows(
            pl.concat([ar.excluded, ap.excluded]),
            "fx_excluded",
            "document",
            pl.col("note"),
            "left out of the forecast (no exchange rate)",
            amount="balance_foreign",
        ),
    ]
    return pl.concat([p.cast(HYGIENE_SCHEMA) for p in parts]).sort("realm_id", "flag", "doc_id")


def hygiene_score(
    flags: pl.DataFrame, company_info: pl.DataFrame, ar: Aging, ap: Aging, customers: pl.DataFrame
) -> pl.DataFrame:
    """100 × (1 − flagged items ÷ open documents and customers), per company."""
    base = (
        pl.concat(
            [
                ar.detail.select("realm_id"),
                ap.detail.select("realm_id"),
                customers.select("realm_id"),
            ]
        )
        .group_by("realm_id")
        .agg(pl.len().alias("items"))
    )
    count = flags.group_by("realm_id").agg(pl.len().alias("flags"))
    return (
        companies(company_info)
        .select("realm_id")
        .join(base, on="realm_id", how="left")
        .join(count, on="realm_id", how="left")
        .select(
            "realm_id",
            (
                100
                * (
                    1
                    - pl.col("flags").fill_null(0)
                    / pl.col("items").fill_null(0).clip(lower_bound=1)
                )
            )
            .clip(0, 100)
            .round(0)
            .cast(pl.Int32)
            .alias("hygiene_score"),
        )
    )
