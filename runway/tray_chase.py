"""The prep tray's invoice sections: every overdue invoice in exactly one of Apply credit (the
customer's unapplied payments and open credit memos cover it), Disputed (a note on the invoice
or the owner's flag) or Chase — ranked by the cash a reminder is likely to bring within the
horizon (amount × this customer's history of paying after a reminder), customers without an
e-mail as "call", recently reminded ones with the reminder's date."""

from __future__ import annotations

from datetime import date

import polars as pl

from runway.common import DISPUTE_NOTE, Tables, to_home_currency
from runway.money import MONEY, as_money, zero
from runway.mustpay import SOON_DAYS
from runway.tray_schema import conform, row_head
from runway.words import dollars

COLLECT_HORIZON_DAYS = SOON_DAYS  # chase: cash a reminder is likely to bring within two weeks
REMINDER_HISTORY_MIN = 2  # reminded-then-paid invoices a customer needs for its own response rate
DEFAULT_REMINDER_LAG_DAYS = 7  # days from a reminder to the money when nobody has a history
DEFAULT_COLLECT_SHARE = 0.5  # likelihood with no history at all (neither customer nor company)


def open_credits(tables: Tables, unapplied: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """realm_id, party_id, credit_type, credit_id, credit_amount (home currency): each customer's
    unapplied payments and open credit memos as of ``as_of`` — money the customer already gave.

    ``unapplied``: the A/R aging's ``credits`` (one line per open credit memo and unapplied
    payment, as QBO's aging shows them: the one source of these figures), or, from a caller
    without it, the aging's unapplied payments (credit memos are then read from the table)."""
    if "kind" in unapplied.columns:
        return unapplied.filter(
            pl.col("kind").is_in(["Payment", "CreditMemo"]) & (pl.col("amount") > 0)
        ).select(
            "realm_id",
            "party_id",
            pl.col("kind").alias("credit_type"),
            pl.col("doc_id").alias("credit_id"),
            pl.col("amount").cast(MONEY).alias("credit_amount"),
        )
    parts = [
        unapplied.select(
            "realm_id",
            pl.col("customer_id").alias("party_id"),
            pl.lit("Payment").alias("credit_type"),
            pl.col("payment_id").alias("credit_id"),
            pl.col("amount").cast(MONEY).alias("credit_amount"),
        )
    ]
    memos = _table(tables, "credit_memo")
    if memos is not None and memos.height:
        live = memos.filter(
            (pl.col("balance").fill_null(0) > 0)
            & ~pl.col("voided").fill_null(False)
            & (pl.col("txn_date") <= as_of)
        )
        info = tables["company_info"]
        live = to_home_currency(live, info, "balance", "home").filter(pl.col("fx_ok"))
        parts.append(
            live.select(
                "realm_id",
                pl.col("customer_id").alias("party_id"),
                pl.lit("CreditMemo").alias("credit_type"),
                pl.col("id").alias("credit_id"),
                pl.col("home").cast(MONEY).alias("credit_amount"),
            )
        )
    return pl.concat(parts).filter(pl.col("credit_amount") > 0)


def _table(tables: Tables, name: str) -> pl.DataFrame | None:
    try:
        return tables[name]
    except (KeyError, LookupError):
        return None


def _reminder_answers(invoices: pl.DataFrame, payments: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """realm_id, party_id, after: for each paid invoice that was e-mailed again while overdue (a
    reminder), the days from that reminder to the payment that closed it. Only those invoices'
    payments are read, so a company without reminders costs nothing here."""
    due = pl.coalesce("due_date", "txn_date")
    reminded = (
        invoices.filter(
            pl.col("delivered_at").is_not_null()
            & (pl.col("balance").fill_null(1) == 0)
            & ~pl.col("voided").fill_null(False)
        )
        .select(
            "realm_id",
            pl.col("id").alias("invoice_id"),
            pl.col("customer_id").alias("party_id"),
            pl.col("delivered_at").dt.date().alias("reminded"),
            due.alias("due"),
        )
        .filter((pl.col("reminded") > pl.col("due")) & (pl.col("reminded") <= as_of))
    )
    if reminded.height == 0:
        return pl.DataFrame(
            schema={"realm_id": pl.String, "party_id": pl.String, "after": pl.Int64}
        )
    since = reminded["reminded"].min()
    paid = (
        payments.filter(
            ~pl.col("voided").fill_null(False)
            & (pl.col("txn_date") >= since)
            & (pl.col("txn_date") <= as_of)
        )
        .select("realm_id", "txn_date", "links")
        .explode("links")
        .unnest("links")
        .filter(pl.col("txn_type") == "Invoice")
        .group_by("realm_id", pl.col("txn_id").alias("invoice_id"))
        .agg(pl.col("txn_date").max().alias("paid_date"))
    )
    return (
        reminded.join(paid, on=["realm_id", "invoice_id"], how="inner")
        .filter(pl.col("paid_date") >= pl.col("reminded"))
        .select(
            "realm_id",
            "party_id",
            (pl.col("paid_date") - pl.col("reminded")).dt.total_days().alias("after"),
        )
    )


def collect_likelihood(
    overdue: pl.DataFrame,
    invoices: pl.DataFrame,
    payments: pl.DataFrame,
    payers: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """realm_id, doc_id, collect_share, reminder_lag: how likely a reminder brings each overdue
    invoice's cash within ``COLLECT_HORIZON_DAYS``, and after how many days.

    In order: this customer's history of paying after a reminder (invoices e-mailed again while
    overdue, then paid: the share paid within the horizon, and the median days from reminder to
    money) when it has at least ``REMINDER_HISTORY_MIN`` of them; else its own lateness (P50/P90
    days late from ``runway.payers``, read as a distribution — linear through 50% at P50 and
    90% at P90 — and conditioned on how late the invoice already is: of what is still unpaid at
    d days late, the share paid by d + horizon); else the company's reminder history; else an
    even chance. An invoice later than everything in its customer's history falls to the
    company's figures."""
    answers = _reminder_answers(invoices, payments, as_of)
    within = (pl.col("after") <= COLLECT_HORIZON_DAYS).mean()
    own = answers.group_by("realm_id", "party_id").agg(
        pl.len().alias("n_rem"),
        within.alias("rem_share"),
        pl.col("after").median().alias("rem_lag"),
    )
    firm = answers.group_by("realm_id").agg(
        within.alias("co_share"), pl.col("after").median().alias("co_lag")
    )
    lags = payers.filter(pl.col("source") == "history").select(
        "realm_id", pl.col("customer_id").alias("party_id"), "p50_days_late", "p90_days_late"
    )
    p50, p90 = pl.col("p50_days_late"), pl.col("p90_days_late")
    d = pl.col("days_past_due").cast(pl.Float64)

    def cdf(x: pl.Expr) -> pl.Expr:
        spread = p90 - p50
        return (
            pl.when(spread > 0)
            .then((0.5 + 0.4 * (x - p50) / spread).clip(0.0, 1.0))
            .otherwise(pl.when(x >= p50).then(1.0).otherwise(0.0))
        )

    unpaid = 1.0 - cdf(d)
    late_share = (cdf(d + COLLECT_HORIZON_DAYS) - cdf(d)) / unpaid
    own_ok = pl.col("n_rem").fill_null(0) >= REMINDER_HISTORY_MIN
    late_ok = p50.is_not_null() & (unpaid > 0)
    return (
        overdue.select("realm_id", "doc_id", "party_id", "days_past_due")
        .join(own, on=["realm_id", "party_id"], how="left")
        .join(firm, on="realm_id", how="left")
        .join(lags, on=["realm_id", "party_id"], how="left")
        .select(
            "realm_id",
            "doc_id",
            pl.when(own_ok)
            .then(pl.col("rem_share"))
            .when(late_ok)
            .then(late_share)
            .otherwise(pl.col("co_share").fill_null(DEFAULT_COLLECT_SHARE))
            .cast(pl.Float64)
            .round(3)
            .alias("collect_share"),
            pl.when(own_ok)
            .then(pl.col("rem_lag"))
            .otherwise(pl.col("co_lag").fill_null(DEFAULT_REMINDER_LAG_DAYS))
            .ceil()
            .clip(1, COLLECT_HORIZON_DAYS * 6)
            .cast(pl.Int32)
            .alias("reminder_lag"),
        )
    )


def invoice_rows(
    tables: Tables,
    ar_detail: pl.DataFrame,
    unapplied: pl.DataFrame,
    payers: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Every overdue invoice in exactly one of apply_credit, disputed, chase (see module doc)."""
    invoices, customers = tables["invoice"], tables["customer"]
    overdue = ar_detail.filter(pl.col("days_past_due") > 0)
    inv = invoices.select(  # only the overdue ones (a firm's invoice table is ~4× larger)
        "realm_id", pl.col("id").alias("doc_id"), "bill_email", "delivered_at", "private_note"
    ).join(overdue.select("realm_id", "doc_id"), on=["realm_id", "doc_id"], how="semi")
    cust = customers.select(
        "realm_id", pl.col("id").alias("party_id"), pl.col("email").alias("customer_email")
    )
    flags = (
        company.select("realm_id", "disputed_invoices")
        .explode("disputed_invoices")
        .drop_nulls()
        .select("realm_id", pl.col("disputed_invoices").alias("doc_id"), pl.lit(True).alias("flag"))
        .unique()
        if "disputed_invoices" in company.columns
        else pl.DataFrame(schema={"realm_id": pl.String, "doc_id": pl.String, "flag": pl.Boolean})
    )
    credits = open_credits(tables, unapplied, as_of)
    per_customer = credits.group_by("realm_id", "party_id").agg(
        pl.col("credit_amount").sum().cast(MONEY).alias("customer_credit")
    )
    covers = pl.col("credit_amount") >= pl.col("balance")
    best = (  # the smallest single credit that covers the invoice, else the largest one
        overdue.select("realm_id", "doc_id", "party_id", "balance")
        .join(credits, on=["realm_id", "party_id"], how="inner")
        .sort(
            "realm_id",
            "doc_id",
            covers.not_(),
            pl.when(covers).then(pl.col("credit_amount")).otherwise(-pl.col("credit_amount")),
            "credit_id",
        )
        .group_by("realm_id", "doc_id", maintain_order=True)
        .first()
        .select("realm_id", "doc_id", "credit_type", "credit_id", "credit_amount")
    )
    odds = collect_likelihood(overdue, invoices, tables["payment"], payers, as_of)
    cooldown = pl.col("reminder_cooldown_days").fill_null(7)
    reminded = pl.col("delivered_at").dt.date()
    frame = (
        overdue.join(inv, on=["realm_id", "doc_id"], how="left")
        .join(cust, on=["realm_id", "party_id"], how="left")
        .join(flags, on=["realm_id", "doc_id"], how="left")
        .join(per_customer, on=["realm_id", "party_id"], how="left")
        .join(best, on=["realm_id", "doc_id"], how="left")
        .join(odds, on=["realm_id", "doc_id"], how="left")
        .join(company.select("realm_id", "reminder_cooldown_days"), on="realm_id", how="left")
        .with_columns(
            email=pl.coalesce("bill_email", "customer_email"),
            disputed=pl.col("flag").fill_null(False)
            | pl.col("private_note").fill_null("").str.contains(DISPUTE_NOTE),
            recent=reminded.is_not_null() & ((pl.lit(as_of) - reminded).dt.total_days() < cooldown),
        )
        .with_columns(
            section=pl.when(pl.col("customer_credit").fill_null(zero()) >= pl.col("balance"))
            .then(pl.lit("apply_credit"))
            .when(pl.col("disputed"))
            .then(pl.lit("disputed"))
            .otherwise(pl.lit("chase")),
            contact=pl.when(pl.col("email").is_not_null())
            .then(pl.lit("email"))
            .otherwise(pl.lit("call")),
            expected=as_money(pl.col("balance") * pl.col("collect_share")),
            likely_paid_on=pl.lit(as_of) + pl.duration(days=pl.col("reminder_lag")),
        )
    )
    section = pl.col("section")
    chase = section == "chase"
    late = pl.format("{} days overdue", "days_past_due")
    return conform(
        frame.select(
            *row_head("invoice"),
            pl.when(section == "apply_credit")
            .then(
                pl.format(
                    "{}; {} has {} in open credits ({} {})",
                    late,
                    "party_name",
                    dollars(pl.col("customer_credit")),
                    pl.when(pl.col("credit_type") == "Payment")
                    .then(pl.lit("unapplied payment"))
                    .otherwise(pl.lit("credit memo")),
                    "credit_id",
                )
            )
            .when(section == "disputed")
            .then(
                pl.format(
                    "{}; disputed: {}",
                    late,
                    pl.when(pl.col("private_note").fill_null("").str.contains(DISPUTE_NOTE))
                    .then(pl.col("private_note"))
                    .otherwise(pl.lit("flagged in Oodaloo")),
                )
            )
            .when(pl.col("recent"))
            .then(pl.format("{}; reminded on {}", late, reminded))
            .when(pl.col("contact") == "call")
            .then(pl.format("{}; no e-mail on file: call", late))
            .otherwise(late)
            .alias("reason"),
            pl.when(chase).then(pl.col("expected").cast(pl.Float64)).alias("score"),
            "email",
            pl.when(chase).then(pl.format("collect:{}", "doc_id")).alias("scenario_id"),
            (
                (section == "apply_credit")
                | (chase & (pl.col("contact") == "email") & ~pl.col("recent"))
            ).alias("selectable"),
            pl.when(section == "apply_credit")
            .then(pl.lit("apply_credit"))
            .when(chase)
            .then(pl.lit("send_reminder"))
            .alias("action"),
            pl.when(section == "disputed")
            .then(pl.lit("disputed: not chased"))
            .when(chase & pl.col("recent"))
            .then(pl.format("reminded on {} (cooldown {} days)", reminded, cooldown))
            .when(chase & (pl.col("contact") == "call"))
            .then(pl.lit("no e-mail on file: call the customer"))
            .alias("not_selectable_reason"),
            "contact",
            # sent again after its due date: a reminder (the first send is not one)
            pl.when(reminded > pl.col("aging_date")).then(reminded).alias("reminded_on"),
            "collect_share",
            pl.col("expected").alias("expected_collection"),
            "likely_paid_on",
            "credit_type",
            "credit_id",
            "credit_amount",
            "customer_credit",
            pl.when(chase).then(pl.col("likely_paid_on")).alias("new_date"),
        )
    )
