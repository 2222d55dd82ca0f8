"""Payers, DSO, recurring detection and overrides, hygiene and drift on hand-built companies."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from runway.pipeline import CalculatorInputs, compute
from runway.settings import CompanySettings, frames_from_settings
from tests.runway.conftest import AS_OF, agency_example, small_company
from tests.runway.factory import Company, snapshot, ts

D = Decimal
day = lambda n: timedelta(days=n)


def view_of(*companies: Company, previous: list[Company] | None = None, **kw):
    snap = snapshot(*companies)
    company, critical = frames_from_settings(
        {c.realm_id: CompanySettings(**kw) for c in companies}, snap.realm_ids
    )
    prev = snapshot(*previous) if previous else None
    return compute(CalculatorInputs(snap, AS_OF, company=company, critical=critical, previous=prev))


def test_payers_history_and_company_fallback_flagged() -> None:
    c = small_company()
    regular, newbie = c.customer("Regular"), c.customer("Newbie")
    for k, late in enumerate([0, 10, 20, 30]):
        inv = c.invoice(regular, AS_OF - day(200 + 30 * k), AS_OF - day(170 + 30 * k), 1000)
        c.pay_invoice(inv, AS_OF - day(170 + 30 * k) + day(late))
    c.invoice(newbie, AS_OF - day(10), AS_OF + day(20), 500)
    payers = {r["customer_name"]: r for r in view_of(c).payers.iter_rows(named=True)}
    assert payers["Regular"]["paid_count"] == 4 and payers["Regular"]["p50_days_late"] == 15.0
    assert payers["Regular"]["p90_days_late"] == 27.0 and payers["Regular"]["source"] == "history"
    assert (
        payers["Newbie"]["fallback"]
        and payers["Newbie"]["source"] == "company"
        and payers["Newbie"]["p50_days_late"] == 15.0
    )


def test_everything_paid_has_no_open_items_and_dso_zero() -> None:
    c = small_company()
    cust = c.customer("Client")
    for k in range(3):
        c.pay_invoice(
            c.invoice(cust, AS_OF - day(40 + 20 * k), AS_OF - day(10 + 20 * k), 3000),
            AS_OF - day(5 + 20 * k),
        )
    view = view_of(c, expected_billing=False)  # no documents open: nothing in the forecast
    assert view.aging_ar.totals["total"][0] == D("0.00") and view.forecast_items.height == 0
    assert view.dso["dso_simple_days"][0] == 0.0 and view.dso["dso_countback_days"][0] == 0.0


def test_dso_simple_and_countback() -> None:
    c = small_company()
    cust = c.customer("Client")
    c.invoice(cust, date(2026, 11, 10), date(2026, 12, 10), 9100)  # November sales 9100 (20 days)
    c.invoice(
        cust, date(2026, 10, 5), date(2026, 11, 4), 3100, balance=1550
    )  # October sales 3100 (31 days)
    row = view_of(c).dso.row(0, named=True)
    assert row["ar_total"] == D("10650.00")
    assert round(row["dso_simple_days"], 2) == round(10650 / (12200 / 91), 2)
    assert round(row["dso_countback_days"], 2) == round(20 + 1550 / 3100 * 31, 2)


def test_biweekly_payroll_from_journal_entries_and_override() -> None:
    c = small_company()
    bank = c.versions[-1]["doc"]["Id"]
    wages = c.account("Wages")
    for k in range(1, 9):
        c.put(
            "JournalEntry",
            {
                "TxnDate": (AS_OF - day(14 * k - 7)).isoformat(),
                "TotalAmt": "30000",
                "Line": [
                    {
                        "Amount": "30000",
                        "JournalEntryLineDetail": {
                            "PostingType": "Debit",
                            "AccountRef": {"value": wages},
                        },
                    },
                    {
                        "Amount": "30000",
                        "JournalEntryLineDetail": {
                            "PostingType": "Credit",
                            "AccountRef": {"value": bank},
                        },
                    },
                ],
            },
        )
    pattern = view_of(c).recurring.filter(pl.col("kind") == "payroll").row(0, named=True)
    assert pattern["cadence"] == "biweekly" and pattern["amount"] == D("30000.00")
    assert pattern["next_dates"][:2] == [AS_OF + day(7), AS_OF + day(21)]
    over = view_of(
        c,
        payroll_cadence="monthly",
        payroll_amount=D("45000"),
        payroll_anchor_date=date(2026, 11, 30),
    )
    pattern = over.recurring.filter(pl.col("kind") == "payroll").row(0, named=True)
    assert (pattern["cadence"], pattern["amount"], pattern["source"]) == (
        "monthly",
        D("45000.00"),
        "override",
    )
    assert pattern["next_dates"][:2] == [date(2026, 11, 30), date(2026, 12, 31)]


def test_monthly_rent_not_double_counted_with_its_entered_bill() -> None:
    c = agency_example()
    landlord = [
        v["doc"]["Id"]
        for v in c.versions
        if v["entity"] == "Vendor" and v["doc"]["DisplayName"] == "Downtown Properties"
    ][0]
    for k in range(1, 6):
        c.purchase(landlord, "Downtown Properties", date(2026, 11 - k, 5), 12000)
    view = view_of(c)
    sched = view.recurring_schedule.filter(pl.col("kind") == "rent")
    assert sched.filter(pl.col("date") == date(2026, 12, 5))["covered_by_bill"].is_not_null().all()
    rent_items = view.forecast_items.filter(
        (pl.col("line") == "p50") & (pl.col("party") == "Downtown Properties")
    )
    assert (
        rent_items.filter(pl.col("date").dt.month() == 12).height == 1
    )  # the bill, not the pattern too


def test_hygiene_flags() -> None:
    c = small_company()
    mute = c.customer("No Email", email=None)
    c.invoice(mute, AS_OF - day(200), None, 400)  # no due date, 91+, customer without e-mail
    vendor = c.vendor("Supplier")
    c.bill(vendor, AS_OF - day(3), AS_OF + day(27), 777)
    c.bill(vendor, AS_OF - day(1), AS_OF + day(29), 777)
    c.payment(mute, AS_OF - day(2), {}, unapplied=50)
    gone = c.invoice(mute, AS_OF - day(5), AS_OF + day(25), 10)
    c.delete("Invoice", gone, ts(AS_OF - day(1)))
    c.invoice(mute, AS_OF - day(5), AS_OF + day(25), 10, currency="GBP")
    flags = view_of(c).hygiene
    assert set(flags["flag"]) == {
        "voided_or_deleted",  # the factory stores the delete as the store does: a tombstone
        "no_due_date",
        "open_91_plus",
        "no_email",
        "duplicate_bill",
        "unapplied_payment",
        "fx_excluded",
    }
    assert (flags["forecast_effect"].str.len_chars() > 0).all()


def test_hygiene_sees_deletions_from_a_snapshot_with_tombstones(settings) -> None:
    from runway.snapshot import load_snapshot
    from tests.runway.factory import write_warehouse

    c = small_company()
    cust = c.customer("Client")
    gone = c.invoice(cust, AS_OF - day(5), AS_OF + day(25), 10)
    c.delete("Invoice", gone, ts(AS_OF - day(1)))
    write_warehouse(settings.warehouse_path, [c])
    snap = load_snapshot(settings)
    flags = compute(CalculatorInputs(snap, AS_OF)).hygiene
    assert flags.filter(pl.col("flag") == "voided_or_deleted")["doc_id"].to_list() == [gone]


def test_drift_against_last_week() -> None:
    before = agency_example()
    after = agency_example()
    # a must-pay bill (rent): one the tray could delay past the payday would not touch coverage
    after.bill(after.vendor("Harbor Properties"), AS_OF - day(1), AS_OF + day(3), 150000)
    view = view_of(after, previous=[before])
    kinds = set(view.drift["kind"])
    assert {"new_large_bill", "breach_moved_earlier", "payroll_status_changed"} <= kinds
    assert view.firm["exception_score"][0] > 0
    # the changes read like the rest of the product: its money, its dates, status in words
    from oodaloo import present

    said = {row["kind"]: row for row in view.drift.iter_rows(named=True)}
    bill = said["new_large_bill"]
    assert bill["message"].endswith(": " + present.money(bill["after"]).replace("−", "-"))
    assert "Harbor Properties" in bill["message"]
    breach = view.runway.row(0, named=True)["breach_date"]
    assert said["breach_moved_earlier"]["message"].endswith(present.day(breach))
    turned = said["payroll_status_changed"]["message"]
    assert turned.split()[-1] in {"tight", "short"}, turned


def test_compute_names_what_is_wrong_with_its_inputs() -> None:
    """The typed inputs value is the only way in: frames passed by position, or a day given as
    text, are refused with an error naming the problem rather than computing on a wrong frame."""
    snap = snapshot(small_company())
    with pytest.raises(TypeError, match="CalculatorInputs"):
        compute(snap)  # type: ignore[arg-type]  # the old positional call, now refused
    with pytest.raises(TypeError, match="as_of must be a date, not str"):
        compute(CalculatorInputs(snap, "2026-11-20"))  # type: ignore[arg-type]  # text, not a date


def test_a_firm_view_restricted_to_some_companies_holds_only_their_rows() -> None:
    """What a person without a role in a company sees of it: nothing, in any result."""
    first, second = small_company("r-first"), small_company("r-second")
    for c in (first, second):
        c.invoice(c.customer("Client"), AS_OF - day(40), AS_OF - day(10), 1000)
    view = view_of(first, second)
    only = view.only(["r-first"])
    frames = {
        name: value
        for name, value in vars(only).items()
        if isinstance(value, pl.DataFrame) and "realm_id" in value.columns
    }
    assert frames and all(set(f["realm_id"].to_list()) <= {"r-first"} for f in frames.values())
    assert only.aging_ar.totals["realm_id"].to_list() == ["r-first"]
    assert set(view.aging_ar.totals["realm_id"].to_list()) == {"r-first", "r-second"}
    assert only.firm["realm_id"].to_list() == ["r-first"]
