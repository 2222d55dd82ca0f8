"""Point-in-time books: the store's current documents rebuilt as they stood at the end of a past
day.

A company connected today has only the latest version of each document, so the change log cannot
say what was open on a past Friday. QuickBooks' own reports answer from the documents' dates, and
so do we ("what QuickBooks says now about T"):

* a document dated after T did not exist yet (with ``known_only``, one created after T neither);
* a payment, bill payment or credit application dated after T had not yet lowered a balance:
  open balance at T = today's Balance + the amounts applied by documents dated after T (capped at
  TotalAmt), for invoices, bills, credit memos and vendor credits;
* an account's balance at T = today's CurrentBalance minus the movements dated after T (customer
  payments and sales receipts deposited, deposits, bill payments, purchases, refunds, transfers,
  journal-entry lines);
* an Estimate that became an invoice after T was still open (accepted or pending) at T.

"What we knew at T" stays the change log (``runway.snapshot.load_snapshot(..., basis="ingest")``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl

from runway.money import MONEY, zero
from runway.snapshot import Snapshot
from runway.tables import TABLES, TIMESTAMP

# Liability accounts keep CurrentBalance as an amount owed: money leaving them raises it.
LIABILITY_TYPES = (
    "Credit Card",
    "Accounts Payable",
    "Other Current Liability",
    "Long Term Liability",
)
# Which payer documents lower which open documents: (payer table, linked txn_type, target table).
APPLICATIONS: tuple[tuple[str, str, str], ...] = (
    ("payment", "Invoice", "invoice"),
    ("payment", "CreditMemo", "credit_memo"),
    ("bill_payment", "Bill", "bill"),
    ("bill_payment", "VendorCredit", "vendor_credit"),
)


def end_of(as_of: date) -> pl.Expr:
    """The first instant after ``as_of`` (UTC): documents created before it existed on the day."""
    from datetime import UTC, datetime, time, timedelta

    return pl.lit(datetime.combine(as_of + timedelta(days=1), time(0), UTC), dtype=TIMESTAMP)


def _dated_by(frame: pl.DataFrame, as_of: date, known_only: bool) -> pl.DataFrame:
    keep = pl.lit(True)
    if "txn_date" in frame.columns:
        keep = keep & (pl.col("txn_date").is_null() | (pl.col("txn_date") <= as_of))
    if "as_of_date" in frame.columns:  # exchange rates published after T were unknown then
        keep = keep & (pl.col("as_of_date").is_null() | (pl.col("as_of_date") <= as_of))
    if known_only and "source_created_at" in frame.columns:
        keep = keep & (
            pl.col("source_created_at").is_null() | (pl.col("source_created_at") < end_of(as_of))
        )
    return frame.filter(keep)


def _later(frame: pl.DataFrame, as_of: date, known_only: bool) -> pl.Expr:
    """Dated after ``as_of`` (or, with ``known_only``, created after that day)."""
    later = pl.col("txn_date") > as_of
    if known_only and "source_created_at" in frame.columns:
        later = later | (pl.col("source_created_at") >= end_of(as_of)).fill_null(False)
    return later


def applied_later(
    payers: pl.DataFrame, txn_type: str, as_of: date, known_only: bool = False
) -> pl.DataFrame:
    """realm_id, doc_id, later_amt: what documents dated after ``as_of`` applied to each target."""
    schema = pl.Schema({"realm_id": pl.String(), "doc_id": pl.String(), "later_amt": MONEY})
    if payers.height == 0 or "links" not in payers.columns:
        return pl.DataFrame(schema=schema)
    later = payers.filter(_later(payers, as_of, known_only))
    if "voided" in later.columns:
        later = later.filter(~pl.col("voided").fill_null(False))
    return (
        later.select("realm_id", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type") == txn_type)
        .group_by("realm_id", pl.col("txn_id").alias("doc_id"))
        .agg(pl.col("amount").sum().cast(MONEY).alias("later_amt"))
        .cast(schema)
    )


def restore_balances(docs: pl.DataFrame, later: pl.DataFrame) -> pl.DataFrame:
    """Balance + amounts applied later, never above TotalAmt (a document's own ceiling)."""
    if later.height == 0 or docs.height == 0:
        return docs
    return (
        docs.join(later, left_on=["realm_id", "id"], right_on=["realm_id", "doc_id"], how="left")
        .with_columns(
            balance=pl.when(pl.col("later_amt").is_null() | pl.col("balance").is_null())
            .then(pl.col("balance"))
            .otherwise(
                pl.min_horizontal(
                    pl.col("balance") + pl.col("later_amt"),
                    pl.col("total_amt").fill_null(pl.col("balance") + pl.col("later_amt")),
                )
            )
            .cast(MONEY)
        )
        .drop("later_amt")
    )


def bank_flows(tables: Snapshot) -> pl.DataFrame:
    """realm_id, account_id, txn_date, created_at, flow: one row per document and account it moves,
    money in (+) or out (−) in the account's own sense of an asset (liabilities flip later)."""
    total = pl.col("total_amt").fill_null(zero())
    sources: list[tuple[str, str, pl.Expr]] = [
        ("payment", "deposit_account_id", total),
        ("deposit", "deposit_account_id", total),
        ("bill_payment", "bank_account_id", -total),
        ("bill_payment", "cc_account_id", -total),
        ("purchase", "account_id", -total),
        ("sales_receipt", "deposit_account_id", total),
        ("refund_receipt", "deposit_account_id", -total),
        ("transfer", "from_account_id", -pl.col("amount").fill_null(zero())),
        ("transfer", "to_account_id", pl.col("amount").fill_null(zero())),
    ]
    parts = []
    for name, account, amount in sources:
        frame = tables[name] if name in tables.tables or name in TABLES else None
        if frame is None or frame.height == 0 or account not in frame.columns:
            continue
        if "voided" in frame.columns:
            frame = frame.filter(~pl.col("voided").fill_null(False))
        parts.append(
            frame.filter(pl.col(account).is_not_null()).select(
                "realm_id",
                pl.col(account).alias("account_id"),
                "txn_date",
                pl.col("source_created_at").alias("created_at"),
                amount.alias("flow"),
            )
        )
    je = tables["journal_entry"]
    if je.height:
        parts.append(
            je.select(
                "realm_id", "txn_date", pl.col("source_created_at").alias("created_at"), "lines"
            )
            .explode("lines")
            .unnest("lines")
            .filter(pl.col("account_id").is_not_null())
            .select(
                "realm_id",
                "account_id",
                "txn_date",
                "created_at",
                pl.when(pl.col("posting_type") == "Debit")
                .then(pl.col("amount"))
                .otherwise(-pl.col("amount"))
                .alias("flow"),
            )
        )
    schema = pl.Schema(
        {
            "realm_id": pl.String(),
            "account_id": pl.String(),
            "txn_date": pl.Date(),
            "created_at": TIMESTAMP,
            "flow": MONEY,
        }
    )
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat([p.cast(schema) for p in parts])


def movements(
    tables: Snapshot,
    after: date | None = None,
    upto: date | None = None,
    known_only: bool = False,
) -> pl.DataFrame:
    """realm_id, account_id, flow: the net of ``bank_flows`` dated in (``after``, ``upto``] (open
    ends: unbounded; ``known_only``: documents created after ``after`` count as later too)."""
    flows = bank_flows(tables)
    keep = pl.lit(True)
    if after is not None:
        later = pl.col("txn_date") > after
        if known_only:
            later = later | (pl.col("created_at") >= end_of(after)).fill_null(False)
        keep = keep & later
    if upto is not None:
        keep = keep & (pl.col("txn_date") <= upto)
    return (
        flows.filter(keep)
        .group_by("realm_id", "account_id")
        .agg(pl.col("flow").sum().cast(MONEY))
        .sort("realm_id", "account_id")
    )


def accounts_at(
    accounts: pl.DataFrame, tables: Snapshot, as_of: date, known_only: bool = False
) -> pl.DataFrame:
    """Accounts with CurrentBalance as it stood at the end of ``as_of``: today's balance minus the
    movements dated after it (added back for liabilities, whose balance counts what is owed)."""
    later = movements(tables, after=as_of, known_only=known_only)
    if later.height == 0:
        return accounts
    liability = pl.col("account_type").is_in(list(LIABILITY_TYPES))
    flow = pl.col("later_flow").fill_null(zero())
    return (
        accounts.join(
            later.rename({"account_id": "id", "flow": "later_flow"}),
            on=["realm_id", "id"],
            how="left",
        )
        .with_columns(
            current_balance=pl.when(pl.col("current_balance").is_null())
            .then(None)
            .when(liability)
            .then(pl.col("current_balance") + flow)
            .otherwise(pl.col("current_balance") - flow)
            .cast(MONEY)
        )
        .drop("later_flow")
        .with_columns(  # the balance is the one at the end of that day, whenever last edited
            source_updated_at=end_of(as_of) - pl.duration(microseconds=1)
        )
    )


def estimates_at(estimates: pl.DataFrame, invoices_now: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """An estimate whose invoice is dated after ``as_of`` was not yet invoiced then: it counts as
    accepted (its status before conversion) and without its link."""
    if estimates.height == 0 or "linked_invoice_id" not in estimates.columns:
        return estimates
    later = invoices_now.filter(pl.col("txn_date") > as_of).select(
        "realm_id", pl.col("id").alias("linked_invoice_id"), pl.lit(True).alias("_later")
    )
    status = "txn_status" if "txn_status" in estimates.columns else None
    frame = estimates.join(later, on=["realm_id", "linked_invoice_id"], how="left")
    updates = [
        pl.when(pl.col("_later").fill_null(False))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.col("linked_invoice_id"))
        .alias("linked_invoice_id")
    ]
    if status:
        updates.append(
            pl.when(pl.col("_later").fill_null(False))
            .then(pl.lit("Accepted"))
            .otherwise(pl.col(status))
            .alias(status)
        )
    return frame.with_columns(updates).drop("_later")


def books_as_of(snapshot: Snapshot, as_of: date, *, known_only: bool = False) -> Snapshot:
    """The snapshot's documents as they stood at the end of ``as_of`` (see the module docstring).

    ``known_only``: also leave out documents created after that day (back-dated entries), so that
    nothing the owner could not have seen then reaches a forecast (the backtest uses this).
    Composes: ``books_as_of(books_as_of(s, T), T')`` = ``books_as_of(s, T')`` for T' ≤ T."""
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a date, not {type(as_of).__name__}")
    now = snapshot.tables
    tables: dict[str, pl.DataFrame] = {}
    for name, frame in now.items():
        tables[name] = _dated_by(frame, as_of, known_only)
    for payer, txn_type, target in APPLICATIONS:
        if target in tables and payer in now:
            later = applied_later(now[payer], txn_type, as_of, known_only)
            tables[target] = restore_balances(tables[target], later)
    if "account" in now:
        tables["account"] = accounts_at(now["account"], snapshot, as_of, known_only)
    if "estimate" in tables and "invoice" in now:
        tables["estimate"] = estimates_at(tables["estimate"], now["invoice"], as_of)
    cap = end_of(as_of) - pl.duration(microseconds=1)
    freshness = snapshot.freshness.with_columns(
        last_success_at=pl.min_horizontal(pl.col("last_success_at"), cap)
    )
    return replace(
        snapshot,
        tables=tables,
        freshness=freshness,
        version=f"{snapshot.version}|books@{as_of.isoformat()}{'|known' if known_only else ''}",
    )
