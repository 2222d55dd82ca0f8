"""The prep tray — Must Pay, Can Delay, Check first, Chase (with Disputed and Apply credit apart)
— each row with its effect where the owner feels it: the balance on the next payday, the next
payroll's coverage before → after, and the weeks to the reserve, each from the forecast re-run
with that one change (every row of every company in one vectorised pass).

Sections, so that nothing falls between them:
  * every open bill due within the tray's horizon (two weeks) or overdue is in exactly one of
    ``check_first`` (a likely duplicate: never offered for payment), ``must_pay`` (payroll, taxes,
    rent, loans, utilities, critical vendors, bills past the delay tolerance) or ``can_delay``;
  * every overdue invoice is in exactly one of ``apply_credit`` (the customer's unapplied payments
    and open credit memos cover it), ``disputed`` (a note on the invoice or the owner's flag) or
    ``chase`` (ranked by the cash a reminder is likely to bring within the horizon; customers
    without an e-mail appear as "call", recently reminded ones with the reminder's date).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import polars as pl

from runway.common import Tables
from runway.forecast import (
    BASE,
    HORIZON_DAYS,
    SCENARIO_SCHEMA,
    daily_paths,
    finish_stats,
    path_stats,
    scenario_items,
    signed,
)
from runway.hygiene import likely_duplicates
from runway.money import MONEY, as_money, zero
from runway.mustpay import SOON_DAYS

TRAY_HORIZON_DAYS = SOON_DAYS  # bills due within two weeks (or overdue) are in the tray
COLLECT_HORIZON_DAYS = SOON_DAYS  # chase: cash a reminder is likely to bring within two weeks
DISPUTE_NOTE = r"(?i)disput"  # an invoice note that marks a dispute ("Disputed — awaiting …")
REMINDER_HISTORY_MIN = 2  # reminded-then-paid invoices a customer needs for its own response rate
DEFAULT_REMINDER_LAG_DAYS = 7  # days from a reminder to the money when nobody has a history
DEFAULT_COLLECT_SHARE = 0.5  # likelihood with no history at all (neither customer nor company)
PAYROLL_PROVIDER_NOTE = "payroll: paid through the payroll provider, not from here"

BILL_SECTIONS = ("check_first", "must_pay", "can_delay")
INVOICE_SECTIONS = ("apply_credit", "disputed", "chase")
SECTIONS = ("must_pay", "can_delay", "check_first", "chase", "disputed", "apply_credit")

TRAY_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "section": pl.String(),
        "doc_type": pl.String(),
        "doc_id": pl.String(),
        "party_id": pl.String(),
        "party_name": pl.String(),
        "amount": MONEY,
        "due_date": pl.Date(),
        "days_past_due": pl.Int32(),
        "reason": pl.String(),
        "planned_date": pl.Date(),
        "latest_safe_date": pl.Date(),
        "score": pl.Float64(),
        "email": pl.String(),
        "scenario_id": pl.String(),
        # what the owner may do with the row, and why not when it cannot be selected
        "selectable": pl.Boolean(),
        "action": pl.String(),
        "not_selectable_reason": pl.String(),
        # check first: the bill this one repeats
        "duplicate_of": pl.String(),
        # chase
        "contact": pl.String(),  # "email" | "call"
        "reminded_on": pl.Date(),
        "collect_share": pl.Float64(),
        "expected_collection": MONEY,
        "likely_paid_on": pl.Date(),
        # apply credit: the customer's credit document that covers the invoice
        "credit_type": pl.String(),  # "Payment" (unapplied) | "CreditMemo"
        "credit_id": pl.String(),
        "credit_amount": MONEY,
        "customer_credit": MONEY,
        # the one change the row's effect re-runs (the new date of the moved item; null = removed)
        "new_date": pl.Date(),
    }
)


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [pl.col(c) if c in frame.columns else pl.lit(None).alias(c) for c in TRAY_SCHEMA]
    ).cast(TRAY_SCHEMA)


# ---- bills: check first / must pay / can delay ----------------------------------------------
def bill_rows(
    bills: pl.DataFrame,
    all_bills: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Every open bill due by the tray's horizon (or overdue) in exactly one bill section, plus the
    expected must-pay outflows not yet entered as bills (payroll through the provider, taxes, …).

    ``bills``: classified open bills (``mustpay.classify_bills``: must_pay, latest_safe_date);
    ``all_bills``: the bill table (paid ones too) the duplicate check compares against."""
    soon = as_of + timedelta(days=TRAY_HORIZON_DAYS)
    plan = plans.select("realm_id", pl.col("bill_id").alias("doc_id"), "planned_date")
    dups = likely_duplicates(all_bills, as_of).select(
        "realm_id", pl.col("id").alias("doc_id"), pl.col("other_id").alias("duplicate_of"), "why"
    )
    frame = (
        bills.filter(pl.col("aging_date") <= soon)
        .join(plan, on=["realm_id", "doc_id"], how="left")
        .join(dups, on=["realm_id", "doc_id"], how="left")
        .with_columns(
            planned_date=pl.max_horizontal(
                pl.coalesce("planned_date", "aging_date"), pl.lit(as_of)
            ),
            section=pl.when(pl.col("duplicate_of").is_not_null())
            .then(pl.lit("check_first"))
            .when(pl.col("must_pay"))
            .then(pl.lit("must_pay"))
            .otherwise(pl.lit("can_delay")),
        )
    )
    section = pl.col("section")
    provider = (section == "must_pay") & (pl.col("bill_kind") == "payroll")
    delay_moves = (section == "can_delay") & (pl.col("latest_safe_date") > pl.col("planned_date"))
    docs = frame.select(
        "realm_id",
        "section",
        pl.lit("bill").alias("doc_type"),
        "doc_id",
        "party_id",
        "party_name",
        pl.col("balance").alias("amount"),
        pl.col("aging_date").alias("due_date"),
        "days_past_due",
        pl.when(section == "check_first")
        .then(pl.format("likely duplicate: {}", "why"))
        .when(section == "must_pay")
        .then(pl.col("must_pay_reason"))
        .otherwise(pl.format("can wait until {}", _day("latest_safe_date")))
        .alias("reason"),
        "planned_date",
        "latest_safe_date",
        "duplicate_of",
        ((section != "check_first") & ~provider).alias("selectable"),
        pl.when(section == "can_delay")
        .then(pl.lit("delay_bill"))
        .otherwise(pl.lit("pay_bill"))
        .alias("action"),
        pl.when(section == "check_first")
        .then(
            pl.format(
                "likely duplicate of bill {}: paying it needs an explicit override with a reason",
                "duplicate_of",
            )
        )
        .when(provider)
        .then(pl.lit(PAYROLL_PROVIDER_NOTE))
        .alias("not_selectable_reason"),
        pl.when(section == "must_pay")
        .then(pl.format("without:{}", "doc_id"))
        .when(delay_moves)
        .then(pl.format("delay:{}", "doc_id"))
        .alias("scenario_id"),
        pl.when(delay_moves).then(pl.col("latest_safe_date")).alias("new_date"),
    )
    kind = pl.col("kind")
    recurring = sched.filter(
        pl.col("covered_by_bill").is_null()
        & kind.is_in(["payroll", "tax", "rent", "loan", "utilities"])
        & (pl.col("date") <= soon)
    ).select(
        "realm_id",
        pl.lit("must_pay").alias("section"),
        pl.lit("recurring").alias("doc_type"),
        pl.col("pattern_id").alias("doc_id"),
        "party_id",
        pl.col("party").alias("party_name"),
        "amount",
        pl.col("date").alias("due_date"),
        pl.lit(0, dtype=pl.Int32).alias("days_past_due"),
        pl.format("expected {}", kind).alias("reason"),
        pl.lit(False).alias("selectable"),
        pl.when(kind == "payroll")
        .then(pl.lit(PAYROLL_PROVIDER_NOTE))
        .otherwise(pl.format("expected {}: not yet entered as a bill in QuickBooks", kind))
        .alias("not_selectable_reason"),
        # a pattern recurs: the scenario names the occurrence
        pl.format("without:{}@{}", "pattern_id", "date").alias("scenario_id"),
    )
    return pl.concat([_conform(docs), _conform(recurring)])


# ---- invoices: apply credit / disputed / chase ------------------------------------------------
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
        from runway.common import to_home_currency

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
    inv = invoices.select(
        "realm_id", pl.col("id").alias("doc_id"), "bill_email", "delivered_at", "private_note"
    )
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
    return _conform(
        frame.select(
            "realm_id",
            "section",
            pl.lit("invoice").alias("doc_type"),
            "doc_id",
            "party_id",
            "party_name",
            pl.col("balance").alias("amount"),
            pl.col("aging_date").alias("due_date"),
            "days_past_due",
            pl.when(section == "apply_credit")
            .then(
                pl.format(
                    "{}; {} has {} in open credits ({} {})",
                    late,
                    "party_name",
                    _dollars(pl.col("customer_credit")),
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


def tray_rows(
    tables: Tables,
    *,
    bills: pl.DataFrame,
    ar_detail: pl.DataFrame,
    unapplied: pl.DataFrame,
    payers: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Every tray row of every company (sections in the module doc), scenarios capped."""
    return cap_scenarios(
        pl.concat(
            [
                bill_rows(bills, tables["bill"], sched, plans, as_of),
                invoice_rows(tables, ar_detail, unapplied, payers, company, as_of),
            ]
        )
    )


SCENARIOS_PER_SECTION = 25  # per company: the tray shows the top rows; the long tail is not re-run


def cap_scenarios(tray: pl.DataFrame, per_section: int = SCENARIOS_PER_SECTION) -> pl.DataFrame:
    """Keep a scenario (so a re-run forecast) only for each company's top ``per_section`` must-pay
    and can-delay rows (largest amount) and chase rows (highest score); the rest get scenario_id
    null, hence no effect — a firm of 500 companies otherwise re-runs ~150k forecasts nobody
    looks at."""
    weight = (
        pl.when(pl.col("section") == "chase")
        .then(pl.col("score"))
        .otherwise(pl.col("amount").cast(pl.Float64))
    )
    place = weight.rank("ordinal", descending=True).over("realm_id", "section")
    return tray.with_columns(
        scenario_id=pl.when(pl.col("scenario_id").is_not_null() & (place <= per_section)).then(
            pl.col("scenario_id")
        )
    )


PRIOR = {"chase": "uncollected", "can_delay": "paynow"}  # the alternative a row is weighed against


def _prior_id() -> pl.Expr:
    """The scenario a chase or can-delay row's effect starts from: the invoice not collected
    within the horizon, the bill paid today; null for other rows (they start from the base)."""
    section = pl.col("section")
    return (
        pl.when(pl.col("scenario_id").is_null())
        .then(None)
        .when(section == "chase")
        .then(pl.format("{}:{}", pl.lit(PRIOR["chase"]), "doc_id"))
        .when(section == "can_delay")
        .then(pl.format("{}:{}", pl.lit(PRIOR["can_delay"]), "doc_id"))
    )


def scenarios_of(tray: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The scenarios of the capped rows: a delayable bill paid on its latest safe date (and, to
    weigh it against, paid today), a chase invoice collected when a reminder would likely bring it
    (and not collected within the horizon), a must-pay bill or expected recurring occurrence
    removed (new_date null)."""
    rows = tray.filter(pl.col("scenario_id").is_not_null())
    kind = (
        pl.when(pl.col("section") == "chase")
        .then(pl.lit("invoice"))
        .otherwise(pl.col("doc_type"))
        .alias("kind")
    )
    from_date = (
        pl.when(pl.col("doc_type") == "recurring").then(pl.col("due_date")).alias("from_date")
    )
    own = rows.select(
        "realm_id", "scenario_id", kind, pl.col("doc_id").alias("source_id"), "new_date", from_date
    )
    prior = rows.filter(pl.col("section").is_in(list(PRIOR))).select(
        "realm_id",
        _prior_id().alias("scenario_id"),
        kind,
        pl.col("doc_id").alias("source_id"),
        pl.when(pl.col("section") == "can_delay").then(pl.lit(as_of)).alias("new_date"),
        from_date,
    )
    return pl.concat([own.cast(SCENARIO_SCHEMA), prior.cast(SCENARIO_SCHEMA)])


CHUNK = 20_000  # scenarios per numpy block (bounded memory: CHUNK × 91 int64)


def _cents(expr: pl.Expr) -> pl.Expr:
    return (expr * 100).round(0).cast(pl.Int64)


def _money_from_cents(expr: pl.Expr | pl.Series) -> pl.Expr:
    return (expr.cast(pl.Decimal(20, 0)) * pl.lit(Decimal("0.01"))).cast(MONEY)


def _paydays(payroll: pl.DataFrame | None, realms: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per realm index r: the next payday's day index (-1: none in the horizon), payroll amount
    and the P90 cash available for it (coverage's numerator) in cents."""
    if payroll is None or payroll.height == 0:
        nxt = pl.DataFrame(
            schema={"realm_id": pl.String, "date": pl.Date, "amount": MONEY, "avail": MONEY}
        )
    else:
        nxt = payroll.filter(pl.col("seq") == 1).select(
            "realm_id",
            "date",
            "amount",
            (pl.col("cash_before_p90") - pl.col("must_pay_before")).alias("avail"),
        )
    day = (pl.col("date") - pl.lit(as_of)).dt.total_days()
    return (
        realms.join(nxt, on="realm_id", how="left")
        .sort("r")
        .select(
            "r",
            pl.when(day.is_between(0, HORIZON_DAYS - 1)).then(day).otherwise(-1).alias("pay_day"),
            _cents(pl.col("avail").fill_null(zero())).alias("avail_c"),
        )
    )


def effects(
    items: pl.DataFrame,
    *,
    cash: pl.DataFrame,
    reserve: pl.DataFrame,
    scenarios: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
    payroll: pl.DataFrame | None = None,
    uncounted: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, scenario_id, breach_date, runway_weeks, runway_days, lowest_balance (P50 line),
    payday_balance (P50, end of the next payday) and payday_avail_delta (the change to the P90
    cash available for the next payroll, coverage's numerator) for the base and every scenario:
    the forecast re-run with each single change.

    A scenario moves one item from day a to day b (b past the horizon when it is removed), so its
    path is the base path plus s·(1[d ≥ b] − 1[d ≥ a]); all scenarios are evaluated together on
    integer cents (exact money), block by block, against the base path of their company. The P90
    line is needed only just before the payday, so it is evaluated in closed form there.
    ``uncounted`` (realm_id, scenario_id): scenarios whose item coverage leaves out (a bill the
    tray can delay past the payday), so they cannot change it."""
    base_paths = daily_paths(items, cash, as_of, lines=("p50",))
    base = path_stats(base_paths, cash, reserve, as_of, trend)
    realms = base_paths.select("realm_id").unique().sort("realm_id").with_row_index("r")
    matrix = (
        base_paths.sort("realm_id", "day")
        .select(_cents(pl.col("balance")))
        .to_series()
        .to_numpy()
        .reshape(realms.height, HORIZON_DAYS)
    )
    pay = _paydays(payroll, realms.with_columns(pl.col("r").cast(pl.Int64)), as_of)
    pay_day = pay["pay_day"].to_numpy()
    rows = np.arange(realms.height)
    base_payday = np.where(pay_day >= 0, matrix[rows, np.clip(pay_day, 0, None)], 0)
    base_extra = realms.select(
        "realm_id",
        pl.lit(BASE).alias("scenario_id"),
        pl.when(pl.Series(pay_day) >= 0)
        .then(_money_from_cents(pl.Series(base_payday)))
        .alias("payday_balance"),
        pl.lit(0, dtype=pl.Int64).alias("payday_avail_delta_c"),
    )
    keep = [
        "realm_id",
        "scenario_id",
        "breach_date",
        "runway_weeks",
        "runway_days",
        "lowest_balance",
        "payday_balance",
        "payday_avail_delta",
    ]
    finish: Callable[[pl.DataFrame], pl.DataFrame] = lambda frame: frame.with_columns(
        payday_avail_delta=_money_from_cents(pl.col("payday_avail_delta_c"))
    )
    base = finish(base.join(base_extra, on=["realm_id", "scenario_id"], how="left"))
    if scenarios.height == 0:
        return base.select(keep)
    res = (
        realms.join(reserve, on="realm_id", how="left")
        .sort("r")
        .select(_cents(pl.col("reserve").fill_null(zero())))
        .to_series()
        .to_numpy()
    )
    day_of: Callable[[str], pl.Expr] = lambda col: (
        (pl.col(col) - pl.lit(as_of)).dt.total_days().clip(0, HORIZON_DAYS).cast(pl.Int32)
    )
    # collecting an invoice never makes it later than the forecast already expects it, and
    # delaying a bill never pays it earlier than the forecast does (its usual day may be later)
    collect = (pl.col("kind") == "invoice") & pl.col("new_date").is_not_null()
    delay = pl.col("scenario_id").str.starts_with("delay:")
    moves = (
        scenario_items(items, scenarios)
        .join(realms, on="realm_id", how="inner")
        .with_columns(a=day_of("date"), b=day_of("new_date").fill_null(HORIZON_DAYS))
        .with_columns(
            b=pl.when(collect)
            .then(pl.min_horizontal("a", "b"))
            .when(delay)
            .then(pl.max_horizontal("a", "b"))
            .otherwise(pl.col("b"))
        )
        .group_by("realm_id", "r", "scenario_id", "line", "a", "b")
        .agg(_cents(signed(items)).sum().alias("s"))
    )
    # P90 line: the change to the cash just before the payday (flows dated before it)
    p90 = moves.filter(pl.col("line") == "p90")
    if uncounted is not None and uncounted.height:
        p90 = p90.join(uncounted, on=["realm_id", "scenario_id"], how="anti")
    r9, a9, b9, s9 = (p90[c].to_numpy() for c in ("r", "a", "b", "s"))
    before = pay_day[r9] - 1  # last day whose flows land before the payday
    delta90 = np.where(
        before >= 0, s9 * ((before >= b9).astype(np.int64) - (before >= a9).astype(np.int64)), 0
    )
    avail = (
        p90.select("realm_id", "scenario_id")
        .with_columns(d=pl.Series(delta90, dtype=pl.Int64))
        .group_by("realm_id", "scenario_id")
        .agg(pl.col("d").sum().alias("payday_avail_delta_c"))
    )
    moves = moves.filter(pl.col("line") == "p50").sort("realm_id", "scenario_id")
    r, a, b, s = (moves[c].to_numpy() for c in ("r", "a", "b", "s"))
    d = np.arange(HORIZON_DAYS)
    breach, lowest, lowest_day, closing, payday = (
        np.empty(len(r), dtype=np.int64) for _ in range(5)
    )
    for start in range(0, len(r), CHUNK):  # blocks of scenarios, not documents
        sl = slice(start, start + CHUNK)
        path = matrix[r[sl]] + s[sl, None] * (
            (d >= b[sl, None]).astype(np.int64) - (d >= a[sl, None])
        )
        below = path < res[r[sl], None]
        breach[sl] = np.where(below.any(axis=1), below.argmax(axis=1), -1)
        lowest_day[sl] = path.argmin(axis=1)
        idx = np.arange(path.shape[0])
        lowest[sl] = path[idx, lowest_day[sl]]
        closing[sl] = path[:, -1]
        payday[sl] = path[idx, np.clip(pay_day[r[sl]], 0, None)]
    has_payday = pl.Series(pay_day[r] >= 0)
    stats = moves.select("realm_id", "scenario_id").with_columns(
        line=pl.lit("p50"),
        breach_day=pl.Series(breach).replace(-1, None).cast(pl.Int32),
        lowest_balance=_money_from_cents(pl.Series(lowest)),
        lowest_day=pl.Series(lowest_day).cast(pl.Int32),
        closing_end=_money_from_cents(pl.Series(closing)),
        payday_balance=pl.when(has_payday).then(_money_from_cents(pl.Series(payday))),
    )
    scen = finish(
        finish_stats(stats, cash, reserve, as_of, trend)
        .join(avail, on=["realm_id", "scenario_id"], how="left")
        .with_columns(pl.col("payday_avail_delta_c").fill_null(0))
    )
    return pl.concat([base.select(keep), scen.select(keep)]).sort("realm_id", "scenario_id")


def _grouped(whole: pl.Expr) -> pl.Expr:
    """A non-negative integer with thousands separators (5800 -> "5,800"), vectorised."""
    return (
        whole.cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.strip_suffix(",")
        .str.reverse()
    )


def _day(column: str) -> pl.Expr:
    """A date inside row text in the product's one date format ('Fri 4 Dec 2026', as
    oodaloo.present.day writes it), so the tray's words match every other date on the page."""
    when = pl.col(column)
    return pl.concat_str(
        when.dt.strftime("%a "), when.dt.day().cast(pl.String), when.dt.strftime(" %b %Y")
    )


def _dollars(value: pl.Expr) -> pl.Expr:
    """Money as whole dollars with separators and a sign ("$12,300", "-$4,100")."""
    whole = value.cast(pl.Float64).round(0).cast(pl.Int64)
    return pl.format(
        "{}${}", pl.when(whole < 0).then(pl.lit("-")).otherwise(pl.lit("")), _grouped(whole.abs())
    )


def _plural_days(n: pl.Expr) -> pl.Expr:
    return pl.when(n.abs() == 1).then(pl.lit("")).otherwise(pl.lit("s"))


def _change_text(days: pl.Expr, dollars: pl.Expr) -> pl.Expr:
    """Delay / collect: what the change does to the runway ("removes the projected reserve
    breach", "+3 days of runway", "lifts the lowest balance by $2,350"); null when nothing."""
    return (
        pl.when(pl.col("base_days").is_not_null() & pl.col("scen_days").is_null())
        .then(pl.lit("removes the projected reserve breach"))
        .when(pl.col("base_days").is_not_null() & (days != 0))
        .then(
            pl.format(
                "{} day{} of runway",
                pl.when(days > 0).then(pl.format("+{}", days)).otherwise(days.cast(pl.String)),
                _plural_days(days),
            )
        )
        .when(dollars > 0)
        .then(pl.format("lifts the lowest balance by ${}", _grouped(dollars)))
    )


def _payment_text(days: pl.Expr, dollars: pl.Expr) -> pl.Expr:
    """Must pay: what the payment costs ("causes the projected reserve breach" | "uses 12 days of
    runway", then "lowers the lowest balance by $5,800"), each part only when not zero."""
    used = -days
    runway = (
        pl.when(pl.col("base_days").is_not_null() & pl.col("scen_days").is_null())
        .then(pl.lit("causes the projected reserve breach"))
        .when(used > 0)
        .then(pl.format("uses {} day{} of runway", used, _plural_days(used)))
    )
    lowers = pl.when(dollars < 0).then(
        pl.format("lowers the lowest balance by ${}", _grouped(-dollars))
    )
    joined = pl.concat_str([runway, lowers], separator=", ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


def _weeks(value: pl.Expr) -> pl.Expr:
    return (
        pl.when(value.is_null())
        .then(pl.lit("not reached"))
        .otherwise(pl.format("{} weeks", value.round(1)))
    )


def with_effects(
    tray: pl.DataFrame, fx: pl.DataFrame, payroll: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Tray rows + their effects, ranked per section.

    Where the owner feels them, each before → after the row's own action (paying a must-pay
    bill, delaying a bill, collecting an invoice): ``payday_balance_*`` (P50, end of the next
    payday), ``coverage_*`` (the next payroll's P90 coverage), ``reserve_weeks_*`` (weeks until
    the P50 balance falls below the reserve; null = not within two years); ``effect_text`` says
    what changes, ``no_effect_reason`` why nothing does. ``effect_runway_days`` and
    ``effect_lowest_balance`` keep one sign for every row: the action's effect on the runway
    (positive = more runway)."""
    from runway.payroll import coverage_ratio

    base = fx.filter(pl.col("scenario_id") == BASE).select(
        "realm_id",
        pl.col("runway_days").alias("base_days"),
        pl.col("runway_weeks").alias("base_weeks"),
        pl.col("lowest_balance").alias("base_lowest"),
        pl.col("payday_balance").alias("base_payday"),
    )
    scen = fx.filter(pl.col("scenario_id") != BASE).select(
        "realm_id",
        "scenario_id",
        pl.col("runway_days").alias("scen_days"),
        pl.col("runway_weeks").alias("scen_weeks"),
        pl.col("lowest_balance").alias("scen_lowest"),
        pl.col("payday_balance").alias("scen_payday"),
        pl.col("payday_avail_delta").alias("avail_delta"),
        pl.lit(True).alias("rerun"),
    )
    if payroll is not None and payroll.height:
        nxt = payroll.filter(pl.col("seq") == 1).select(
            "realm_id",
            pl.col("date").alias("payday"),
            pl.col("amount").alias("payroll_amount"),
            (pl.col("cash_before_p90") - pl.col("must_pay_before")).alias("avail"),
            pl.col("coverage").alias("base_cov"),
        )
    else:
        nxt = pl.DataFrame(
            schema={
                "realm_id": pl.String,
                "payday": pl.Date,
                "payroll_amount": MONEY,
                "avail": MONEY,
                "base_cov": pl.Float64,
            }
        )
    # a scenario whose item lies past the horizon moved nothing: the re-run equals the base
    unmoved = [
        pl.when(pl.col("rerun"))
        .then(pl.col(f"scen_{c}"))
        .otherwise(pl.col(f"base_{c}"))
        .alias(f"scen_{c}")
        for c in ("days", "weeks", "lowest", "payday")
    ]
    paying = pl.col("section") == "must_pay"
    days = (
        pl.when(paying)
        .then(pl.col("base_days") - pl.col("scen_days"))
        .otherwise(pl.col("scen_days") - pl.col("base_days"))
        .cast(pl.Int32)
    )
    lift = (
        pl.when(paying)
        .then(pl.col("base_lowest") - pl.col("scen_lowest"))
        .otherwise(pl.col("scen_lowest") - pl.col("base_lowest"))
        .cast(MONEY)
    )
    rerun = pl.col("scenario_id").is_not_null()
    scen_cov = coverage_ratio(
        pl.col("avail") + pl.col("avail_delta").fill_null(zero()), pl.col("payroll_amount")
    )
    prior_cov = coverage_ratio(
        pl.col("avail") + pl.col("prior_avail_delta").fill_null(zero()), pl.col("payroll_amount")
    )
    # before → after the row's action: paying a must-pay bill goes from "without it" to the base;
    # collecting an invoice from "not collected within the horizon" to "collected when a reminder
    # likely brings it"; delaying a bill from "paid today" to "paid on its latest safe date"
    weighed = pl.col("prior_id").is_not_null()
    pick: Callable[[str, str, str], tuple[pl.Expr, pl.Expr]] = lambda b, s, p: (
        pl.when(~rerun)
        .then(None)
        .when(paying)
        .then(pl.col(s))
        .when(weighed)
        .then(pl.col(p))
        .otherwise(pl.col(b)),
        pl.when(~rerun).then(None).when(paying).then(pl.col(b)).otherwise(pl.col(s)),
    )
    pay_b, pay_a = pick("base_payday", "scen_payday", "prior_payday")
    cov_b, cov_a = pick("base_cov", "scen_cov", "prior_cov")
    wk_b, wk_a = pick("base_weeks", "scen_weeks", "prior_weeks")
    parts = [
        pl.when(pl.col("payday_balance_before") != pl.col("payday_balance_after")).then(
            pl.format(
                "payday {}: {} → {}",
                _day("payday"),
                _dollars(pl.col("payday_balance_before")),
                _dollars(pl.col("payday_balance_after")),
            )
        ),
        pl.when(pl.col("coverage_before").round(2) != pl.col("coverage_after").round(2)).then(
            pl.format(
                "payroll coverage {}× → {}×",
                pl.col("coverage_before").round(2),
                pl.col("coverage_after").round(2),
            )
        ),
        pl.when(
            rerun
            & (
                pl.col("reserve_weeks_before").ne_missing(pl.col("reserve_weeks_after"))
                & (
                    pl.col("reserve_weeks_before").is_null()
                    | pl.col("reserve_weeks_after").is_null()
                    | (
                        (pl.col("reserve_weeks_before") - pl.col("reserve_weeks_after")).abs()
                        >= 0.1
                    )
                )
            )
        ).then(
            pl.format(
                "reserve reached in {} → {}",
                _weeks(pl.col("reserve_weeks_before")),
                _weeks(pl.col("reserve_weeks_after")),
            )
        ),
    ]
    text = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    section = pl.col("section")
    why_not = (
        pl.when(section == "check_first")
        .then(pl.lit("not offered for payment: likely duplicate"))
        .when(section == "disputed")
        .then(pl.lit("disputed: not chased, so not re-run"))
        .when(section == "apply_credit")
        .then(pl.lit("the cash is already in the bank: applying the credit changes the books"))
        .when((section == "can_delay") & pl.col("new_date").is_null() & ~rerun)
        .then(pl.format("already planned for {}", _day("planned_date")))
        .when(~rerun)
        .then(pl.format("not re-run: beyond the top {} rows", pl.lit(SCENARIOS_PER_SECTION)))
        .when(pl.col("payday").is_null())
        .then(pl.lit("no payroll in the forecast, and the weeks to the reserve do not change"))
        .when(section == "must_pay")
        .then(
            pl.format(
                "falls after the next payday ({}) and does not move the weeks to the reserve",
                _day("payday"),
            )
        )
        .when(section == "can_delay")
        .then(
            pl.format(
                "paid before the next payday ({}) either way, and the weeks to the reserve "
                "do not change",
                _day("payday"),
            )
        )
        .otherwise(
            pl.format(
                "collected after the next payday ({}) either way, and the weeks to the reserve "
                "do not change",
                _day("payday"),
            )
        )
    )
    order = (
        pl.when(section == "chase")
        .then(-pl.col("score"))
        .when(section == "can_delay")
        .then(-pl.col("effect_lowest_balance").cast(pl.Float64).fill_null(0.0))
        .when(section == "must_pay")
        .then(-pl.col("days_past_due").cast(pl.Float64))
        .otherwise(-pl.col("amount").cast(pl.Float64))
    )
    prior = fx.filter(pl.col("scenario_id") != BASE).select(
        "realm_id",
        pl.col("scenario_id").alias("prior_id"),
        pl.col("runway_weeks").alias("prior_weeks"),
        pl.col("payday_balance").alias("prior_payday"),
        pl.col("payday_avail_delta").alias("prior_avail_delta"),
        pl.lit(True).alias("prior_rerun"),
    )
    prior_unmoved = [
        pl.when(pl.col("prior_rerun"))
        .then(pl.col(f"prior_{c}"))
        .otherwise(pl.col(f"base_{c}"))
        .alias(f"prior_{c}")
        for c in ("weeks", "payday")
    ]
    frame = (
        tray.with_columns(prior_id=_prior_id())
        .join(scen, on=["realm_id", "scenario_id"], how="left")
        .join(prior, on=["realm_id", "prior_id"], how="left")
        .join(base, on="realm_id", how="left")
        .join(nxt, on="realm_id", how="left")
        .with_columns(unmoved)
        .with_columns(prior_unmoved)
        .with_columns(scen_cov=scen_cov, prior_cov=prior_cov)
        .with_columns(
            effect_runway_days=pl.when(
                pl.col("base_days").is_not_null() & pl.col("scen_days").is_not_null()
            ).then(days),
            effect_lowest_balance=pl.when(rerun).then(lift.fill_null(zero())),
            payday=pl.when(rerun).then(pl.col("payday")),
            payday_balance_before=pay_b,
            payday_balance_after=pay_a,
            coverage_before=cov_b,
            coverage_after=cov_a,
            reserve_weeks_before=wk_b,
            reserve_weeks_after=wk_a,
        )
    )
    # the words only for the rows that were re-run (a fraction of a large firm's tray)
    worded = pl.concat(
        [
            frame.filter(rerun).with_columns(text=text),
            frame.filter(~rerun).with_columns(text=pl.lit(None, dtype=pl.String)),
        ]
    )
    return (
        worded.with_columns(
            effect_text=pl.when(rerun & (pl.col("text") != "")).then(pl.col("text")),
        )
        .with_columns(
            no_effect_reason=pl.when(pl.col("effect_text").is_null()).then(why_not),
        )
        .sort("realm_id", "section", order, "doc_id", "due_date", maintain_order=True)
        .with_columns(rank=pl.int_range(1, pl.len() + 1).over("realm_id", "section").cast(pl.Int32))
        .select(
            *TRAY_SCHEMA.names()[:2],
            "rank",
            *TRAY_SCHEMA.names()[2:],
            "effect_runway_days",
            "effect_lowest_balance",
            "payday",
            "payday_balance_before",
            "payday_balance_after",
            "coverage_before",
            "coverage_after",
            "reserve_weeks_before",
            "reserve_weeks_after",
            "effect_text",
            "no_effect_reason",
        )
    )


def _on_forecast_dates(rows: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """A bill's planned date is when the forecast pays it: the owner's plan, else this company's
    usual day for such bills (which may already be past the latest safe date: the effect then
    weighs paying today against waiting as the forecast expects)."""
    paid_on = (
        items.filter((pl.col("line") == "p50") & (pl.col("kind") == "bill"))
        .group_by("realm_id", pl.col("source_id").alias("doc_id"))
        .agg(pl.col("date").min().alias("forecast_date"))
        .with_columns(doc_type=pl.lit("bill"))
    )
    return (
        rows.join(paid_on, on=["realm_id", "doc_type", "doc_id"], how="left")
        .with_columns(planned_date=pl.coalesce("forecast_date", "planned_date"))
        .drop("forecast_date")
    )


def prep_tray(
    tables: Tables,
    *,
    bills: pl.DataFrame,
    ar_detail: pl.DataFrame,
    unapplied: pl.DataFrame,
    payers: pl.DataFrame,
    sched: pl.DataFrame,
    plans: pl.DataFrame,
    company: pl.DataFrame,
    items: pl.DataFrame,
    position: pl.DataFrame,
    reserve: pl.DataFrame,
    payroll: pl.DataFrame,
    as_of: date,
    trend: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(tray with effects, the re-run figures per scenario): the whole tray in one pass."""
    rows = _on_forecast_dates(
        tray_rows(
            tables,
            bills=bills,
            ar_detail=ar_detail,
            unapplied=unapplied,
            payers=payers,
            sched=sched,
            plans=plans,
            company=company,
            as_of=as_of,
        ),
        items,
    )
    payday = payroll.filter(pl.col("seq") == 1).select("realm_id", pl.col("date").alias("payday"))
    uncounted = (  # coverage already leaves out a bill the tray can delay past the payday
        rows.filter(pl.col("section") == "can_delay")
        .join(payday, on="realm_id", how="inner")
        .filter(pl.col("latest_safe_date") >= pl.col("payday"))
        .select("realm_id", "scenario_id", _prior_id().alias("prior"))
        .drop_nulls()
        .unpivot(index="realm_id", value_name="sid")
        .select("realm_id", pl.col("sid").alias("scenario_id"))
    )
    fx = effects(
        items,
        cash=position,
        reserve=reserve,
        scenarios=scenarios_of(rows, as_of),
        as_of=as_of,
        trend=trend,
        payroll=payroll,
        uncounted=uncounted,
    )
    return with_effects(rows, fx, payroll), fx
