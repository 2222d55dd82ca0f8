"""Each new part of the forecast on a small company computed by hand: expected billing (history
and accepted estimates, switchable), bills on this company's own days after due, disputed and very
old invoices weighted by its history, card payments / owner draws as recurring outflows with own
transfers neutral, paydays on the banking calendar, the daily low, the runway labels and the firm
ranking by the P90 date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from runway.businessdays import business_day_on_or_before, us_bank_holidays
from runway.pipeline import CalculatorInputs, compute
from runway.reports import company_report
from runway.settings import CompanySettings, confirmed_inflows_frame, frames_from_settings
from tests.runway.conftest import AS_OF
from tests.runway.factory import Company, snapshot

D = Decimal


def day(n: int) -> date:
    return AS_OF + timedelta(days=n)


def run(*companies: Company, **kw: Any):  # type: ignore[no-untyped-def]
    snap = snapshot(*companies)
    by_realm = {c.realm_id: CompanySettings(**kw) for c in companies}
    company, critical = frames_from_settings(by_realm, snap.realm_ids)
    return compute(
        CalculatorInputs(
            snap,
            AS_OF,
            company=company,
            critical=critical,
            plans=None,
            confirmed=confirmed_inflows_frame(by_realm, snap.realm_ids),
        )
    )


def items(view, kind: str, line: str = "p50") -> list[tuple[date, Decimal]]:  # type: ignore[no-untyped-def]
    frame = view.forecast_items.filter((pl.col("kind") == kind) & (pl.col("line") == line))
    return sorted(zip(frame["date"].to_list(), frame["amount"].to_list(), strict=True))


def monthly_client(c: Company, name: str = "Acme", amount: int = 12000) -> str:
    """Invoiced every 30 days (days −150 … −30), 30-day terms, each paid on its due date."""
    client = c.customer(name)
    for k in range(5):
        txn = day(-150 + 30 * k)
        c.pay_invoice(c.invoice(client, txn, txn + timedelta(days=30), amount), txn + timedelta(30))
    return client


# ---- expected billing ---------------------------------------------------------------------------
def test_expected_billing_from_the_customers_rhythm_collected_at_its_lag() -> None:
    """5 invoices of 12,000 every 30 days, the last on day −30: 60,000 over the 150 days from the
    first to the next one due (day 0) → 12,000 per 30 days. Next invoices: day 1 (the one due today
    is not issued yet), 31, 61, 91; collected at 30-day terms + 0 days late → days 31 and 61 inside
    the 13 weeks (day 91 is not). P90: 0.75 × 12,000 = 9,000, a week later: days 38 and 68."""
    c = Company("r-exp")
    c.bank(50000)
    monthly_client(c)
    view = run(c)
    assert items(view, "expected") == [(day(31), D("12000.00")), (day(61), D("12000.00"))]
    assert items(view, "expected", "p90") == [(day(38), D("9000.00")), (day(68), D("9000.00"))]
    label = view.forecast_items.filter(pl.col("kind") == "expected")["label"][0]
    assert "about 12000 every 30 days" in label and "5 invoices" in label
    assert view.runway["expected_billing"][0] is True


def test_expected_billing_switched_off_shows_a_banner() -> None:
    c = Company("r-off")
    c.bank(50000)
    monthly_client(c)
    view = run(c, expected_billing=False)
    assert items(view, "expected") == []
    assert view.runway["expected_billing"][0] is False
    one = view.company("r-off")
    payload = company_report("forecast", one)
    assert payload["expected_billing"] is False and "switched off" in payload["banner"]
    assert company_report("forecast", run(c).company("r-off"))["banner"] is None


def test_accepted_estimate_not_yet_invoiced_is_expected() -> None:
    """Accepted 5,000 estimate: invoiced within 14 days, collected at Acme's 30-day terms + 0 late
    → day 44 (P90: 3,750 on day 51). A closed estimate already invoiced adds nothing."""
    c = Company("r-est")
    c.bank(50000)
    client = monthly_client(c)
    c.put(
        "Estimate",
        {
            "CustomerRef": {"value": client},
            "TxnDate": day(-3).isoformat(),
            "TotalAmt": "5000",
            "TxnStatus": "Accepted",
        },
    )
    invoiced = c.invoice(client, day(-2), day(28), 800)
    c.put(
        "Estimate",
        {
            "CustomerRef": {"value": client},
            "TxnDate": day(-9).isoformat(),
            "TotalAmt": "800",
            "TxnStatus": "Closed",
            "LinkedTxn": [{"TxnId": invoiced, "TxnType": "Invoice"}],
        },
    )
    view = run(c)
    est = view.forecast_items.filter(pl.col("source_id").str.starts_with("estimate:"))
    assert sorted(zip(est["line"], est["date"], est["amount"], strict=True)) == [
        ("p50", day(44), D("5000.00")),
        ("p90", day(51), D("3750.00")),
    ]


# ---- bills on this company's own days after due -----------------------------------------------
def _pay_bill(c: Company, vendor: str, bill: str, amount: int, paid: date) -> None:
    c.put(
        "BillPayment",
        {
            "VendorRef": {"value": vendor},
            "TxnDate": paid.isoformat(),
            "TotalAmt": str(amount),
            "PayType": "Check",
            "Line": [{"Amount": str(amount), "LinkedTxn": [{"TxnId": bill, "TxnType": "Bill"}]}],
        },
    )
    c.edit("Bill", bill, c.stamp, Balance="0")


def test_bills_leave_on_the_days_after_due_this_company_pays_them() -> None:
    """Three paid bills of the studio, paid 6, 10 and 14 days after due: median 10, 10th
    percentile 6 + 0.2 × 4 = 6.8 → 7. An open bill due day 5 leaves on day 15 (P50) and day 12
    (P90); a planned date wins; an open bill already past its usual day leaves next week (P50)
    and today (P90)."""
    c = Company("r-bills")
    c.bank(100000)
    studio = c.vendor("Studio")
    for k, late in enumerate((6, 10, 14)):
        due = day(-100 + 20 * k)
        bill = c.bill(studio, due - timedelta(days=30), due, 1000)
        _pay_bill(c, studio, bill, 1000, due + timedelta(days=late))
    open_bill = c.bill(studio, day(-25), day(5), 3000)
    late_bill = c.bill(studio, day(-60), day(-30), 700)
    view = run(c, expected_billing=False)
    bills = view.forecast_items.filter(pl.col("kind") == "bill")
    got = {(r["source_id"], r["line"]): r["date"] for r in bills.iter_rows(named=True)}
    assert got[(open_bill, "p50")] == day(15) and got[(open_bill, "p90")] == day(12)
    assert got[(late_bill, "p50")] == day(7) and got[(late_bill, "p90")] == AS_OF
    plans = pl.DataFrame(
        {"realm_id": ["r-bills"], "bill_id": [open_bill], "planned_date": [day(40)], "note": [""]}
    )
    snap = snapshot(c)
    company, critical = frames_from_settings(
        {"r-bills": CompanySettings(expected_billing=False)}, snap.realm_ids
    )
    planned = compute(
        CalculatorInputs(snap, AS_OF, company=company, critical=critical, plans=plans)
    ).forecast_items
    assert planned.filter(pl.col("source_id") == open_bill)["date"].unique().to_list() == [day(40)]


# ---- disputed and very old invoices -------------------------------------------------------------
def test_disputed_and_very_old_invoices_weighted_by_history_and_left_out_of_p90() -> None:
    """History: two 5,000 invoices collected 100 and 110 days after due (10,000 collected of items
    that went past 90 days, 10 and 20 days past the 90th: median 15); still open 91+: one 10,000.
    Rate 10,000 / (10,000 + 10,000) = 0.5. P50: the old invoice 5,000 and the disputed 4,000 →
    2,000, both on day 15; P90: neither."""
    c = Company("r-doubt")
    c.bank(100000)
    client = c.customer("Slowco")
    for late in (100, 110):
        due = day(-300)
        inv = c.invoice(client, due - timedelta(days=30), due, 5000)
        c.pay_invoice(inv, due + timedelta(days=late))
    old = c.invoice(client, day(-150), day(-120), 10000)
    disputed = c.invoice(
        client, day(-20), day(10), 4000, PrivateNote="Disputed — awaiting revised scope"
    )
    view = run(c, expected_billing=False)
    inv = view.forecast_items.filter(pl.col("kind") == "invoice")
    p50 = {
        r["source_id"]: (r["date"], r["amount"])
        for r in inv.filter(pl.col("line") == "p50").iter_rows(named=True)
    }
    assert p50 == {old: (day(15), D("5000.00")), disputed: (day(15), D("2000.00"))}
    assert inv.filter(pl.col("line") == "p90").height == 0


# ---- recurring outflows: card statements, owner draws; own transfers neutral ---------------------
def test_card_payments_and_owner_draws_recur_and_own_transfers_stay_neutral() -> None:
    c = Company("r-rec")
    checking = c.bank(200000)
    savings = c.bank(50000, name="Savings")
    card = c.account("Amex", "Credit Card")
    draws = c.account("Owner's Draw", "Equity")

    def je(when: date, debit: str, amount: int) -> None:
        c.put(
            "JournalEntry",
            {
                "TxnDate": when.isoformat(),
                "TotalAmt": str(amount),
                "Line": [
                    {
                        "Amount": str(amount),
                        "JournalEntryLineDetail": {
                            "PostingType": posting,
                            "AccountRef": {"value": account},
                        },
                    }
                    for posting, account in (("Debit", debit), ("Credit", checking))
                ],
            },
        )

    for month in (7, 8, 9, 10, 11):
        je(date(2026, month, 12), card, 2000 + 100 * month)  # statements 2,700 … 3,100
        je(date(2026, month, 3), savings, 10000)  # to our own savings: neutral
        c.purchase(None, "", date(2026, month, 20), 8000, account=draws)
    view = run(c, expected_billing=False)
    rec = view.recurring.filter(pl.col("direction") == "outflow")
    kinds = {r["kind"]: r for r in rec.iter_rows(named=True)}
    assert set(kinds) == {"card_payment", "owner_draw"}
    # median of the last three statements (2,900, 3,000, 3,100), next on 12-12
    assert kinds["card_payment"]["amount"] == D("3000.00")
    assert kinds["card_payment"]["next_date"] == date(2026, 12, 12)
    assert kinds["owner_draw"]["amount"] == D("8000.00")
    assert kinds["owner_draw"]["next_date"] == date(2026, 12, 20)  # only paydays move
    out = view.forecast_items.filter(pl.col("line") == "p50")
    assert out.filter(pl.col("party").str.contains("Savings")).height == 0


# ---- paydays on the banking calendar ------------------------------------------------------------
def test_us_bank_holidays_and_the_business_day_before() -> None:
    assert us_bank_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 1, 19),
        date(2026, 2, 16),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 4),
        date(2026, 9, 7),
        date(2026, 10, 12),
        date(2026, 11, 11),
        date(2026, 11, 26),
        date(2026, 12, 25),
    }
    assert date(2027, 7, 5) in us_bank_holidays(2027)  # July 4th 2027 is a Sunday
    assert business_day_on_or_before(date(2026, 11, 15)) == date(2026, 11, 13)  # Sunday → Friday
    assert business_day_on_or_before(date(2027, 1, 1)) == date(2026, 12, 31)  # New Year's Day
    assert business_day_on_or_before(date(2026, 12, 25)) == date(2026, 12, 24)  # Christmas
    assert business_day_on_or_before(date(2027, 7, 5)) == date(2027, 7, 2)  # observed Monday
    assert business_day_on_or_before(date(2026, 12, 1)) == date(2026, 12, 1)


def test_payroll_on_a_weekend_or_holiday_runs_the_business_day_before() -> None:
    """Semi-monthly on the 1st and 15th: 2026-11-15 would be a Sunday (→ Friday 11-13 in the
    past), 12-01 a Tuesday, 12-15 a Tuesday, 2027-01-01 New Year's Day → 12-31, 01-15 a Friday,
    02-01 a Monday, 02-15 Washington's Birthday → Friday 02-12."""
    c = Company("r-pay")
    c.bank(900000)
    c.payroll_runs(
        [date(2026, m, d) for m in range(5, 12) for d in (1, 15) if date(2026, m, d) <= AS_OF],
        30000,
    )
    sched = run(c, expected_billing=False).recurring_schedule.filter(pl.col("kind") == "payroll")
    assert sched["date"].to_list()[:6] == [
        date(2026, 12, 1),
        date(2026, 12, 15),
        date(2026, 12, 31),
        date(2027, 1, 15),
        date(2027, 2, 1),
        date(2027, 2, 12),
    ]


# ---- the daily low, runway labels, firm ranking -------------------------------------------------
def test_mid_week_low_breaches_the_reserve_though_the_week_closes_above_it() -> None:
    """100,000; an 80,000 bill due day 2 (no history: paid on its due date); a 90,000 invoice due
    day 4 from a customer with no history (0 days late). Week 0 closes at 110,000 but is 20,000 on
    days 2–3: below the 50,000 reserve on day 2; zero is never reached."""
    c = Company("r-low")
    c.bank(100000)
    c.bill(c.vendor("Printer"), day(-28), day(2), 80000)
    c.invoice(c.customer("Client"), day(-26), day(4), 90000)
    view = run(c, expected_billing=False, reserve=D("50000"))
    week0 = view.forecast.filter((pl.col("line") == "p50") & (pl.col("week") == 0)).row(
        0, named=True
    )
    assert (week0["closing"], week0["low"], week0["low_date"]) == (
        D("110000.00"),
        D("20000.00"),
        day(2),
    )
    assert week0["below_reserve"] is True
    row = view.runway.row(0, named=True)
    assert row["breach_date"] == day(2) and row["runway_weeks"] == round(2 / 7, 1)
    assert row["zero_weeks"] is None and "reserve" in row["runway_label"]


def test_weeks_until_zero_and_simple_runway_words() -> None:
    """100,000 and a 150,000 bill due day 10: below zero on day 10 (1.4 weeks). Simple runway:
    no trailing outflow → "cash-flow positive"; 13 weekly checks of 10 from 100,000 → 10,000+
    weeks → "more than 2 years"; 13 weekly checks of 10,000 → 10.0 weeks."""
    c = Company("r-zero")
    c.bank(100000)
    c.bill(c.vendor("Printer"), day(-20), day(10), 150000)
    tiny, busy = Company("r-tiny"), Company("r-busy")
    for co, amount in ((tiny, 10), (busy, 10000)):
        co.bank(100000)
        shop = co.vendor("Shop")
        for k in range(13):
            co.purchase(shop, "Shop", day(-7 * k), amount)
    rows = {
        r["realm_id"]: r
        for r in run(c, tiny, busy, expected_billing=False).runway.iter_rows(named=True)
    }
    assert rows["r-zero"]["zero_date"] == day(10) and rows["r-zero"]["zero_weeks"] == 1.4
    assert rows["r-zero"]["simple_runway_text"] == "cash-flow positive"
    assert rows["r-tiny"]["simple_runway_text"] == "more than 2 years"
    assert rows["r-busy"]["simple_runway_weeks"] == 10.0
    assert rows["r-busy"]["simple_runway_text"] == "10.0 weeks"


def test_firm_exception_score_uses_the_p90_date() -> None:
    """P50: the customer pays 0 days late → 90,000 on day 4, the 80,000 bill on day 6 leaves
    110,000: no breach. P90 (late payer: 0, 0, 0, 0, 40 days → 24): the invoice lands day 28, the
    bill takes the balance to 20,000 on day 6 → below the 50,000 reserve within 4 weeks: +50."""
    c = Company("r-p90")
    c.bank(100000)
    client = c.customer("Client")
    for k, late in enumerate((0, 0, 0, 0, 40)):
        due = day(-200 + 25 * k)
        c.pay_invoice(
            c.invoice(client, due - timedelta(days=30), due, 100), due + timedelta(days=late)
        )
    c.invoice(client, day(-26), day(4), 90000)
    c.bill(c.vendor("Printer"), day(-24), day(6), 80000)
    view = run(c, expected_billing=False, reserve=D("50000"))
    run_row = view.runway.row(0, named=True)
    assert run_row["breach_date"] is None or run_row["breach_date"] > day(28)
    assert run_row["breach_date_p90"] == day(6)
    firm = view.firm.row(0, named=True)
    assert firm["runway_weeks_p90"] == round(6 / 7, 1) and firm["exception_score"] >= 50


def test_money_parked_in_undeposited_funds_reaches_the_bank_at_the_usual_deposit_lag() -> None:
    """Three 1,000 invoices paid on their due dates into Undeposited Funds, each deposited 4 days
    later: this customer's money reaches the bank 4 days after it pays. So its open 2,000 invoice
    due day 10 is collected day 14; a 500 payment received day −1 and not yet deposited arrives
    day 3 (received + 4). That payment is unapplied, a credit the invoice will absorb: the invoice
    brings 2,000 − 500 = 1,500 more, not counted twice."""
    c = Company("r-uf")
    bank = c.bank(10000)
    funds = c.account("Undeposited Funds", "Other Current Asset")
    client = c.customer("Client")

    def deposit(payment: str, when: date, amount: int) -> None:
        c.put(
            "Deposit",
            {
                "DepositToAccountRef": {"value": bank},
                "TxnDate": when.isoformat(),
                "TotalAmt": str(amount),
                "Line": [
                    {"Amount": str(amount), "LinkedTxn": [{"TxnId": payment, "TxnType": "Payment"}]}
                ],
            },
        )

    for due in (day(-60), day(-40), day(-20)):
        inv = c.invoice(client, due - timedelta(days=30), due, 1000)
        paid = c.payment(client, due, {inv: 1000}, DepositToAccountRef={"value": funds})
        c.edit("Invoice", inv, c.stamp, Balance="0")
        deposit(paid, due + timedelta(days=4), 1000)
    waiting = c.payment(client, day(-1), {}, unapplied=500, DepositToAccountRef={"value": funds})
    open_inv = c.invoice(client, day(-20), day(10), 2000)
    view = run(c, expected_billing=False)
    p50 = view.forecast_items.filter(pl.col("line") == "p50")
    got = {r["source_id"]: (r["kind"], r["date"], r["amount"]) for r in p50.iter_rows(named=True)}
    assert got[open_inv] == ("invoice", day(14), D("2000.00") - D("500.00"))
    assert got[waiting] == ("undeposited", day(3), D("500.00"))
    assert view.payers["deposit_days"].to_list() == [4]


# ---- known inflows net of open credits -----------------------------------------------------------
def _credit_memo(c: Company, customer: str, when: date, amount: int) -> str:
    return c.put(
        "CreditMemo",
        {
            "CustomerRef": {"value": customer},
            "TxnDate": when.isoformat(),
            "TotalAmt": str(amount),
            "Balance": str(amount),
        },
    )["Id"]


def _net_by_hand(amounts: list[int], credit: int) -> list[Decimal]:
    """The credit taken off the amounts in the order given, each at most to zero."""
    left, out = credit, []
    for amount in amounts:
        used = min(left, amount)
        left -= used
        out.append(D(amount - used).quantize(D("0.01")))
    return out


def test_open_credit_memo_and_unapplied_payment_reduce_the_earliest_collections() -> None:
    """Acme (pays on the due date) owes 2,000 due day 10 and 5,000 due day 20 and holds a credit
    memo of 3,000 plus an unapplied payment of 1,500: 4,500 of credit covers the first invoice
    (no cash for it) and 2,500 of the second. Beta, without credit, is untouched."""
    c = Company("r-cred")
    c.bank(50000)
    acme = monthly_client(c)
    first = c.invoice(acme, day(-20), day(10), 2000)
    second = c.invoice(acme, day(-10), day(20), 5000)
    _credit_memo(c, acme, day(-5), 3000)
    c.payment(acme, day(-3), {}, unapplied=1500)
    beta = c.customer("Beta")
    other = c.invoice(beta, day(-5), day(15), 1000)
    view = run(c, expected_billing=False)
    for line in ("p50", "p90"):
        got = view.forecast_items.filter(
            (pl.col("kind") == "invoice") & (pl.col("line") == line)
        ).select("source_id", "date", "amount")
        by_doc = {r["source_id"]: (r["date"], r["amount"]) for r in got.iter_rows(named=True)}
        want = _net_by_hand([2000, 5000], 3000 + 1500)
        assert by_doc[first] == (day(10), want[0]) and want[0] == D("0.00")
        assert by_doc[second] == (day(20), want[1])
        assert by_doc[other] == (day(15), D("1000.00"))
    label = view.forecast_items.filter(pl.col("source_id") == first)["label"][0]
    assert "covered by this customer's open credit" in label


def test_credit_beyond_the_open_invoices_is_taken_off_the_next_expected_invoices() -> None:
    """Acme bills 12,000 monthly (expected P50 on days 31 and 61, P90 9,000 on days 38 and 68; see
    the expected-billing test above) and holds a 14,000 credit memo with nothing open: its next
    invoices bring 0 and 10,000 on P50, 0 and 4,000 on P90."""
    c = Company("r-cred2")
    c.bank(50000)
    acme = monthly_client(c)
    _credit_memo(c, acme, day(-2), 14000)
    view = run(c)
    assert items(view, "expected") == list(
        zip([day(31), day(61)], _net_by_hand([12000, 12000], 14000), strict=True)
    )
    assert items(view, "expected", "p90") == list(
        zip([day(38), day(68)], _net_by_hand([9000, 9000], 14000), strict=True)
    )


# ---- transfers, refunds and cash sales in recurring detection -----------------------------------
def _transfer(c: Company, when: date, source: str, target: str, amount: int) -> None:
    c.put(
        "Transfer",
        {
            "TxnDate": when.isoformat(),
            "Amount": str(amount),
            "FromAccountRef": {"value": source},
            "ToAccountRef": {"value": target},
        },
    )


def test_card_statements_paid_by_transfer_recur_and_transfers_to_savings_stay_neutral() -> None:
    """Statements of 2,700 … 3,100 paid by Transfer on the 12th of July … November: a monthly
    card payment of 3,000 (median of the last three), next on 12-12, forecast on the 12th of each
    month in the 13 weeks. The 10,000 swept to savings on the 3rd of each month is no outflow."""
    c = Company("r-xfer")
    checking = c.bank(200000)
    savings = c.bank(50000, name="Savings")
    card = c.account("Amex", "Credit Card")
    for month in (7, 8, 9, 10, 11):
        _transfer(c, date(2026, month, 12), checking, card, 2000 + 100 * month)
        _transfer(c, date(2026, month, 3), checking, savings, 10000)
    view = run(c, expected_billing=False)
    rec = view.recurring.filter(pl.col("direction") == "outflow")
    assert rec["kind"].to_list() == ["card_payment"]
    row = rec.row(0, named=True)
    assert (row["amount"], row["next_date"]) == (D("3000.00"), date(2026, 12, 12))
    out = view.forecast_items.filter(pl.col("line") == "p50")
    assert sorted(out.filter(pl.col("kind") == "recurring")["date"].to_list()) == [
        date(2026, 12, 12),
        date(2027, 1, 12),
        date(2027, 2, 12),
    ]
    assert set(out["amount"].to_list()) == {D("3000.00")}
    assert out.filter(pl.col("party").str.contains("Savings")).height == 0


def test_refunds_paid_from_the_bank_are_outflow_events_and_cash_sales_are_billing() -> None:
    """A refund of 600 paid from checking is an outflow of kind "refund" to that customer; one
    paid from another account is not cash out. Five monthly cash sales of 4,000 (days −150 …
    −30, no invoices) are billing: 20,000 over the 150 days to the next one due → 4,000 every
    30 days, expected on days 1, 31, 61 at 0 days' terms (P90: 3,000 a week later)."""
    from runway.recurring import outflow_events

    c = Company("r-sales")
    checking = c.bank(50000)
    other = c.account("Undeposited Funds", "Other Current Asset")
    shop = c.customer("Walk-in Workshop")
    for k in range(5):
        c.put(
            "SalesReceipt",
            {
                "CustomerRef": {"value": shop},
                "TxnDate": day(-150 + 30 * k).isoformat(),
                "TotalAmt": "4000",
                "DepositToAccountRef": {"value": checking},
            },
        )
    for source, amount in ((checking, 600), (other, 250)):
        c.put(
            "RefundReceipt",
            {
                "CustomerRef": {"value": shop},
                "TxnDate": day(-12).isoformat(),
                "TotalAmt": str(amount),
                "DepositToAccountRef": {"value": source},
            },
        )
    snap = snapshot(c)
    events = outflow_events(
        snap["purchase"],
        journal_entries=snap["journal_entry"],
        bills=snap["bill"],
        accounts=snap["account"],
        vendors=snap["vendor"],
        as_of=AS_OF,
        refunds=snap["refund_receipt"],
        customers=snap["customer"],
    )
    assert events.select("kind", "party", "date", "amount").rows() == [
        ("refund", "Refunds to Walk-in Workshop", day(-12), D("600.00"))
    ]
    view = run(c)
    cent = D("0.01")
    per = (D(5 * 4000) * 30 / 150).quantize(cent)
    assert items(view, "expected") == [(day(n), per) for n in (1, 31, 61)]
    p90 = (per * D("0.75")).quantize(cent)
    assert items(view, "expected", "p90") == [(day(n + 7), p90) for n in (1, 31, 61)]


def test_burn_sees_cash_sales_refunds_card_transfers_and_credit_line_draws() -> None:
    """Trailing 13 weeks: a cash sale of 9,100 in, a refund of 1,300 out, card statements of
    2,600 paid by Transfer, a line-of-credit draw of 5,200 in, 20,000 swept to savings (neutral),
    an old sale before the window ignored: net out = 1,300 + 2,600 − 9,100 − 5,200 = −10,400,
    −800 a week."""
    from runway.horizon import trailing_net_outflow

    c = Company("r-burn")
    checking = c.bank(100000)
    savings = c.bank(0, name="Savings")
    card = c.account("Amex", "Credit Card")
    loc = c.account("Line of Credit", "Other Current Liability")
    shop = c.customer("Walk-in")
    for when, amount in ((day(-20), 9100), (day(-120), 7000)):
        c.put(
            "SalesReceipt",
            {
                "CustomerRef": {"value": shop},
                "TxnDate": when.isoformat(),
                "TotalAmt": str(amount),
                "DepositToAccountRef": {"value": checking},
            },
        )
    c.put(
        "RefundReceipt",
        {
            "CustomerRef": {"value": shop},
            "TxnDate": day(-10).isoformat(),
            "TotalAmt": "1300",
            "DepositToAccountRef": {"value": checking},
        },
    )
    _transfer(c, day(-30), checking, card, 2600)
    _transfer(c, day(-40), loc, checking, 5200)
    _transfer(c, day(-50), checking, savings, 20000)
    got = trailing_net_outflow(snapshot(c), AS_OF)["avg_weekly_net_outflow"][0]
    assert got == (D(1300 + 2600 - 9100 - 5200) / 13).quantize(D("0.01"))


# ---- seasonality in expected billing -----------------------------------------------------------
def test_expected_billing_follows_the_customers_same_month_last_year() -> None:
    """Acme billed 10,000 on the 1st of every month from 2025-11 (30-day terms, paid when due),
    but 16,000 in 2025-12: over the last 12 months it averaged 126,000 ÷ 12 = 10,500, so this
    December is expected at 1 + ½ × (16,000 ÷ 10,500 − 1) = 1.26 × its run-rate, January at
    1 + ½ × (10,000 ÷ 10,500 − 1) = 0.98 ×. Run-rate: 6 invoices (60,000) in 26 weeks over the 184
    days from 06-01 to the next one due (12-02), every 31 days."""
    c = Company("r-season")
    c.bank(50000)
    acme = c.customer("Acme")
    months = [date(2025, 11, 1)] + [
        date(2025 + (m > 12), (m - 1) % 12 + 1, 1) for m in range(12, 24)
    ]
    for first in months:
        amount = 16000 if first == date(2025, 12, 1) else 10000
        inv = c.invoice(acme, first, first + timedelta(days=30), amount)
        if first + timedelta(days=30) <= AS_OF:
            c.pay_invoice(inv, first + timedelta(days=30))
    view = run(c)
    per = D(60000) / 184 * 31
    average = D(16000 + 11 * 10000) / 12
    dec, jan = (round(1 + (amount / average - 1) / 2, 2) for amount in (D(16000), D(10000)))
    cent = D("0.01")
    assert (dec, jan) == (D("1.26"), D("0.98"))
    assert items(view, "expected") == [
        (date(2027, 1, 1), (per * dec).quantize(cent)),  # invoiced 12-02, 30 days' terms
        (date(2027, 2, 1), (per * jan).quantize(cent)),
    ]
    label = view.forecast_items.filter(pl.col("kind") == "expected")["label"][0]
    assert "× 1.26 for the season" in label
