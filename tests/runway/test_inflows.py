"""Recurring inflows (retainers): detection, confirmation in settings, the forecast counting only
confirmed ones without double counting; and estimated taxes on their own calendar."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from runway.api import confirm_all_detected_inflows
from runway.recurring import next_business_day
from runway.settings import (
    SettingsError,
    confirm_recurring_inflows,
    get_company_settings,
    save_company_settings,
    unconfirm_recurring_inflows,
)
from tests.runway.conftest import AS_OF
from tests.runway.factory import Company, write_warehouse
from tests.runway.test_forecast import _random_company, run

D = Decimal
LATE = (2, 4, 6, 8, 10, 12)  # days late of the six paid retainer invoices: P50 7, P90 11 (linear)


def retainer_company(
    realm: str = "r-ret",
    cash: int = 50000,
    amount: int = 10000,
    late: tuple[int, ...] = LATE,
    day: int = 1,
) -> tuple[Company, str]:
    """A retainer billed on ``day`` of each month May–Nov 2026, Net 30, paid ``late`` days late;
    Nov open."""
    c = Company(realm, name="Retainer Agency")
    c.bank(cash)
    client = c.customer("Steady Retainer Client")
    for month, days_late in zip(range(5, 11), late, strict=True):
        txn = date(2026, month, day)
        inv = c.invoice(client, txn, txn + timedelta(days=30), amount)
        c.pay_invoice(inv, txn + timedelta(days=30 + days_late))
    c.invoice(client, date(2026, 11, day), date(2026, 11, day) + timedelta(days=30), amount)
    return c, client


def test_retainer_is_detected_but_forecast_only_once_confirmed() -> None:
    c, client = retainer_company()
    pid = f"inflow:{client}:monthly"
    view = run(c)
    rec = view.recurring.filter(pl.col("direction") == "inflow").row(0, named=True)
    assert (rec["pattern_id"], rec["cadence"], rec["amount"], rec["terms_days"]) == (
        pid,
        "monthly",
        D("10000.00"),
        30,
    )
    assert rec["confirmed"] is False and rec["in_forecast"] is False and rec["confidence"] == 1.0
    assert rec["next_dates"] == [
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
        date(2027, 3, 1),
    ]
    assert view.forecast_items.filter(pl.col("kind") == "recurring_inflow").height == 0
    unconfirmed_close = view.forecast.filter(pl.col("week") == 12)["closing"].to_list()
    assert unconfirmed_close == [
        D("60000.00"),
        D("60000.00"),
    ]  # cash + the open November invoice only

    view = run(c, confirmed_inflows=[pid])
    items = view.forecast_items.filter(pl.col("kind") == "recurring_inflow")
    # invoice 12-01 / 01-01 (02-01 is collected after the horizon): + Net 30 + P50 7 / P90 11
    # days late
    assert items.select("line", "date", "week", "source_id", "amount").rows() == [
        ("p50", date(2027, 1, 7), 6, pid, D("10000.00")),
        ("p50", date(2027, 2, 7), 11, pid, D("10000.00")),
        ("p90", date(2027, 1, 11), 7, pid, D("10000.00")),
        ("p90", date(2027, 2, 11), 11, pid, D("10000.00")),
    ]
    assert view.forecast.filter(pl.col("week") == 12)["closing"].to_list() == [
        D("80000.00"),
        D("80000.00"),
    ]
    assert view.recurring.filter(pl.col("pattern_id") == pid)["in_forecast"].to_list() == [True]


def test_a_period_already_invoiced_is_not_forecast_twice() -> None:
    c, client = retainer_company()
    early = c.invoice(
        client, date(2026, 11, 19), date(2026, 12, 19), 10000
    )  # December's retainer, billed early
    view = run(c, confirmed_inflows=[f"inflow:{client}:monthly"])
    sched = view.recurring_inflow_schedule.sort("date")
    assert sched["date"].to_list()[:2] == [date(2026, 12, 1), date(2027, 1, 1)]
    assert sched["covered_by_invoice"].to_list()[:2] == ["2026-11-19", None]
    p50 = view.forecast_items.filter(pl.col("line") == "p50")
    assert p50.filter(pl.col("kind") == "recurring_inflow")["date"].to_list() == [date(2027, 2, 7)]
    assert early in p50.filter(pl.col("kind") == "invoice")["source_id"].to_list()


def test_irregular_or_uneven_billing_is_not_a_retainer() -> None:
    c = Company("r-proj")
    c.bank(1000)
    client = c.customer("Project Client")
    for k, amount in enumerate(
        (1000, 9000, 2500, 15000, 400, 7000)
    ):  # monthly-ish dates, wild amounts
        c.invoice(client, date(2026, 5 + k, 1), date(2026, 5 + k, 1) + timedelta(days=30), amount)
    other = c.customer("Sporadic Client")
    for day in (date(2026, 3, 3), date(2026, 7, 19), date(2026, 8, 2), date(2026, 11, 5)):
        c.invoice(other, day, day + timedelta(days=30), 5000)
    assert run(c).recurring.filter(pl.col("direction") == "inflow").height == 0


def _runway_days(view, line: str) -> float:
    row = view.runway.row(0, named=True)
    value = row["runway_weeks"] if line == "p50" else row["runway_weeks_p90"]
    return float("inf") if value is None else value


@hsettings(max_examples=12, deadline=None, print_blob=True)
@given(st.data())
def test_confirming_an_inflow_never_shortens_runway(data: st.DataObject) -> None:
    c = _random_company("r-prop", data)
    client = c.customer("Retainer")
    dom = data.draw(st.sampled_from([1, 5, 15, 28]))
    amount = data.draw(st.integers(100, 90000))
    late = tuple(data.draw(st.integers(-5, 40)) for _ in range(6))
    for month, days_late in zip(range(5, 11), late, strict=True):
        txn = date(2026, month, dom)
        inv = c.invoice(client, txn, txn + timedelta(days=30), amount)
        if txn + timedelta(days=30 + days_late) <= AS_OF:
            c.pay_invoice(inv, txn + timedelta(days=30 + days_late))
    reserve = {"r-prop": str(data.draw(st.integers(0, 80000)))}
    base = run(c, reserve=reserve)
    ids = base.recurring.filter(pl.col("direction") == "inflow")["pattern_id"].to_list()
    assert ids, "a steady monthly retainer is detected"
    confirmed = run(c, reserve=reserve, confirmed_inflows=ids)
    for line in ("p50", "p90"):
        assert _runway_days(confirmed, line) >= _runway_days(base, line)
    assert confirmed.runway["lowest_balance"][0] >= base.runway["lowest_balance"][0]
    assert (confirmed.payroll["coverage"] >= base.payroll["coverage"]).all()


def test_confirmed_inflow_settings_validate_and_round_trip(settings) -> None:
    with pytest.raises(SettingsError, match="confirmed_inflows.*not inflow pattern ids.*'payroll'"):
        save_company_settings(settings, "r1", confirmed_inflows=["payroll"])
    with pytest.raises(SettingsError, match="confirmed_inflows"):
        confirm_recurring_inflows(settings, "r1", ["inflow:7:yearly"])
    confirm_recurring_inflows(settings, "r1", ["inflow:7:monthly"])
    saved = confirm_recurring_inflows(settings, "r1", ["inflow:3:quarterly", "inflow:7:monthly"])
    assert saved.confirmed_inflows == [
        "inflow:3:quarterly",
        "inflow:7:monthly",
    ]  # sorted, no duplicates
    assert unconfirm_recurring_inflows(settings, "r1", ["inflow:7:monthly"]).confirmed_inflows == [
        "inflow:3:quarterly"
    ]
    assert get_company_settings(settings, "r2").confirmed_inflows == []


def test_confirm_all_detected_inflows_from_the_store_feeds_the_forecast(settings) -> None:
    from runway import api

    c, client = retainer_company("r-store")
    write_warehouse(settings.warehouse_path, [c])
    with pytest.raises(SettingsError, match="min_confidence"):
        confirm_all_detected_inflows(settings, AS_OF, min_confidence=2)
    assert confirm_all_detected_inflows(settings, AS_OF) == {
        "r-store": [f"inflow:{client}:monthly"]
    }
    assert get_company_settings(settings, "r-store").confirmed_inflows == [
        f"inflow:{client}:monthly"
    ]
    snap = api.load_snapshot(settings)
    view = api.firm_view(settings, AS_OF, snap, previous=snap)
    assert view.forecast_items.filter(pl.col("kind") == "recurring_inflow").height == 4


def test_estimated_taxes_follow_the_irs_calendar() -> None:
    c = Company("r-tax")
    c.bank(100000)
    irs = c.vendor("Internal Revenue Service")
    state = c.vendor("Ohio Dept. of Revenue")
    for day in (
        date(2025, 9, 15),
        date(2026, 1, 15),
        date(2026, 4, 15),
        date(2026, 6, 15),
        date(2026, 9, 15),
    ):
        c.purchase(irs, "Internal Revenue Service", day, 8000)
        c.purchase(state, "Ohio Dept. of Revenue", day + timedelta(days=1), 2000)
    view = run(c)
    taxes = view.recurring.filter(pl.col("kind") == "tax").sort("party")
    assert taxes["cadence"].to_list() == ["estimated_tax", "estimated_tax"]
    assert taxes["next_date"].to_list() == [
        date(2027, 1, 15),
        date(2027, 1, 15),
    ]  # not 12-15 / 12-16
    out = view.forecast_items.filter((pl.col("kind") == "recurring") & (pl.col("line") == "p50"))
    assert out.sort("amount").select("date", "amount").rows() == [
        (date(2027, 1, 15), D("2000.00")),
        (date(2027, 1, 15), D("8000.00")),
    ]
    assert (
        view.tray.filter(pl.col("doc_type") == "recurring").height == 0
    )  # 8 weeks away: not this fortnight


def test_estimated_tax_due_dates_roll_off_weekends() -> None:
    days = pl.DataFrame(
        {"d": [date(2028, 1, 15), date(2028, 1, 16), date(2027, 1, 15)]}
    )  # Sat, Sun, Fri
    assert days.select(next_business_day(pl.col("d")))["d"].to_list() == [
        date(2028, 1, 17),
        date(2028, 1, 17),
        date(2027, 1, 15),
    ]
