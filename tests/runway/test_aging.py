"""Aging: QBO buckets, open = Balance, voids/deletes out, unapplied on its own line, FX never silently summed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from runway.aging import ap_aging, ar_aging
from tests.runway.conftest import AS_OF, small_company
from tests.runway.factory import snapshot, ts

D = Decimal


def test_bucket_boundaries_follow_qbo_days_past_due() -> None:
    c = small_company()
    cust = c.customer("Client")
    ages = {
        0: "Current",
        -5: "Current",
        1: "1-30",
        30: "1-30",
        31: "31-60",
        60: "31-60",
        61: "61-90",
        90: "61-90",
        91: "91+",
        400: "91+",
    }
    ids = {
        c.invoice(cust, AS_OF - timedelta(days=500), AS_OF - timedelta(days=n), 100): n
        for n in ages
    }
    detail = ar_aging(snapshot(c), AS_OF).detail
    got = {ids[row["doc_id"]]: row["bucket"] for row in detail.iter_rows(named=True)}
    assert got == ages
    assert detail["bucket"].dtype == pl.Enum(["Current", "1-30", "31-60", "61-90", "91+"])


def test_due_today_is_current_and_no_due_date_ages_from_txn_date() -> None:
    c = small_company()
    cust = c.customer("Client")
    today = c.invoice(cust, AS_OF - timedelta(days=30), AS_OF, 100)
    on_receipt = c.invoice(cust, AS_OF - timedelta(days=10), AS_OF - timedelta(days=10), 200)
    undated = c.invoice(cust, AS_OF - timedelta(days=45), None, 300)
    detail = ar_aging(snapshot(c), AS_OF).detail.sort("doc_id")
    rows = {r["doc_id"]: (r["days_past_due"], r["bucket"]) for r in detail.iter_rows(named=True)}
    assert rows[today] == (0, "Current")
    assert rows[on_receipt] == (10, "1-30")
    assert rows[undated] == (45, "31-60")


def test_partial_unapplied_voided_deleted_and_inactive_customer() -> None:
    c = small_company()
    active = c.customer("Active")
    gone = c.customer("Gone Inc", active=False)
    partial = c.invoice(active, AS_OF - timedelta(days=40), AS_OF - timedelta(days=10), 1000)
    c.payment(active, AS_OF - timedelta(days=5), {partial: 400}, unapplied=250)
    c.edit("Invoice", partial, ts(AS_OF - timedelta(days=5)), Balance="600")
    c.invoice(gone, AS_OF - timedelta(days=100), AS_OF - timedelta(days=70), 700)
    voided = c.invoice(active, AS_OF - timedelta(days=20), AS_OF, 500)
    c.edit(
        "Invoice",
        voided,
        ts(AS_OF - timedelta(days=2)),
        TotalAmt="0",
        Balance="0",
        PrivateNote="Voided by owner",
    )
    deleted = c.invoice(active, AS_OF - timedelta(days=20), AS_OF, 900)
    c.delete("Invoice", deleted, ts(AS_OF - timedelta(days=1)))
    side = ar_aging(snapshot(c), AS_OF)
    totals = side.totals.row(0, named=True)
    assert totals["total"] == D(
        "1300.00"
    )  # 600 open of the partial + 700 from the inactive customer
    assert totals["d1_30"] == D("600.00") and totals["d61_90"] == D("700.00")
    assert totals["unapplied"] == D("250.00") and totals["net_total"] == D("1050.00")
    assert set(side.detail["doc_id"]) == {
        partial,
        side.detail.filter(pl.col("party_name") == "Gone Inc")["doc_id"][0],
    }
    by_party = {
        r["party_name"]: (r["total"], r["unapplied"]) for r in side.by_party.iter_rows(named=True)
    }
    assert by_party == {"Active": (D("600.00"), D("250.00")), "Gone Inc": (D("700.00"), D("0.00"))}


def test_multi_currency_converted_with_rate_or_excluded_with_note() -> None:
    c = small_company()
    cust = c.customer("Euro Client")
    c.invoice(
        cust,
        AS_OF - timedelta(days=5),
        AS_OF + timedelta(days=25),
        1000,
        currency="EUR",
        rate="1.10",
    )
    lost = c.invoice(
        cust, AS_OF - timedelta(days=5), AS_OF + timedelta(days=25), 2000, currency="GBP"
    )
    side = ar_aging(snapshot(c), AS_OF)
    assert side.totals["total"][0] == D("1100.00")
    assert side.totals["excluded_count"][0] == 1
    row = side.excluded.row(0, named=True)
    assert row["doc_id"] == lost and row["currency"] == "GBP" and "exchange rate" in row["note"]


def test_leap_day_and_month_ends() -> None:
    leap = date(2028, 2, 29)
    c = small_company()
    cust = c.customer("Client")
    ids = {
        c.invoice(cust, date(2027, 12, 1), date(2027, 12, 31), 100): (60, "31-60"),
        c.invoice(cust, date(2028, 1, 1), date(2028, 1, 31), 200): (29, "1-30"),
        c.invoice(cust, date(2028, 2, 1), date(2028, 2, 29), 300): (0, "Current"),
        c.invoice(cust, date(2027, 11, 1), date(2027, 11, 30), 400): (91, "91+"),
    }
    detail = ar_aging(snapshot(c), leap).detail
    got = {r["doc_id"]: (r["days_past_due"], r["bucket"]) for r in detail.iter_rows(named=True)}
    assert got == ids


def test_documents_dated_after_as_of_are_not_yet_open_and_ap_works_the_same() -> None:
    c = small_company()
    vendor = c.vendor("Supplier")
    c.bill(vendor, AS_OF - timedelta(days=50), AS_OF - timedelta(days=35), 800, balance=300)
    c.bill(vendor, AS_OF + timedelta(days=1), AS_OF + timedelta(days=31), 999)
    totals = ap_aging(snapshot(c), AS_OF).totals.row(0, named=True)
    assert (
        totals["total"] == D("300.00")
        and totals["d31_60"] == D("300.00")
        and totals["unapplied"] == D("0.00")
    )


def test_company_without_documents_has_zero_totals() -> None:
    totals = ar_aging(snapshot(small_company()), AS_OF).totals.row(0, named=True)
    assert totals["total"] == D("0.00") and totals["open_count"] == 0


@hsettings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-60, 400), st.integers(1, 10_000_000), st.integers(0, 100)),
        min_size=0,
        max_size=30,
    )
)
def test_bucket_totals_equal_the_open_total(docs: list[tuple[int, int, int]]) -> None:
    c = small_company()
    cust = c.customer("Client")
    expected = Decimal(0)
    for age, cents, paid_pct in docs:
        total = Decimal(cents) / 100
        balance = (total * (100 - paid_pct) / 100).quantize(Decimal("0.01"))
        expected += balance
        c.invoice(
            cust, AS_OF - timedelta(days=500), AS_OF - timedelta(days=age), total, balance=balance
        )
    totals = ar_aging(snapshot(c), AS_OF).totals.row(0, named=True)
    buckets = sum(totals[k] for k in ("current", "d1_30", "d31_60", "d61_90", "d91_plus"))
    assert buckets == totals["total"] == expected


def test_past_as_of_adds_back_payments_made_after_it() -> None:
    c = small_company()
    cust = c.customer("Client")
    inv = c.invoice(cust, AS_OF - timedelta(days=40), AS_OF - timedelta(days=10), 1000)
    c.pay_invoice(inv, AS_OF + timedelta(days=2))  # paid after as_of: the current Balance is 0
    vendor = c.vendor("Supplier")
    bill = c.bill(vendor, AS_OF - timedelta(days=40), AS_OF - timedelta(days=10), 500, balance=0)
    c.put(
        "BillPayment",
        {
            "VendorRef": {"value": vendor},
            "TxnDate": (AS_OF + timedelta(days=1)).isoformat(),
            "TotalAmt": "500",
            "PayType": "Check",
            "Line": [{"Amount": "500", "LinkedTxn": [{"TxnId": bill, "TxnType": "Bill"}]}],
        },
    )
    snap = snapshot(c)
    assert ar_aging(snap, AS_OF).totals["d1_30"][0] == D("1000.00")
    assert ap_aging(snap, AS_OF).totals["d1_30"][0] == D("500.00")
    assert ar_aging(snap, AS_OF + timedelta(days=2)).totals["total"][0] == D("0.00")
