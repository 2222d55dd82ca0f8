"""The prep tray on hand-built companies (one case per rule), properties over random books and
over the demo firm, and payroll coverage's "covered" rule.

Expected figures are computed here from the documents (by hand or by a brute-force restatement of
the rule), never read back from the function under test."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runway.pipeline import CalculatorInputs, compute
from runway.settings import CompanySettings, confirmed_inflows_frame, frames_from_settings
from tests.runway.conftest import AS_OF
from tests.runway.factory import Company, snapshot, ts

D = Decimal
day = lambda n: timedelta(days=n)
HORIZON = AS_OF + day(14)
BILL_SECTIONS = {"must_pay", "can_delay", "check_first"}
INVOICE_SECTIONS = {"chase", "disputed", "apply_credit"}


def run(*companies: Company, plans: pl.DataFrame | None = None, **kw: Any):
    snap = snapshot(*companies)
    kw.setdefault("expected_billing", False)  # only documents already in the books
    by_realm = {c.realm_id: CompanySettings(**kw) for c in companies}
    company, critical = frames_from_settings(by_realm, snap.realm_ids)
    return compute(
        CalculatorInputs(
            snap,
            AS_OF,
            company=company,
            critical=critical,
            plans=plans,
            confirmed=confirmed_inflows_frame(by_realm, snap.realm_ids),
        )
    )


def sections_of(tray: pl.DataFrame, doc_type: str) -> dict[str, list[str]]:
    rows = tray.filter(pl.col("doc_type") == doc_type)
    return {
        doc: rows.filter(pl.col("doc_id") == doc)["section"].to_list()
        for doc in rows["doc_id"].unique()
    }


def row(tray: pl.DataFrame, doc_id: str) -> dict[str, Any]:
    (found,) = tray.filter(pl.col("doc_id") == doc_id).iter_rows(named=True)
    return found


# ---- bills: every one in exactly one section --------------------------------------------------
def test_every_open_bill_in_the_horizon_sits_in_exactly_one_section() -> None:
    c = Company("r-bills")
    c.bank(100000)
    studio, ink, lex, weekly = (
        c.vendor(n) for n in ("Studio North", "Ink & Paper", "Lexicon Partners", "Weekly Crew")
    )
    landlord, gusto = c.vendor("Downtown Properties"), c.vendor("Gusto Payroll")
    expected = {
        c.bill(studio, AS_OF - day(20), AS_OF + day(10), 1000): "can_delay",  # due in 10 days
        c.bill(studio, AS_OF - day(35), AS_OF - day(5), 1100): "can_delay",  # 5 days late
        c.bill(studio, AS_OF - day(50), AS_OF - day(20), 1200): "must_pay",  # past tolerance 14
        c.bill(studio, AS_OF - day(100), AS_OF - day(70), 1300): "must_pay",  # far past due
        c.bill(landlord, AS_OF - day(5), AS_OF + day(5), 5000): "must_pay",  # rent
        c.bill(gusto, AS_OF - day(2), AS_OF + day(3), 20000): "must_pay",  # payroll provider
    }
    later = c.bill(studio, AS_OF, AS_OF + day(30), 1400)  # due after the horizon: not in the tray
    c.bill(studio, AS_OF - day(30), AS_OF - day(10), 777, balance=0)  # paid
    twin_of_paid = c.bill(studio, AS_OF - day(27), AS_OF - day(7), 777)  # 3 days later
    first_open = c.bill(ink, AS_OF - day(10), AS_OF + day(5), 888)
    second_open = c.bill(ink, AS_OF - day(8), AS_OF + day(7), 888)
    c.bill(lex, AS_OF - day(60), AS_OF - day(40), 500, balance=0, DocNumber="INV-7")
    same_number = c.bill(lex, AS_OF - day(3), AS_OF + day(2), 650, DocNumber="INV-7")
    # a weekly crew billed the same amount exactly a week apart: not duplicates
    week_one = c.bill(weekly, AS_OF - day(14), AS_OF + day(1), 300)
    week_two = c.bill(weekly, AS_OF - day(7), AS_OF + day(8), 300)
    expected |= {
        twin_of_paid: "check_first",
        first_open: "can_delay",
        second_open: "check_first",
        same_number: "check_first",
        week_one: "can_delay",
        week_two: "can_delay",
    }
    tray = run(c).tray
    assert sections_of(tray, "bill") == {doc: [section] for doc, section in expected.items()}
    assert later not in tray["doc_id"].to_list()
    assert row(tray, twin_of_paid)["duplicate_of"] is not None
    assert row(tray, second_open)["duplicate_of"] == first_open
    for doc, section in expected.items():
        r = row(tray, doc)
        payroll = r["party_name"] == "Gusto Payroll"
        assert r["selectable"] is (section != "check_first" and not payroll)
        if not r["selectable"]:
            assert r["not_selectable_reason"]
    assert "payroll provider" in row(tray, list(expected)[5])["not_selectable_reason"]
    assert "past the 14-day delay tolerance" in row(tray, list(expected)[2])["reason"]


# ---- chase: ranked by likely cash; disputed, credits, calls, recent reminders -----------------
def _reminded_history(c: Company, customer: str, reminder_after_due: int, paid_after: int):
    for k in range(3):
        due = AS_OF - day(100 + 20 * k)
        sent = ts(due + day(reminder_after_due)).isoformat()
        inv = c.invoice(customer, due - day(30), due, 800, DeliveryInfo={"DeliveryTime": sent})
        c.pay_invoice(inv, due + day(reminder_after_due + paid_after))


def chase_company() -> tuple[Company, dict[str, str]]:
    c = Company("r-chase")
    c.bank(50000)
    a, b, h, lp = (
        c.customer(n, email=f"{n[0].lower()}@x.test")
        for n in ("Prompt Answerer", "Slow Answerer", "Hopeful New", "Late Payer")
    )
    _reminded_history(c, a, 10, 3)  # pays 3 days after a reminder: 3 of 3 within two weeks
    _reminded_history(c, b, 5, 30)  # pays 30 days after: 0 of 3 within two weeks
    for k, late in enumerate((30, 35, 40)):  # no reminders; paid 30, 35 and 40 days late
        due = AS_OF - day(200 + 20 * k)
        c.pay_invoice(c.invoice(lp, due - day(30), due, 500), due + day(late))
    docs = {
        "a": c.invoice(a, AS_OF - day(50), AS_OF - day(20), 1000),
        "b": c.invoice(b, AS_OF - day(50), AS_OF - day(20), 5000),
        "h": c.invoice(h, AS_OF - day(40), AS_OF - day(10), 3000),
        "l": c.invoice(lp, AS_OF - day(55), AS_OF - day(25), 2400),
    }
    caller = c.customer("No Mail Co", email=None)
    docs["call"] = c.invoice(caller, AS_OF - day(45), AS_OF - day(15), 700)
    contested = c.customer("Contested", email="c@x.test")
    docs["noted"] = c.invoice(
        contested,
        AS_OF - day(60),
        AS_OF - day(30),
        4000,
        PrivateNote="Disputed — awaiting client sign-off",
    )
    docs["flagged"] = c.invoice(contested, AS_OF - day(40), AS_OF - day(12), 900)
    credit = c.customer("Paid Ahead", email="p@x.test")
    docs["covered"] = c.invoice(credit, AS_OF - day(40), AS_OF - day(10), 500)
    docs["credit"] = c.payment(credit, AS_OF - day(3), {}, unapplied=600)
    short = c.customer("Small Credit", email="s@x.test")
    docs["short"] = c.invoice(short, AS_OF - day(40), AS_OF - day(10), 500)
    c.payment(short, AS_OF - day(3), {}, unapplied=100)
    recent = c.customer("Just Reminded", email="r@x.test")
    docs["recent"] = c.invoice(
        recent,
        AS_OF - day(40),
        AS_OF - day(10),
        650,
        DeliveryInfo={"DeliveryTime": ts(AS_OF - day(2)).isoformat()},
    )
    return c, docs


def test_chase_ranks_by_likely_cash_and_sets_apart_what_is_not_chased() -> None:
    c, docs = chase_company()
    tray = run(c, disputed_invoices=[docs["flagged"]]).tray
    chase = tray.filter(pl.col("section") == "chase").sort("rank")
    # likelihoods by hand: a 3/3 after reminders; b 0/3; h none of its own -> the company's
    # reminder history (3 of 6); l no reminders -> its lateness, P50 35 and P90 39 days (linear
    # quantiles of 30, 35, 40): at 25 days late nothing is due yet by its habit (0% paid), by
    # 25 + 14 = 39 days 90% is -> 0.9
    share = {"a": 1.0, "b": 0.0, "h": 0.5, "l": 0.9}
    amounts = {"a": 1000, "b": 5000, "h": 3000, "l": 2400}
    expected_cash = {k: amounts[k] * share[k] for k in share}
    for key, value in share.items():
        r = row(tray, docs[key])
        assert r["section"] == "chase" and r["collect_share"] == value
        assert r["expected_collection"] == D(str(expected_cash[key])).quantize(D("0.01"))
    order = [k for k, _ in sorted(expected_cash.items(), key=lambda kv: -kv[1])]
    ranked = [d for d in chase["doc_id"].to_list() if d in {docs[k] for k in order}]
    assert ranked == [docs[k] for k in order]
    # reminder lag: a pays 3 days after a reminder; the others use the company's median (16.5)
    assert row(tray, docs["a"])["likely_paid_on"] == AS_OF + day(3)
    assert row(tray, docs["h"])["likely_paid_on"] == AS_OF + day(17)
    # set apart
    assert row(tray, docs["noted"])["section"] == "disputed"
    assert row(tray, docs["flagged"])["section"] == "disputed"
    covered = row(tray, docs["covered"])
    assert covered["section"] == "apply_credit" and covered["action"] == "apply_credit"
    assert (covered["credit_type"], covered["credit_id"]) == ("Payment", docs["credit"])
    assert covered["credit_amount"] == D("600.00") and covered["selectable"]
    assert row(tray, docs["short"])["section"] == "chase"  # 100 of credit does not cover 500
    call = row(tray, docs["call"])
    assert call["section"] == "chase" and call["contact"] == "call" and not call["selectable"]
    recent = row(tray, docs["recent"])
    assert recent["section"] == "chase" and recent["reminded_on"] == AS_OF - day(2)
    assert not recent["selectable"] and "reminded on" in recent["reason"]


def test_dispute_flag_set_and_cleared_from_settings(settings) -> None:
    from runway.settings import (
        SettingsError,
        clear_invoice_disputed,
        get_company_settings,
        set_invoice_disputed,
    )

    set_invoice_disputed(settings, "r1", "42")
    set_invoice_disputed(settings, "r1", "42")  # idempotent
    set_invoice_disputed(settings, "r1", "43")
    assert get_company_settings(settings, "r1").disputed_invoices == ["42", "43"]
    clear_invoice_disputed(settings, "r1", "42")
    assert get_company_settings(settings, "r1").disputed_invoices == ["43"]
    with pytest.raises(SettingsError, match="invoice_id"):
        set_invoice_disputed(settings, "r1", "  ")


# ---- payroll coverage ---------------------------------------------------------------------
def coverage_company(*bills: tuple[int, int]) -> Company:
    """40k in the bank, 70k payroll on the 1st and 15th, a 50k invoice due 11-23 from a customer
    whose P50 lag is 0 days and P90 lag 21 days (late days 0, 0, 0, 30): collected before the
    12-01 payroll on the P50 line, after it on the P90 line. ``bills``: (due offset, amount)."""
    c = Company("r-pay")
    c.bank(40000)
    client = c.customer("Mostly On Time", email="m@x.test")
    for k, late in enumerate((0, 0, 0, 30)):
        due = AS_OF - day(60 + 20 * k)
        c.pay_invoice(c.invoice(client, due - day(30), due, 1000), due + day(late))
    c.invoice(client, AS_OF - day(27), AS_OF + day(3), 50000)
    c.payroll_runs(
        [date(2026, m, d) for m in range(5, 12) for d in (1, 15) if date(2026, m, d) <= AS_OF],
        70000,
    )
    studio = c.vendor("Studio North")
    for due_in, amount in bills:
        c.bill(studio, AS_OF + day(due_in - 30), AS_OF + day(due_in), amount)
    return c


def test_payroll_covered_only_at_p90_and_shortfall_in_dollars() -> None:
    first = run(coverage_company()).payroll.row(0, named=True)
    assert first["date"] == date(2026, 12, 1) and first["amount"] == D("70000.00")
    assert first["coverage"] == round(40000 / 70000, 3)
    assert first["coverage_p50"] == round(90000 / 70000, 3)
    assert first["status"] == "amber"  # covered only if the client pays on its usual day
    assert first["covered"] is False and first["payrolls_covered"] == 0
    assert first["shortfall"] == D("30000.00")
    assert "short by $30,000" in first["label"] and not first["label"].startswith("covered ")


def test_coverage_leaves_out_bills_the_tray_can_delay_past_the_payday() -> None:
    base = run(coverage_company()).payroll.row(0, named=True)["coverage"]
    # due 11-22: may wait until 12-06, after the 12-01 payday -> not counted against it
    delayable = run(coverage_company((2, 5000))).payroll.row(0, named=True)["coverage"]
    # due 11-10: may wait only until 11-24, before the payday -> counted
    counted = run(coverage_company((-10, 3000))).payroll.row(0, named=True)["coverage"]
    assert delayable == base == round(40000 / 70000, 3)
    assert counted == round(37000 / 70000, 3)


# ---- effects: re-runs where the owner feels them ---------------------------------------------
def payday_balance(items: pl.DataFrame, payday: date, moved: dict[str, date | None]) -> Decimal:
    """Cash + every P50 item up to the end of the payday, with ``moved`` items at new dates
    (None: left out) — the forecast re-run by plain summation."""
    total = D("0")
    for r in items.filter(pl.col("line") == "p50").iter_rows(named=True):
        when = moved.get(r["source_id"], r["date"]) if r["source_id"] in moved else r["date"]
        if when is None or max(when, AS_OF) > payday:
            continue
        total += r["amount"] if r["direction"] == "in" else -r["amount"]
    return total


def test_delay_and_chase_effects_equal_independent_reruns() -> None:
    c = Company("r-fx")
    c.bank(100000)
    c.payroll_runs(
        [date(2026, m, d) for m in range(5, 12) for d in (1, 15) if date(2026, m, d) <= AS_OF],
        70000,
    )
    studio = c.vendor("Studio North")
    bill = c.bill(studio, AS_OF - day(27), AS_OF + day(3), 8000)  # may wait until 12-07
    client = c.customer("Prompt Answerer", email="a@x.test")
    _reminded_history(c, client, 10, 3)
    invoice = c.invoice(client, AS_OF - day(45), AS_OF - day(15), 6000)
    view = run(c)
    payday = view.payroll.row(0, named=True)["date"]
    cash = view.cash_position["cash"][0]
    items = view.forecast_items
    delay = row(view.tray, bill)
    assert delay["section"] == "can_delay" and delay["latest_safe_date"] == AS_OF + day(17)
    assert delay["payday"] == payday == date(2026, 12, 1)
    assert delay["payday_balance_before"] == cash + payday_balance(items, payday, {bill: AS_OF})
    assert delay["payday_balance_after"] == cash + payday_balance(
        items, payday, {bill: AS_OF + day(17)}
    )
    assert delay["payday_balance_after"] - delay["payday_balance_before"] == D("8000.00")
    assert delay["effect_text"] and "payday Tue 1 Dec 2026" in delay["effect_text"]
    # weeks to the reserve: the same as the whole pipeline re-run with the bill planned then
    plans = pl.DataFrame(
        {"realm_id": ["r-fx"], "bill_id": [bill], "planned_date": [AS_OF + day(17)], "note": [""]}
    )
    replanned = run(c, plans=plans)
    assert delay["reserve_weeks_after"] == replanned.runway["runway_weeks"][0]
    chase = row(view.tray, invoice)
    assert chase["likely_paid_on"] == AS_OF + day(3)
    assert chase["payday_balance_before"] == cash + payday_balance(items, payday, {invoice: None})
    assert chase["payday_balance_after"] == cash + payday_balance(
        items, payday, {invoice: AS_OF + day(3)}
    )
    assert chase["payday_balance_after"] - chase["payday_balance_before"] == D("6000.00")
    assert chase["coverage_before"] < chase["coverage_after"]


def written(when: date) -> str:
    """A date as the product writes it in row text ("Fri 20 Nov 2026"), restated here."""
    return f"{when:%a} {when.day} {when:%b %Y}"


def moved_low(
    items: pl.DataFrame,
    cash: Decimal,
    days: list[date],
    before: dict[str, date | None],
    after: dict[str, date | None],
) -> tuple[date, Decimal, Decimal]:
    """The lowest "before" balance among ``days`` (the earliest on a tie) and the "after"
    balance that day — both by plain summation of the items (``payday_balance``)."""
    low = min(days, key=lambda d: (payday_balance(items, d, before), d))
    return low, cash + payday_balance(items, low, before), cash + payday_balance(items, low, after)


def test_a_delay_paid_before_the_payday_either_way_lifts_the_days_until_then() -> None:
    c = Company("r-low")
    c.bank(400000)
    c.payroll_runs(
        [date(2026, m, d) for m in range(5, 12) for d in (1, 15) if date(2026, m, d) <= AS_OF],
        70000,
    )
    studio = c.vendor("Studio North")
    bill = c.bill(studio, AS_OF - day(40), AS_OF - day(10), 3000)  # may wait until 11-24
    c.bill(studio, AS_OF - day(30), AS_OF + day(1), 5000)  # paid tomorrow: a lower day after
    view = run(c)
    delay = row(view.tray, bill)
    payday = view.payroll.row(0, named=True)["date"]
    safe = AS_OF + day(4)
    assert delay["section"] == "can_delay" and delay["latest_safe_date"] == safe < payday
    # paid before the payday either way: the payday, its coverage and the reserve do not move
    assert delay["payday_balance_before"] == delay["payday_balance_after"]
    assert delay["reserve_weeks_before"] == delay["reserve_weeks_after"]
    # what moves: the balance from today until the latest safe date, lifted by the bill
    items = view.forecast_items
    (paid_on,) = items.filter((pl.col("source_id") == bill) & (pl.col("line") == "p50"))["date"]
    later = max(paid_on, safe)
    moved = [AS_OF + day(k) for k in range((later - AS_OF).days)]
    low, before, after = moved_low(
        items, view.cash_position["cash"][0], moved, {bill: AS_OF}, {bill: later}
    )
    assert low == AS_OF + day(1)  # the 5,000 bill of tomorrow makes it the low point
    assert (delay["moved_low_date"], delay["moved_low_before"], delay["moved_low_after"]) == (
        low,
        before,
        after,
    )
    assert after - before == D("3000.00")
    assert delay["effect_text"] == (f"balance on {written(low)}: ${before:,.0f} → ${after:,.0f}")
    assert delay["no_effect_reason"] is None


def test_rows_without_an_effect_say_why() -> None:
    c, docs = chase_company()
    tray = run(c, disputed_invoices=[docs["flagged"]]).tray
    quiet = tray.filter(pl.col("effect_text").is_null())
    assert quiet.height > 0
    assert quiet["no_effect_reason"].null_count() == 0
    assert tray.filter(pl.col("effect_text").is_not_null())["no_effect_reason"].null_count() == (
        tray.filter(pl.col("effect_text").is_not_null()).height
    )


# ---- properties: random books -----------------------------------------------------------------
def brute_duplicates(bills: list[dict[str, Any]]) -> set[str]:
    """Open bills that repeat another bill of the vendor (same amount < 7 days apart, or the same
    vendor invoice number) that is paid or an earlier open one: the rule, pair by pair."""
    out = set()
    for x in bills:
        if x["balance"] <= 0:
            continue
        for y in bills:
            if y["id"] == x["id"] or y["vendor"] != x["vendor"]:
                continue
            same_number = bool(x["number"]) and x["number"] == y["number"]
            close = abs((x["txn"] - y["txn"]).days) < 7 and x["total"] == y["total"]
            earlier = (y["txn"], int(y["id"])) < (x["txn"], int(x["id"]))
            if (same_number or close) and (y["balance"] <= 0 or earlier):
                out.add(x["id"])
    return out


BILL = st.tuples(
    st.integers(0, 2),  # vendor
    st.sampled_from([250, 300, 999]),  # amount
    st.integers(-80, 0),  # entered, days from as_of
    st.sampled_from([None, 0, 15, 30]),  # due after entry (None: no due date)
    st.booleans(),  # paid
    st.sampled_from([None, "", "A1", "A2"]),  # vendor invoice number
)
INVOICE = st.tuples(
    st.integers(0, 3),  # customer
    st.sampled_from([400, 700, 1500]),
    st.integers(-90, 0),
    st.sampled_from([15, 30]),
    st.booleans(),  # a dispute note
    st.booleans(),  # reminded (DeliveryInfo) two days ago
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bills=st.lists(BILL, max_size=12),
    invoices=st.lists(INVOICE, max_size=10),
    credits=st.lists(st.tuples(st.integers(0, 3), st.sampled_from([100, 500, 2000])), max_size=4),
    emails=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_property_random_books(bills, invoices, credits, emails) -> None:
    c = Company("r-prop")
    c.bank(30000)
    vendors = [c.vendor(f"Vendor {k}") for k in range(3)]
    customers = [
        c.customer(f"Client {k}", email=f"c{k}@x.test" if emails[k] else None) for k in range(4)
    ]
    made: list[dict[str, Any]] = []
    for vendor, amount, entered, due_in, paid, number in bills:
        txn = AS_OF + day(entered)
        due = None if due_in is None else txn + day(due_in)
        extra = {"DocNumber": number} if number is not None else {}
        doc_id = c.bill(vendors[vendor], txn, due, amount, balance=0 if paid else amount, **extra)
        made.append(
            {
                "id": doc_id,
                "vendor": vendor,
                "total": amount,
                "txn": txn,
                "due": due or txn,
                "balance": 0 if paid else amount,
                "number": (number or "").strip(),
            }
        )
    open_invoices = []
    for customer, amount, entered, terms, noted, reminded in invoices:
        txn = AS_OF + day(entered)
        extra: dict[str, Any] = {}
        if noted:
            extra["PrivateNote"] = "Disputed by the client"
        if reminded:
            extra["DeliveryInfo"] = {"DeliveryTime": ts(AS_OF - day(2)).isoformat()}
        doc = c.invoice(customers[customer], txn, txn + day(terms), amount, **extra)
        open_invoices.append((doc, customer, amount, txn + day(terms)))
    credit_of = [D("0")] * 4
    for customer, amount in credits:
        c.payment(customers[customer], AS_OF - day(1), {}, unapplied=amount)
        credit_of[customer] += amount
    tray = run(c).tray
    # every open bill due in the horizon (or overdue) in exactly one bill section, no other bill
    due_in_horizon = {b["id"] for b in made if b["balance"] > 0 and b["due"] <= HORIZON}
    bill_rows = tray.filter(pl.col("doc_type") == "bill")
    assert sorted(bill_rows["doc_id"].to_list()) == sorted(due_in_horizon)
    assert set(bill_rows["section"]) <= BILL_SECTIONS
    # no likely duplicate is payable
    dups = brute_duplicates(made) & due_in_horizon
    flagged = bill_rows.filter(pl.col("doc_id").is_in(list(dups)))
    assert set(flagged["section"]) <= {"check_first"} and not flagged["selectable"].any()
    assert set(bill_rows.filter(pl.col("section") == "check_first")["doc_id"]) == dups
    # every overdue invoice in exactly one invoice section; a chase row is never covered by credit
    overdue = {doc for doc, _, _, due in open_invoices if due < AS_OF}
    inv_rows = tray.filter(pl.col("doc_type") == "invoice")
    assert sorted(inv_rows["doc_id"].to_list()) == sorted(overdue)
    by_doc = {doc: (cust, amount) for doc, cust, amount, _ in open_invoices}
    for r in inv_rows.iter_rows(named=True):
        cust, amount = by_doc[r["doc_id"]]
        assert (r["section"] == "apply_credit") == (credit_of[cust] >= amount)
        if r["section"] == "chase":
            assert credit_of[cust] < amount
            assert r["contact"] == ("email" if emails[cust] else "call")


# ---- the demo firm ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_view(tmp_path_factory: pytest.TempPathFactory):
    """The demo firm built and synced with the product's own path, its firm view as of today."""
    from oodaloo.config import load_settings
    from runway.api import firm_view
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    data = tmp_path_factory.mktemp("tray-demo") / "data"
    data.mkdir()
    s = load_settings(data_dir=data)
    build_demo_firm(s.sandbox_path, seed=s.demo_seed, today=s.demo_today, companies=12)
    connect_sandbox_companies(s)
    sync_all(s)
    from runway.api import snapshot_for

    snap = snapshot_for(s, s.demo_today, today=s.demo_today)
    return firm_view(s, s.demo_today, snap), snap


def test_demo_firm_tray_invariants(demo_view) -> None:
    from runway.hygiene import likely_duplicates

    view, snap = demo_view
    tray, horizon = view.tray, view.as_of + day(14)
    open_bills = view.bills.filter(pl.col("aging_date") <= horizon)
    counted = tray.filter(pl.col("doc_type") == "bill").group_by("realm_id", "doc_id").len()
    joined = open_bills.select("realm_id", "doc_id").join(
        counted, on=["realm_id", "doc_id"], how="left"
    )
    assert joined["len"].to_list() == [1] * open_bills.height  # exactly one section each
    dups = likely_duplicates(snap["bill"], view.as_of).rename({"id": "doc_id"})
    payable = tray.join(dups, on=["realm_id", "doc_id"]).filter(pl.col("selectable"))
    assert dups.height > 0 and payable.height == 0
    hygiene_dups = view.hygiene.filter(pl.col("flag") == "duplicate_bill")
    in_horizon = hygiene_dups.join(open_bills, on=["realm_id", "doc_id"], how="semi")
    check = tray.filter(pl.col("section") == "check_first")
    assert in_horizon.join(check, on=["realm_id", "doc_id"], how="anti").height == 0
    # chase never names a customer whose credits cover the invoice
    # (credits straight from the documents: unapplied payments and open credit memos)
    live = ~pl.col("voided").fill_null(False) & (pl.col("txn_date") <= view.as_of)
    credit = (
        pl.concat(
            [
                snap["payment"]
                .filter(live)
                .select("realm_id", "customer_id", pl.col("unapplied_amt").alias("open")),
                snap["credit_memo"]
                .filter(live)
                .select("realm_id", "customer_id", pl.col("balance").alias("open")),
            ]
        )
        .group_by("realm_id", pl.col("customer_id").alias("party_id"))
        .agg(pl.col("open").fill_null(0).sum().alias("credit"))
    )
    chase = tray.filter(pl.col("section") == "chase").join(
        credit, on=["realm_id", "party_id"], how="left"
    )
    assert chase.filter(pl.col("credit").fill_null(D("0")) >= pl.col("amount")).height == 0
    # no payroll with P90 coverage below 1 is called covered
    pay = view.payroll
    assert pay.filter((pl.col("coverage") < 1) & pl.col("covered")).height == 0
    assert (
        pay.filter((pl.col("coverage") < 1) & pl.col("label").str.starts_with("covered ")).height
        == 0
    )
    # a row whose change moves neither the payday, the coverage nor the weeks to the reserve
    # shows the low point it moves, the same as re-running the items by hand
    items, cash = view.forecast_items, dict(view.cash_position.select("realm_id", "cash").rows())
    felt = tray.filter(pl.col("effect_text").str.starts_with("balance on "))
    assert felt.filter(pl.col("section") == "can_delay").height > 0
    for r in felt.filter(pl.col("section") == "can_delay").iter_rows(named=True):
        own = items.filter(pl.col("realm_id") == r["realm_id"])
        (paid_on,) = own.filter((pl.col("source_id") == r["doc_id"]) & (pl.col("line") == "p50"))[
            "date"
        ]
        later = max(paid_on, r["latest_safe_date"])
        moved = [view.as_of + day(k) for k in range((later - view.as_of).days)]
        low = moved_low(
            own, cash[r["realm_id"]], moved, {r["doc_id"]: view.as_of}, {r["doc_id"]: later}
        )
        assert (r["moved_low_date"], r["moved_low_before"], r["moved_low_after"]) == low
    # an expected recurring payment (rent, payroll) is re-run on the day the forecast pays it:
    # paying it lowers the balance it moves by exactly its amount
    expected = tray.filter(
        (pl.col("doc_type") == "recurring") & pl.col("scenario_id").is_not_null()
    )
    assert expected.height > 0
    for r in expected.iter_rows(named=True):
        assert r["moved_low_date"] is not None, r["scenario_id"]  # the re-run moved it
        assert r["moved_low_before"] - r["moved_low_after"] == r["amount"], r["doc_id"]
        assert r["moved_low_date"] >= r["due_date"] and r["effect_text"]
    # effects where the owner feels them: at least 80% of the Can Delay rows and, apart, of the
    # Chase rows (one section's long tail must not hide behind the other's)
    for section in ("can_delay", "chase"):
        rows = tray.filter(pl.col("section") == section)
        with_effect = rows.filter(pl.col("effect_text").is_not_null()).height
        assert rows.height > 0 and with_effect >= 0.8 * rows.height, (section, with_effect)
        assert rows.filter(pl.col("effect_text").is_null())["no_effect_reason"].null_count() == 0
