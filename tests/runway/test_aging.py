"""Aging: QBO buckets, open = Balance, voids/deletes out, credits and unapplied payments on their
own lines (negative, as QBO's reports show them), FX never silently summed; the demo firm ties out
to the sandbox's reports and to the raw documents; cash converts every bank account."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
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
    # documents: 600 open of the partial + 700 from the inactive customer; the 250 unapplied
    # payment (dated 5 days ago) is a credit in the 1-30 bucket, as QBO's report shows it
    assert totals["documents"] == D("1300.00") and totals["credits"] == D("250.00")
    assert totals["total"] == D("1050.00") == totals["net_total"]
    assert totals["d1_30"] == D("350.00") and totals["d61_90"] == D("700.00")
    assert totals["unapplied"] == D("250.00")
    assert set(side.detail["doc_id"]) == {
        partial,
        side.detail.filter(pl.col("party_name") == "Gone Inc")["doc_id"][0],
    }
    by_party = {
        r["party_name"]: (r["total"], r["unapplied"]) for r in side.by_party.iter_rows(named=True)
    }
    assert by_party == {"Active": (D("350.00"), D("250.00")), "Gone Inc": (D("700.00"), D("0.00"))}


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


# ---- credits: unit cases -------------------------------------------------------------------
def test_open_credit_memo_is_its_own_negative_line_aged_from_its_date() -> None:
    from runway.aging import customer_open_credits

    c = small_company()
    cust = c.customer("Client")
    c.invoice(cust, AS_OF - timedelta(days=60), AS_OF - timedelta(days=30), 1000)
    memo = c.put(
        "CreditMemo",
        {
            "CustomerRef": {"value": cust},
            "TxnDate": (AS_OF - timedelta(days=40)).isoformat(),
            "TotalAmt": "300",
            "Balance": "300",
        },
    )["Id"]
    side = ar_aging(snapshot(c), AS_OF)
    totals = side.totals.row(0, named=True)
    # invoice 1000 is 30 days late (1-30); the credit dated 40 days ago sits in 31-60 as -300
    assert totals["d1_30"] == D("1000.00") and totals["d31_60"] == D("-300.00")
    assert totals["total"] == D("700.00") and totals["documents"] == D("1000.00")
    assert totals["credits"] == D("300.00") and totals["unapplied"] == D("0.00")
    credit = side.credits.row(0, named=True)
    assert (credit["doc_id"], credit["kind"], credit["amount"], credit["bucket"]) == (
        memo,
        "CreditMemo",
        D("300.00"),
        "31-60",
    )
    assert memo not in set(side.detail["doc_id"])  # documents and credits never mix
    owed = customer_open_credits(snapshot(c), AS_OF).row(0, named=True)
    assert owed == {"realm_id": "r-small", "customer_id": cust, "open_credit": D("300.00")}


def test_credit_used_after_as_of_is_still_open_then_and_vendor_credits_age_on_ap() -> None:
    c = small_company()
    cust = c.customer("Client")
    inv = c.invoice(cust, AS_OF - timedelta(days=20), AS_OF + timedelta(days=10), 500, balance=0)
    memo = c.put(
        "CreditMemo",
        {
            "CustomerRef": {"value": cust},
            "TxnDate": (AS_OF - timedelta(days=5)).isoformat(),
            "TotalAmt": "200",
            "Balance": "0",
        },
    )["Id"]
    c.put(  # paid after as_of: 300 money + the 200 credit
        "Payment",
        {
            "CustomerRef": {"value": cust},
            "TxnDate": (AS_OF + timedelta(days=3)).isoformat(),
            "TotalAmt": "300",
            "UnappliedAmt": "0",
            "Line": [
                {"Amount": "500", "LinkedTxn": [{"TxnId": inv, "TxnType": "Invoice"}]},
                {"Amount": "200", "LinkedTxn": [{"TxnId": memo, "TxnType": "CreditMemo"}]},
            ],
        },
    )
    vendor = c.vendor("Supplier")
    c.bill(vendor, AS_OF - timedelta(days=10), AS_OF + timedelta(days=20), 800)
    c.put(
        "VendorCredit",
        {
            "VendorRef": {"value": vendor},
            "TxnDate": (AS_OF - timedelta(days=95)).isoformat(),
            "TotalAmt": "150",
            "Balance": "150",
        },
    )
    snap = snapshot(c)
    ar = ar_aging(snap, AS_OF).totals.row(0, named=True)
    assert (ar["current"], ar["d1_30"], ar["total"]) == (D("500.00"), D("-200.00"), D("300.00"))
    assert ar_aging(snap, AS_OF + timedelta(days=3)).totals["total"][0] == D("0.00")
    ap = ap_aging(snap, AS_OF).totals.row(0, named=True)
    assert (ap["current"], ap["d91_plus"], ap["total"]) == (D("800.00"), D("-150.00"), D("650.00"))


def test_foreign_credit_without_rate_is_flagged_never_summed() -> None:
    c = small_company()
    cust = c.customer("Euro Client")
    c.put(
        "CreditMemo",
        {
            "CustomerRef": {"value": cust},
            "TxnDate": (AS_OF - timedelta(days=5)).isoformat(),
            "TotalAmt": "90",
            "Balance": "90",
            "CurrencyRef": {"value": "EUR"},
        },
    )
    side = ar_aging(snapshot(c), AS_OF)
    assert side.totals["credits"][0] == D("0.00") and side.totals["excluded_count"][0] == 1
    assert "CreditMemo" in side.excluded["note"][0] and "exchange rate" in side.excluded["note"][0]


# ---- the demo firm, synced: ties out to the sandbox's reports and to the raw documents --------
DEMO_SEED = 20261120


@pytest.fixture(scope="module")
def synced_demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """All twelve demo companies (small scale), synced through sync.engine into the store."""
    from oodaloo.config import load_settings
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    data_dir = Path(tmp_path_factory.mktemp("aging-demo")) / "data"
    data_dir.mkdir()
    settings = load_settings(data_dir=data_dir)
    build_demo_firm(
        settings.sandbox_path, seed=DEMO_SEED, today=settings.demo_today, companies=12, scale=0.25
    )
    connect_sandbox_companies(settings)
    results = sync_all(settings)
    assert [r.outcome for r in results] == ["ok"] * 12, results
    return settings


def _raw_docs(settings: Any, realm: str) -> dict[str, list[dict[str, Any]]]:
    """The sandbox's live documents, read straight from its SQLite file (not through runway)."""
    con = sqlite3.connect(settings.sandbox_path)
    try:
        rows = con.execute(
            "SELECT entity, doc FROM docs WHERE realm_id = ? AND deleted = 0", (realm,)
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[dict[str, Any]]] = {}
    for entity, doc in rows:
        out.setdefault(entity, []).append(json.loads(doc))
    return out


def _raw_buckets(docs: dict[str, list[dict[str, Any]]], side: str, as_of: date) -> list[D]:
    """Current, 1-30, 31-60, 61-90, 91+, Total from the raw documents, as QBO's aging reads them:
    each document or credit dated by ``as_of`` at its amount less what payments dated by then
    applied, in the home currency (× its ExchangeRate, half-up); documents by due date, credits
    and unapplied payments (negative) by their own date."""
    doc_type, credit_type, pay_type = (
        ("Invoice", "CreditMemo", "Payment")
        if side == "ar"
        else ("Bill", "VendorCredit", "BillPayment")
    )
    used: dict[tuple[str, str], D] = {}
    for pay in docs.get(pay_type, []):
        if date.fromisoformat(pay["TxnDate"]) > as_of:
            continue
        for line in pay.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                key = (link["TxnType"], str(link["TxnId"]))
                used[key] = used.get(key, D(0)) + D(str(line["Amount"]))
    cents = D("0.01")
    buckets = [D(0)] * 5

    def add(doc: dict[str, Any], amount: D, aged_from: str, sign: int) -> None:
        rate = doc.get("ExchangeRate")
        if rate:
            amount = (amount * D(str(rate))).quantize(cents, rounding=ROUND_HALF_UP)
        late = (as_of - date.fromisoformat(aged_from)).days
        index = 0 if late <= 0 else 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4
        buckets[index] += sign * amount

    for kind, sign in ((doc_type, 1), (credit_type, -1)):
        for doc in docs.get(kind, []):
            if date.fromisoformat(doc["TxnDate"]) > as_of:
                continue
            left = D(str(doc["TotalAmt"])) - used.get((kind, str(doc["Id"])), D(0))
            if left > 0:
                aged_from = doc.get("DueDate") or doc["TxnDate"] if sign > 0 else doc["TxnDate"]
                add(doc, left, aged_from, sign)
    if side == "ar":
        for pay in docs.get("Payment", []):
            unapplied = D(str(pay.get("UnappliedAmt") or 0))
            if date.fromisoformat(pay["TxnDate"]) <= as_of and unapplied > 0:
                add(pay, unapplied, pay["TxnDate"], -1)
    return [*buckets, sum(buckets, D(0))]


def _report_buckets(settings: Any, realm: str, report: str, as_of: date) -> list[D]:
    from oodaloo.wiring import qbo_transport
    from sync.client import QBOClient

    with QBOClient(settings, transport=qbo_transport(settings)) as client:
        body = client.report(realm, report, report_date=as_of.isoformat())
    total = [row for row in body["Rows"]["Row"] if row.get("group") == "GrandTotal"][0]
    return [D(cell["value"] or "0") for cell in total["Summary"]["ColData"][1:]]


def _ours(totals: pl.DataFrame, realm: str) -> list[D]:
    row = totals.filter(pl.col("realm_id") == realm).row(0, named=True)
    return [row[c] for c in ("current", "d1_30", "d31_60", "d61_90", "d91_plus", "total")]


def test_demo_aging_with_credits_ties_out_to_sandbox_reports_and_raw_documents(
    synced_demo: Any,
) -> None:
    from runway.snapshot import load_snapshot

    snap = load_snapshot(synced_demo)
    assert len(snap.realm_ids) == 12
    today = synced_demo.demo_today
    credits_seen = 0
    for as_of in (today, today - timedelta(days=17), today - timedelta(days=51), date(2026, 9, 30)):
        ar, ap = ar_aging(snap, as_of), ap_aging(snap, as_of)
        credits_seen += ar.credits.height + ap.credits.height
        for realm in snap.realm_ids:
            docs = _raw_docs(synced_demo, realm)
            for side, aging, report in (("ar", ar, "AgedReceivables"), ("ap", ap, "AgedPayables")):
                ours = _ours(aging.totals, realm)
                assert ours == _report_buckets(synced_demo, realm, report, as_of), (
                    realm,
                    side,
                    as_of,
                )
                assert ours == _raw_buckets(docs, side, as_of), (realm, side, as_of)
    assert credits_seen > 12  # credit memos, vendor credits and unapplied payments took part


def test_demo_cash_is_every_bank_account_converted_at_the_latest_rate(synced_demo: Any) -> None:
    from runway.cash import cash_accounts_for, cash_position
    from runway.snapshot import load_snapshot

    snap = load_snapshot(synced_demo)
    today = synced_demo.demo_today
    per = cash_accounts_for(snap, today)
    position = cash_position(snap["account"], snap["company_info"], snap.freshness, per)
    converted = 0
    for realm in snap.realm_ids:
        docs = _raw_docs(synced_demo, realm)
        rates = sorted((r["AsOfDate"], D(str(r["Rate"]))) for r in docs.get("ExchangeRate", []))
        expected = D(0)
        for account in docs["Account"]:
            if account["AccountType"] != "Bank":
                continue
            balance = D(str(account["CurrentBalance"]))
            if account["CurrencyRef"]["value"] != "USD":
                latest = [rate for day, rate in rates if day <= today.isoformat()][-1]
                balance = (balance * latest).quantize(D("0.01"), rounding=ROUND_HALF_UP)
                converted += 1
            expected += balance
        row = position.filter(pl.col("realm_id") == realm).row(0, named=True)
        assert row["cash"] == expected, realm
        assert row["unconverted_accounts"] == 0
        funds = [a for a in docs["Account"] if a.get("AccountSubType") == "UndepositedFunds"]
        assert row["undeposited"] == D(str(funds[0]["CurrentBalance"]))
        line = [a for a in docs["Account"] if a.get("AccountSubType") == "LineOfCredit"][0]
        assert row["credit_line_drawn"] == D(str(line["CurrentBalance"]))
        assert row["credit_line_limit"] is not None and row["credit_line_available"] == (
            row["credit_line_limit"] - row["credit_line_drawn"]
        )
    cad = per.filter(pl.col("currency") == "CAD").row(0, named=True)
    assert converted == 1 and cad["included"] and cad["rate"] is not None
    assert cad["rate_date"] == today and "converted from CAD" in cad["note"]


def test_an_account_without_any_rate_is_flagged_not_dropped() -> None:
    from runway.cash import cash_accounts_for, cash_position

    c = small_company()
    c.put(
        "Account",
        {
            "Name": "Euro Account",
            "AccountType": "Bank",
            "CurrentBalance": "1000",
            "CurrencyRef": {"value": "EUR"},
        },
    )
    snap = snapshot(c)
    per = cash_accounts_for(snap, AS_OF)
    euro = per.filter(pl.col("account_name") == "Euro Account").row(0, named=True)
    assert euro["unconverted"] and not euro["included"] and euro["balance"] is None
    assert "EUR account without any EUR exchange rate" in euro["note"]
    pos = cash_position(snap["account"], snap["company_info"], snap.freshness, per)
    assert pos["unconverted_accounts"][0] == 1 and pos["cash"][0] == D("5000.00")


def test_synced_demo_carries_preferences_rates_and_the_cash_report_lists_accounts(
    synced_demo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from runway.cli import handle
    from runway.snapshot import load_snapshot

    snap = load_snapshot(synced_demo)
    multi = snap["preferences"].filter(pl.col("multicurrency_enabled"))
    assert multi.height == 1 and multi["home_currency"][0] == "USD"
    realm = multi["realm_id"][0]  # Brightline Studio, the one with a Canadian client
    rates = snap["exchange_rate"].filter(pl.col("realm_id") == realm)
    assert rates.height >= 18 and set(rates["source_currency"]) == {"CAD"}
    for table in ("credit_memo", "vendor_credit", "sales_receipt", "transfer", "estimate"):
        assert snap[table].filter(pl.col("realm_id") == realm).height > 0, table
    today = synced_demo.demo_today
    args = argparse.Namespace(kind="cash", company=realm, as_of=today, json=True)
    assert handle(args, synced_demo) == 0
    body = json.loads(capsys.readouterr().out)
    accounts = {a["name"]: a for a in body["accounts"]}
    cad = accounts["RBC Business Account (CAD)"]
    assert cad["included"] is True and cad["rate_date"] == today.isoformat()
    assert D(cad["balance"]) == (D(cad["balance_foreign"]) * D(cad["rate"])).quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )
    counted = [a for a in body["accounts"] if a["included"]]
    assert D(body["cash"]) == sum((D(a["balance"]) for a in counted), D(0))
    assert {a["kind"] for a in body["accounts"]} == {
        "bank",
        "undeposited_funds",
        "credit_card",
        "line_of_credit",
    }
    beside = body["beside_cash"]
    assert D(beside["undeposited"]) == D(accounts["Undeposited Funds"]["balance"])
