"""Recurring outflows detected from history — payroll above all (cadence and amount), then rent,
subscriptions, taxes, loans — with confidence, the expected dates, and the owner's overrides."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from runway.classify import accounts_classified, lines_kind, party_kind
from runway.common import (
    gap_days,
    in_group_order,
    last_three,
    middle_of_last_three,
    sorted_by,
)
from runway.money import MONEY
from runway.words import kind_words

HISTORY_DAYS = 400
SCHEDULE_DAYS = 120
CADENCE_DAYS = {
    "biweekly": 14,
    "semimonthly_1_15": 15,
    "semimonthly_15_last": 15,
    "monthly": 30,
    "quarterly": 91,
    "estimated_tax": 91,
}
# US federal (and most states') estimated tax due dates: (month, day); January's is for last
# year's Q4.
ESTIMATED_TAX_DUE = ((1, 15), (4, 15), (6, 15), (9, 15))
ESTIMATED_TAX_SLACK_DAYS = 10  # a payment this close to a due date counts as made for it
EXPECTED_WINDOW_DAYS = 182  # the recent documents a party's run-rate is judged on
MIN_EXPECTED_INVOICES = 2
MIN_GAP_DAYS, MAX_GAP_DAYS = 7, 92
# Journal entries from the bank to these account types: recurring outflows of their own kind.
BALANCE_SHEET_KINDS = {
    "Credit Card": "card_payment",
    "Equity": "owner_draw",
    "Long Term Liability": "loan",
    "Other Current Liability": "loan",
}
PATTERN_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "pattern_id": pl.String(),
        "kind": pl.String(),
        "party_id": pl.String(),
        "party": pl.String(),
        "cadence": pl.String(),
        "amount": MONEY,
        "occurrences": pl.UInt32(),
        "last_date": pl.Date(),
        "anchor": pl.Date(),
        "confidence": pl.Float64(),
        "source": pl.String(),
    }
)


def balance_sheet_kinds(accounts: pl.DataFrame) -> pl.DataFrame:
    """realm_id, account_id, bs_kind: which balance-sheet kind (card, loan, equity…) money sent to
    an account pays down; null for every other account. One mapping for purchases, transfers and
    journal entries alike."""
    return accounts.select(
        "realm_id",
        pl.col("id").alias("account_id"),
        pl.col("account_type").replace_strict(BALANCE_SHEET_KINDS, default=None).alias("bs_kind"),
    )


def outflow_events(
    purchases: pl.DataFrame,
    *,
    journal_entries: pl.DataFrame,
    bills: pl.DataFrame,
    accounts: pl.DataFrame,
    vendors: pl.DataFrame,
    as_of: date,
    transfers: pl.DataFrame | None = None,
    refunds: pl.DataFrame | None = None,
    customers: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """realm_id, source, doc_id, party_id, party, kind, date, amount: every past cash outflow we can
    classify, from Purchases (checks/cash), Bills and JournalEntries that credit a bank account;
    with ``transfers``, those from a bank account to a card, loan or equity account (a statement
    payment, a repayment, a draw made as a Transfer; bank to bank stays neutral); with
    ``refunds``, RefundReceipts paid from a bank account (kind "refund", named from
    ``customers``)."""
    since = as_of - timedelta(days=HISTORY_DAYS)
    window = (pl.col("txn_date") <= as_of) & (pl.col("txn_date") > since)
    names = vendors.select(
        "realm_id",
        pl.col("id").alias("party_id"),
        pl.col("display_name").alias("vendor_name"),
        # classified once per vendor, not once per bill
        party_kind(pl.col("display_name").fill_null("")).alias("vendor_kind"),
    )

    buys = purchases.filter(window & (pl.col("payment_type").fill_null("Cash") != "CreditCard"))
    # a check to a balance-sheet account (an owner's distribution to Owner's Draw, a loan
    # principal payment) is of that account's kind; without a payee it is its own "party"
    sheet_kind = (
        buys.select("realm_id", "id", pl.col("lines").list.first().struct.field("account_id"))
        .join(
            balance_sheet_kinds(accounts),
            on=["realm_id", "account_id"],
            how="left",
        )
        .select("realm_id", "id", "bs_kind")
    )
    buys = (
        buys.select(
            "realm_id",
            "id",
            pl.col("entity_id").alias("party_id"),
            "entity_name",
            "txn_date",
            "total_amt",
            "lines",
        )
        .join(
            lines_kind(buys.rename({"id": "id"}), accounts, ["realm_id", "id"]),
            on=["realm_id", "id"],
            how="left",
        )
        .join(sheet_kind, on=["realm_id", "id"], how="left")
        .join(names, on=["realm_id", "party_id"], how="left")
        .with_columns(
            kind=pl.coalesce(
                party_kind(pl.coalesce("vendor_name", "entity_name").fill_null("")),
                "line_kind",
                "bs_kind",
            )
        )
        .select(
            "realm_id",
            pl.lit("purchase").alias("source"),
            pl.col("id").alias("doc_id"),
            pl.coalesce(
                "party_id", "entity_name", pl.format("checks:{}", pl.col("kind").fill_null("other"))
            ).alias("party_id"),
            pl.coalesce(
                "vendor_name",
                "entity_name",
                "party_id",
                pl.format("Checks and cash ({})", kind_words(pl.col("kind").fill_null("other"))),
            ).alias("party"),
            "kind",
            pl.col("txn_date").alias("date"),
            pl.col("total_amt").alias("amount"),
        )
    )
    bill_rows = bills.filter(window)
    bill_rows = (
        bill_rows.select(
            "realm_id",
            "id",
            pl.col("vendor_id").alias("party_id"),
            "txn_date",
            "due_date",
            "total_amt",
        )
        .join(
            lines_kind(bill_rows, accounts, ["realm_id", "id"]), on=["realm_id", "id"], how="left"
        )
        .join(names, on=["realm_id", "party_id"], how="left")
        .select(
            "realm_id",
            pl.lit("bill").alias("source"),
            pl.col("id").alias("doc_id"),
            "party_id",
            pl.coalesce("vendor_name", "party_id").alias("party"),
            pl.coalesce("vendor_kind", "line_kind").alias("kind"),
            pl.coalesce("due_date", "txn_date").alias("date"),
            pl.col("total_amt").alias("amount"),
        )
    )
    # Money leaving the bank for a balance-sheet account is an outflow too: a card statement
    # payment, an owner's draw, a loan repayment. Bank to bank (own accounts) stays neutral.
    acct = accounts_classified(accounts).join(
        balance_sheet_kinds(accounts),
        on=["realm_id", "account_id"],
        how="left",
    )
    je = (
        journal_entries.filter(window)
        .select("realm_id", "id", "txn_date", "lines")
        .explode("lines")
        .unnest("lines")
        .join(acct, on=["realm_id", "account_id"], how="left")
        .group_by("realm_id", "id", "txn_date")
        .agg(
            pl.col("amount")
            .filter(pl.col("is_bank").fill_null(False) & (pl.col("posting_type") == "Credit"))
            .sum()
            .alias("cash_out"),
            pl.coalesce("acct_kind", "bs_kind")
            .filter(pl.col("posting_type") == "Debit")
            .drop_nulls()
            .first()
            .alias("kind"),
        )
        .filter((pl.col("cash_out") > 0) & pl.col("kind").is_not_null())
        .select(
            "realm_id",
            pl.lit("journal_entry").alias("source"),
            pl.col("id").alias("doc_id"),
            pl.format("je:{}", pl.col("kind")).alias("party_id"),
            pl.format("Journal entries ({})", kind_words(pl.col("kind"))).alias("party"),
            "kind",
            pl.col("txn_date").alias("date"),
            pl.col("cash_out").cast(MONEY).alias("amount"),
        )
    )
    parts = [buys, bill_rows, je]
    if transfers is not None and transfers.height:
        parts.append(_transfer_events(transfers.filter(window), accounts, acct))
    if refunds is not None and refunds.height:
        parts.append(_refund_events(refunds.filter(window), acct, customers))
    events = pl.concat(parts, how="vertical_relaxed")
    return events.with_columns(
        pl.col("amount").cast(MONEY), pl.col("kind").fill_null("other")
    ).pipe(sorted_by, "realm_id", "date", "source", "doc_id")


def _transfer_events(
    transfers: pl.DataFrame, accounts: pl.DataFrame, acct: pl.DataFrame
) -> pl.DataFrame:
    """Transfers out of a bank account into a balance-sheet account of a recurring kind (card
    statement payment, loan repayment, owner draw): outflow events of that kind, the receiving
    account their party. Between two bank accounts (own accounts) nothing moves out: left out."""
    source = acct.select(
        "realm_id", pl.col("account_id").alias("from_account_id"), pl.col("is_bank").alias("_out")
    )
    target = acct.select(
        "realm_id",
        pl.col("account_id").alias("to_account_id"),
        pl.coalesce("acct_kind", "bs_kind").alias("kind"),
        pl.col("is_bank").alias("_in"),
    ).join(
        accounts.select(
            "realm_id",
            pl.col("id").alias("to_account_id"),
            pl.coalesce("name", "id").alias("account_name"),
        ),
        on=["realm_id", "to_account_id"],
        how="left",
    )
    return (
        transfers.join(source, on=["realm_id", "from_account_id"], how="left")
        .join(target, on=["realm_id", "to_account_id"], how="left")
        .filter(
            pl.col("_out").fill_null(False)
            & ~pl.col("_in").fill_null(False)
            & pl.col("kind").is_not_null()
            & (pl.col("amount").fill_null(0) > 0)
        )
        .select(
            "realm_id",
            pl.lit("transfer").alias("source"),
            pl.col("id").alias("doc_id"),
            pl.format("transfer:{}", "to_account_id").alias("party_id"),
            pl.format("Transfers to {}", pl.col("account_name").fill_null("")).alias("party"),
            "kind",
            pl.col("txn_date").alias("date"),
            pl.col("amount").cast(MONEY),
        )
    )


def _refund_events(
    refunds: pl.DataFrame, acct: pl.DataFrame, customers: pl.DataFrame | None
) -> pl.DataFrame:
    """RefundReceipts paid from a bank account (not voided): outflow events of kind "refund"."""
    banks = acct.filter(pl.col("is_bank")).select(
        "realm_id", pl.col("account_id").alias("deposit_account_id")
    )
    names = (
        pl.DataFrame(schema={"realm_id": pl.String, "customer_id": pl.String, "name": pl.String})
        if customers is None
        else customers.select(
            "realm_id", pl.col("id").alias("customer_id"), pl.col("display_name").alias("name")
        )
    )
    return (
        refunds.filter(~pl.col("voided").fill_null(False) & (pl.col("total_amt") > 0))
        .join(banks, on=["realm_id", "deposit_account_id"], how="semi")
        .join(names, on=["realm_id", "customer_id"], how="left")
        .select(
            "realm_id",
            pl.lit("refund_receipt").alias("source"),
            pl.col("id").alias("doc_id"),
            pl.format("refund:{}", pl.col("customer_id").fill_null("")).alias("party_id"),
            pl.format("Refunds to {}", pl.coalesce("name", "customer_id").fill_null("")).alias(
                "party"
            ),
            pl.lit("refund").alias("kind"),
            pl.col("txn_date").alias("date"),
            pl.col("total_amt").cast(MONEY).alias("amount"),
        )
    )


def _cadence_stats(events: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    # the estimated-tax test on each distinct day (a few hundred), looked up for every event
    days = events.select(pl.col("date").unique().drop_nulls())
    near_tax = days.select(near_estimated_tax_due(pl.col("date"))).to_series()
    ordered = in_group_order(events, keys, "date").with_columns(
        _gap=gap_days(),
        _dom=pl.col("date").dt.day(),
        _est=pl.col("date").replace_strict(days.to_series(), near_tax, default=None),
    )
    gap, dom = pl.col("_gap"), pl.col("_dom")
    pairs = (pl.len() - 1).clip(lower_bound=1)
    return (
        ordered.group_by("_g")
        .agg(
            *(pl.col(k).first() for k in keys),
            pl.len().cast(pl.UInt32).alias("occurrences"),
            pl.col("party").last(),
            pl.col("date").max().alias("last_date"),
            ((gap == 14).sum() / pairs).alias("s_biweekly"),
            (gap.is_between(11, 19).sum() / pairs).alias("s_semi"),
            (gap.is_between(26, 35).sum() / pairs).alias("s_monthly"),
            (gap.is_between(84, 98).sum() / pairs).alias("s_quarterly"),
            (dom <= 5).mean().alias("s_early"),
            (dom >= 26).mean().alias("s_late"),
            ((dom <= 3) | dom.is_between(12, 16) | (dom >= 26)).mean().alias("s_semi_days"),
            *last_three("amount"),
            pl.col("_est").mean().alias("s_est_tax"),
        )
        .with_columns(amount=middle_of_last_three("occurrences").cast(MONEY))
        .drop("_g", "_l3_sum", "_l3_max", "_l3_min")
    )


def near_estimated_tax_due(day: pl.Expr) -> pl.Expr:
    """True when ``day`` is within the slack of a US estimated-tax due date (Jan/Apr/Jun/Sep 15)."""
    near = pl.lit(False)
    for month, dom in ESTIMATED_TAX_DUE:
        due = pl.date(day.dt.year(), month, dom)
        near = near | ((day - due).dt.total_days().abs() <= ESTIMATED_TAX_SLACK_DAYS)
    # January's due date of next year for late-December payments
    next_jan = pl.date(day.dt.year() + 1, 1, 15)
    return near | ((next_jan - day).dt.total_days() <= ESTIMATED_TAX_SLACK_DAYS)


def _choose(payroll: bool) -> pl.Expr:
    """Cadence from the share of gaps that fit each calendar."""
    cadence = (
        pl.when(
            (pl.col("s_semi") >= 0.7)
            & (pl.col("s_semi_days") >= 0.85)
            & (pl.col("s_biweekly") < 0.95)
        )
        .then(
            pl.when(pl.col("s_early") >= pl.col("s_late"))
            .then(pl.lit("semimonthly_1_15"))
            .otherwise(pl.lit("semimonthly_15_last"))
        )
        .when(pl.col("s_biweekly") >= 0.7)
        .then(pl.lit("biweekly"))
        .when(pl.col("s_monthly") >= 0.6)
        .then(pl.lit("monthly"))
    )
    if not payroll:
        cadence = cadence.when(pl.col("s_quarterly") >= 0.6).then(pl.lit("quarterly"))
    return cadence.otherwise(pl.lit(None, dtype=pl.String))


def _fit_share() -> pl.Expr:
    return (
        pl.when(pl.col("cadence") == "biweekly")
        .then("s_biweekly")
        .when(pl.col("cadence").str.starts_with("semimonthly"))
        .then("s_semi")
        .when(pl.col("cadence") == "monthly")
        .then("s_monthly")
        .when(pl.col("cadence") == "estimated_tax")
        .then("s_est_tax")
        .otherwise("s_quarterly")
    )


def _estimated_tax() -> pl.Expr:
    """Tax payments made on the estimated-tax calendar (Jan/Apr/Jun/Sep 15: unevenly spaced, so
    the quarterly gap test alone would forecast the next one 91 days after the last)."""
    return (pl.col("kind") == "tax") & (pl.col("s_est_tax") >= 0.8) & (pl.col("occurrences") >= 2)


def detect_patterns(events: pl.DataFrame, company: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Recurring patterns per company (PATTERN_SCHEMA), payroll overrides applied."""
    pay = (
        events.filter(pl.col("kind") == "payroll")
        .group_by("realm_id", "date")
        .agg(pl.col("amount").sum(), pl.col("party").first())
        # payroll runs, not the provider's small monthly fees booked to the same vendor/accounts
        .filter(
            pl.col("amount").cast(pl.Float64)
            >= 0.5 * pl.col("amount").cast(pl.Float64).median().over("realm_id")
        )
    )
    payroll = (
        _cadence_stats(pay, ["realm_id"])
        .filter(pl.col("occurrences") >= 3)
        .with_columns(
            cadence=_choose(payroll=True),
            kind=pl.lit("payroll"),
            party_id=pl.lit(None, dtype=pl.String),
        )
    )
    others = (
        _cadence_stats(events.filter(pl.col("kind") != "payroll"), ["realm_id", "party_id"])
        .join(
            events.group_by("realm_id", "party_id").agg(pl.col("kind").mode().first()),
            on=["realm_id", "party_id"],
        )
        .with_columns(
            cadence=pl.when(_estimated_tax())
            .then(pl.lit("estimated_tax"))
            .otherwise(_choose(payroll=False))
        )
        .filter(
            (pl.col("occurrences") >= 3)
            | (
                pl.col("cadence").is_in(["quarterly", "estimated_tax"])
                & (pl.col("occurrences") >= 2)
            )
        )
    )
    stale_after = pl.col("cadence").replace_strict(CADENCE_DAYS, default=30) * 2
    detected = (
        pl.concat([payroll, others], how="diagonal_relaxed")
        .filter(pl.col("cadence").is_not_null())
        .filter((pl.lit(as_of) - pl.col("last_date")).dt.total_days() <= stale_after)
        .with_columns(
            confidence=(
                _fit_share()
                * pl.min_horizontal(
                    pl.lit(1.0),
                    pl.col("occurrences")
                    / pl.when(pl.col("cadence") == "estimated_tax").then(4).otherwise(6),
                )
            ).cast(pl.Float64),
            pattern_id=pl.when(pl.col("kind") == "payroll")
            .then(pl.lit("payroll"))
            .otherwise(pl.format("{}:{}", "kind", "party_id")),
            anchor=pl.col("last_date"),
            source=pl.lit("detected"),
        )
    )
    detected = detected.select(PATTERN_SCHEMA.names()).cast(PATTERN_SCHEMA)
    return apply_payroll_overrides(detected, company, as_of).sort("realm_id", "kind", "pattern_id")


def apply_payroll_overrides(
    detected: pl.DataFrame, company: pl.DataFrame, as_of: date
) -> pl.DataFrame:
    """The owner's payroll calendar/amount win over detection; confirmation lifts confidence
    to 1."""
    over = company.filter(
        pl.col("payroll_cadence").is_not_null()
        | pl.col("payroll_amount").is_not_null()
        | pl.col("payroll_confirmed")
    ).select(
        "realm_id", "payroll_cadence", "payroll_amount", "payroll_anchor_date", "payroll_confirmed"
    )
    payroll = detected.filter(pl.col("kind") == "payroll")
    merged = (
        payroll.join(over, on="realm_id", how="full", coalesce=True)
        .with_columns(
            pattern_id=pl.lit("payroll"),
            kind=pl.lit("payroll"),
            party=pl.col("party").fill_null("Payroll"),
            cadence=pl.coalesce("payroll_cadence", "cadence"),
            amount=pl.coalesce("payroll_amount", "amount"),
            anchor=pl.coalesce("payroll_anchor_date", "last_date", pl.lit(as_of)),
            occurrences=pl.col("occurrences").fill_null(0),
            source=pl.when(
                pl.col("payroll_cadence").is_not_null() | pl.col("payroll_amount").is_not_null()
            )
            .then(pl.lit("override"))
            .otherwise(pl.col("source")),
        )
        .with_columns(
            confidence=pl.when(pl.col("source") == "override")
            .then(1.0)
            .when(pl.col("payroll_confirmed").fill_null(False))
            .then(1.0)
            .otherwise("confidence")
        )
        .filter(pl.col("cadence").is_not_null() & pl.col("amount").is_not_null())
        .select(PATTERN_SCHEMA.names())
        .cast(PATTERN_SCHEMA)
    )
    return pl.concat([detected.filter(pl.col("kind") != "payroll"), merged])


def expected_dates(patterns: pl.DataFrame, as_of: date, days: int = SCHEDULE_DAYS) -> pl.DataFrame:
    """realm_id, pattern_id, kind, party_id, party, date, amount: occurrences in
    [as_of, as_of+days]."""
    steps = pl.DataFrame({"k": list(range(-2, 12))}, schema={"k": pl.Int32}).join(
        pl.DataFrame({"half": [0, 1]}, schema={"half": pl.Int32}), how="cross"
    )
    month = pl.lit(as_of).dt.month_start().dt.offset_by(pl.format("{}mo", pl.col("k")))
    month_end = month.dt.month_end()
    anchor_dom = pl.col("anchor").dt.day()
    monthly_day = (
        pl.when(anchor_dom >= 28)
        .then(month_end)
        .otherwise(pl.min_horizontal(month + pl.duration(days=anchor_dom - 1), month_end))
    )
    cadence = pl.col("cadence")
    periods = (
        pl.lit(as_of) - pl.col("anchor")
    ).dt.total_days() // 14  # bi-weekly periods since the anchor
    when = (
        pl.when(cadence == "biweekly")
        .then(
            pl.col("anchor") + pl.duration(days=14 * (periods + pl.col("k") * 2 + pl.col("half")))
        )
        .when(cadence == "semimonthly_1_15")
        .then(pl.when(pl.col("half") == 0).then(month).otherwise(month + pl.duration(days=14)))
        .when(cadence == "semimonthly_15_last")
        .then(pl.when(pl.col("half") == 0).then(month + pl.duration(days=14)).otherwise(month_end))
        .when(cadence == "monthly")
        .then(pl.when(pl.col("half") == 0).then(monthly_day))
        .when(cadence == "quarterly")
        .then(
            pl.when(pl.col("half") == 0).then(
                pl.col("anchor").dt.offset_by(pl.format("{}mo", pl.col("k") * 3))
            )
        )
        .when(cadence == "estimated_tax")
        .then(
            pl.when(
                (pl.col("half") == 0) & month.dt.month().is_in([m for m, _ in ESTIMATED_TAX_DUE])
            ).then(next_business_day(month + pl.duration(days=14)))
        )
    )
    return (
        patterns.join(steps, how="cross")
        .with_columns(date=when)
        .filter(
            pl.col("date").is_not_null()
            & (pl.col("date") >= as_of)
            & (pl.col("date") > pl.col("last_date").fill_null(date.min))
            & (pl.col("date") <= as_of + timedelta(days=days))
        )
        .unique(["realm_id", "pattern_id", "date"])
        .pipe(on_business_days, as_of, days)
        .select("realm_id", "pattern_id", "kind", "party_id", "party", "date", "amount")
        .sort("realm_id", "date", "pattern_id")
    )


def on_business_days(occurrences: pl.DataFrame, as_of: date, days: int) -> pl.DataFrame:
    """Paydays on a weekend or a US bank holiday move to the business day before (never before
    ``as_of``): payroll has to clear on a day the banks are open."""
    from runway.businessdays import payday_calendar

    if occurrences.height == 0:
        return occurrences
    calendar = payday_calendar(as_of, as_of + timedelta(days=days))
    return (
        occurrences.join(calendar, on="date", how="left")
        .with_columns(
            date=pl.when(pl.col("kind") == "payroll")
            .then(pl.max_horizontal(pl.coalesce("business_date", "date"), pl.lit(as_of)))
            .otherwise(pl.col("date"))
        )
        .drop("business_date")
    )


def next_business_day(day: pl.Expr) -> pl.Expr:
    """A due date on a Saturday or Sunday moves to Monday (IRS rule; holidays not modelled)."""
    weekday = day.dt.weekday()  # Monday = 1 … Sunday = 7
    return day + pl.duration(
        days=pl.when(weekday == 6).then(2).when(weekday == 7).then(1).otherwise(0)
    )


def schedule(patterns: pl.DataFrame, open_bills: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Expected occurrences, each marked ``covered_by_bill`` when an open bill of the same vendor
    falls in the same period (that bill is forecast instead, never both)."""
    occ = expected_dates(patterns, as_of).join(
        patterns.select("realm_id", "pattern_id", "cadence"),
        on=["realm_id", "pattern_id"],
        how="left",
    )
    tolerance = (pl.col("cadence").replace_strict(CADENCE_DAYS, default=30) // 2).cast(pl.Int64)
    bills = open_bills.select(
        "realm_id", pl.col("party_id"), pl.col("doc_id").alias("bill_id"), "aging_date"
    )
    covered = (
        occ.join(bills, on=["realm_id", "party_id"], how="inner")
        .filter((pl.col("aging_date") - pl.col("date")).dt.total_days().abs() <= tolerance)
        .group_by("realm_id", "pattern_id", "date")
        .agg(pl.col("bill_id").min().alias("covered_by_bill"))
    )
    return (
        occ.join(covered, on=["realm_id", "pattern_id", "date"], how="left")
        .drop("cadence")
        .sort("realm_id", "date", "pattern_id")
    )


def next_dates(patterns: pl.DataFrame, sched: pl.DataFrame) -> pl.DataFrame:
    """Patterns with next_date and the list of upcoming dates (for reports)."""
    upcoming = sched.group_by("realm_id", "pattern_id").agg(
        pl.col("date").sort().alias("next_dates")
    )
    return (
        patterns.join(upcoming, on=["realm_id", "pattern_id"], how="left")
        .with_columns(next_date=pl.col("next_dates").list.first())
        .sort("realm_id", "kind", "pattern_id")
    )


def billing_rhythm(events: pl.DataFrame, as_of: date, *, in_order: bool = False) -> pl.DataFrame:
    """Per party billed (or paid) recently: realm_id, party_id, party, invoices, last_date,
    gap_days (median days between its documents), per_invoice (run-rate × gap: what one more
    document is worth on average), billed (recent total), months_billed, terms_days; from the last
    26 weeks. ``events``: realm_id, party_id, party, date, amount, terms_days (customers' invoices
    for expected billing, vendors' bills and payments for expected spending); ``in_order``: in
    (realm_id, party_id, date) order already (``in_group_order``)."""
    since = as_of - timedelta(days=EXPECTED_WINDOW_DAYS)
    recent = events.filter((pl.col("date") > since) & (pl.col("date") <= as_of))
    month = pl.col("date").dt.month_start()
    ordered = in_group_order(recent, ["realm_id", "party_id"], "date", in_order=in_order)
    ordered = ordered.with_columns(
        _gap=gap_days(),
        # dates ascend within a group: a month is new where it differs from the row before
        _new_month=pl.col("_first") | (month != month.shift(1)),
    )
    return (
        ordered.group_by("_g")
        .agg(
            pl.col("realm_id").first(),
            pl.col("party_id").first(),
            pl.col("party").last(),
            pl.len().cast(pl.UInt32).alias("invoices"),
            pl.col("date").max().alias("last_date"),
            pl.col("date").min().alias("first_date"),
            pl.col("_gap").median().alias("gap_raw"),
            pl.col("amount").sum().cast(pl.Float64).alias("billed"),
            pl.col("_new_month").sum().cast(pl.UInt32).alias("months_billed"),
            pl.col("terms_days").median().round(0).cast(pl.Int32).alias("terms_days"),
        )
        .drop("_g")
        .filter(pl.col("invoices") >= MIN_EXPECTED_INVOICES)
        .with_columns(
            gap_days=pl.col("gap_raw").fill_null(30.0).clip(MIN_GAP_DAYS, MAX_GAP_DAYS).round(0)
        )
        .with_columns(
            # run-rate over the span the documents cover: from the first to the next one due
            # (or today, when that is overdue), never before the party started
            per_invoice=pl.col("billed")
            / pl.max_horizontal(
                (
                    pl.max_horizontal(
                        pl.col("last_date") + pl.duration(days=pl.col("gap_days").cast(pl.Int64)),
                        pl.lit(as_of),
                    )
                    - pl.col("first_date")
                )
                .dt.total_days()
                .cast(pl.Float64),
                pl.col("gap_days"),
            )
            * pl.col("gap_days"),
        )
        # still billing: the next invoice is not overdue by more than one extra cycle
        .filter(
            (pl.lit(as_of) - pl.col("last_date")).dt.total_days()
            <= 1.5 * pl.col("gap_days") + MIN_GAP_DAYS
        )
        .drop("gap_raw", "first_date")
    )


MAX_EXPECTED_STEPS = 59


def expected_steps(horizon_days: int) -> pl.DataFrame:
    """k = 1, 2, …: the expected documents a billing rhythm can place in the horizon — the first
    after today, then one every ``gap_days`` (never under ``MIN_GAP_DAYS``), so no more than
    horizon ÷ the shortest gap + 1 (at most ``MAX_EXPECTED_STEPS``); fewer rows to cross-join
    than a fixed 59, the same documents."""
    count = min(MAX_EXPECTED_STEPS, horizon_days // MIN_GAP_DAYS + 1)
    return pl.DataFrame({"k": list(range(1, count + 1))}, schema={"k": pl.Int64})


EXPECTED_SPEND_KIND = "expected_spend"
SPEND_EXCLUDED_KINDS = ("payroll",)  # payroll has its own calendar (the payroll pattern)


def expected_spend(
    events: pl.DataFrame,
    patterns: pl.DataFrame,
    as_of: date,
    bill_lags: pl.DataFrame | None = None,
    horizon_days: int = 91,
    open_bills: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Spending not yet entered that this company's history expects, for the vendors no recurring
    pattern covers (those are forecast by their pattern): per vendor paid or billed at least twice
    in the last 26 weeks and still on rhythm, the next documents every ``gap_days`` after its last,
    each worth its recent run-rate × gap; a bill's date is its due date, paid that vendor's usual
    days after due (``bill_lags``). A vendor's open bills (``open_bills``: realm_id, party_id,
    balance) are the first part of that spending already entered, so its expected documents only
    add what the run-rate holds beyond them (a company that lets bills pile up pays them, not new
    ones on top). Items (ITEM_SCHEMA + label), the same on both lines."""
    covered = patterns.filter(pl.col("party_id").is_not_null()).select("realm_id", "party_id")
    spend = (
        events.filter(~pl.col("kind").is_in(list(SPEND_EXCLUDED_KINDS)))
        .join(covered, on=["realm_id", "party_id"], how="anti")
        .with_columns(terms_days=pl.lit(0, dtype=pl.Int32))
    )
    from_bills = (
        spend.group_by("realm_id", "party_id")
        .agg((pl.col("source") == "bill").mean().alias("bill_share"))
        .select("realm_id", "party_id", (pl.col("bill_share") >= 0.5).alias("is_bill"))
    )
    rhythm = billing_rhythm(spend, as_of).join(from_bills, on=["realm_id", "party_id"], how="left")
    if bill_lags is None:
        bill_lags = pl.DataFrame(
            schema={"realm_id": pl.String, "party_id": pl.String, "p50_days_after_due": pl.Float64}
        )
    lags = bill_lags.select("realm_id", "party_id", "p50_days_after_due")
    steps = expected_steps(horizon_days)
    gap = pl.duration(days=pl.col("gap_days").cast(pl.Int64))
    due = pl.max_horizontal(pl.col("last_date") + gap, pl.lit(as_of + timedelta(days=1))) + (
        pl.duration(days=pl.col("gap_days").cast(pl.Int64) * (pl.col("k") - 1))
    )
    lag = (
        pl.when(pl.col("is_bill").fill_null(False))
        .then(pl.col("p50_days_after_due").fill_null(0.0).clip(lower_bound=0.0).round(0))
        .otherwise(0.0)
        .cast(pl.Int64)
    )
    occ = (
        rhythm.join(lags, on=["realm_id", "party_id"], how="left")
        .join(steps, how="cross")
        .with_columns(due=due)
        .with_columns(date=pl.col("due") + pl.duration(days=lag))
        .filter(pl.col("date") < as_of + timedelta(days=horizon_days))
    )
    if open_bills is not None and open_bills.height:
        owed = open_bills.group_by("realm_id", "party_id").agg(
            pl.col("balance").sum().cast(pl.Float64).alias("owed")
        )
        each = pl.col("per_invoice")
        before = (each.cum_sum() - each).over("realm_id", "party_id", order_by="k")
        occ = (
            occ.join(owed, on=["realm_id", "party_id"], how="left")
            .with_columns(
                per_invoice=(
                    each - (pl.col("owed").fill_null(0.0) - before).clip(lower_bound=0.0)
                ).clip(lower_bound=0.0)
            )
            .filter(pl.col("per_invoice") > 0)
        )
    lines = pl.DataFrame({"line": ["p50", "p90"]})
    # each document worded once, then set on both lines (the same on each)
    worded = occ.select(
        "realm_id",
        "date",
        pl.lit(EXPECTED_SPEND_KIND).alias("kind"),
        pl.format("spend:{}:{}", "party_id", "due").alias("source_id"),
        "party",
        pl.lit("out").alias("direction"),
        pl.col("per_invoice").round(2).cast(MONEY).alias("amount"),
        pl.format(
            "expected spending: about {} every {} days ({} documents in 26 weeks)",
            pl.col("per_invoice").round(0).cast(pl.Int64),
            pl.col("gap_days").cast(pl.Int64),
            "invoices",
        ).alias("label"),
    )
    return worded.join(lines, how="cross").select(
        "realm_id", "line", "date", "kind", "source_id", "party", "direction", "amount", "label"
    )
