"""The combined runway effect of a selection (runway.api.selection_effect): one re-run of the
forecast with every change together, hand-computed, plus a seeded property."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from oodaloo.config import Settings
from runway.api import CompanyView, selection_effect
from runway.selection import SelectionError
from tests.runway.conftest import AS_OF, agency_example
from tests.runway.factory import Company
from tests.runway.test_forecast import run

D = Decimal


def agency_view() -> tuple[CompanyView, str, str]:
    """The worked example (reserve 40k) with its rent bill and its 90k receivable ids."""
    c = agency_example()
    view = run(c, reserve={"r-agency": "40000"}).company("r-agency")
    items = view.forecast_items.filter(pl.col("line") == "p50")
    rent = items.filter(pl.col("kind") == "bill")["source_id"][0]
    receivable = items.filter(pl.col("kind") == "invoice")["source_id"][0]
    return view, rent, receivable


def test_combined_effect_is_one_rerun_not_the_sum_of_rows(settings: Settings) -> None:
    """Hand-computed (P50, reserve 40k). Base: 180k −70k payroll (12-01, day 11) −12k rent (12-05,
    day 15) −70k payroll (12-15, day 25) = 28k < 40k: breach day 25; then +90k (day 26), payrolls on
    01-01, 01-15, 02-01, 02-15 take it to −162k on day 87, the lowest.
    Rent delayed to 12-20 (day 30) and the 90k collected today: 270k, 200k (d11), 130k (d25),
    118k (d30), 48k (d42), −22k (d56): breach day 56 — +31 days. Each change alone also gives
    day 56 (+31), so the sum of the rows' effects (+62) would overstate it twice over."""
    view, rent, receivable = agency_view()
    changes = [
        {"kind": "delay_bill", "bill_id": rent, "until": "2026-12-20"},
        {"kind": "remind", "invoice_id": receivable},
    ]
    effect = selection_effect(settings, "r-agency", AS_OF, changes, view=view)
    before, after, delta = effect["before"], effect["after"], effect["delta"]
    assert (before["runway_days"], before["breach_date"], before["runway_weeks"]) == (
        25,
        date(2026, 12, 15),
        round(25 / 7, 1),
    )
    assert (after["runway_days"], after["breach_date"], after["runway_weeks"]) == (
        56,
        date(2027, 1, 15),
        8.0,
    )
    assert (
        before["breach_date"] == view.runway["breach_date"][0]
    )  # the base is the console's runway
    assert before["lowest_balance"] == after["lowest_balance"] == D("-162000.00")
    assert isinstance(after["lowest_balance"], Decimal)
    assert delta == {
        "runway_days": 31,
        "lowest_balance": D("0.00"),
        "breach_removed": False,
        "breach_added": False,
    }
    assert effect["matched"] == 2 and effect["text"] == "+31 days of runway"
    alone = [
        selection_effect(settings, "r-agency", AS_OF, [change], view=view)["delta"]["runway_days"]
        for change in changes
    ]
    assert alone == [31, 31]


def test_paying_today_moves_the_outflow_to_today(settings: Settings) -> None:
    """Rent paid today instead of 12-05: 168k, 98k (d11), 28k (d25): still day 25, same lowest."""
    view, rent, _ = agency_view()
    effect = selection_effect(
        settings, "r-agency", AS_OF, [{"kind": "pay_bill", "bill_id": rent}], view=view
    )
    assert effect["after"]["runway_days"] == 25 and effect["delta"]["runway_days"] == 0
    assert effect["text"] == "no change to the runway or the lowest projected balance"


def test_empty_selection_and_bad_changes(settings: Settings) -> None:
    view, rent, _ = agency_view()
    empty = selection_effect(settings, "r-agency", AS_OF, [], view=view)
    assert empty["before"] == empty["after"] and empty["changes"] == 0
    with pytest.raises(SelectionError, match="unknown kind 'refund'"):
        selection_effect(
            settings, "r-agency", AS_OF, [{"kind": "refund", "bill_id": rent}], view=view
        )
    with pytest.raises(SelectionError, match="no bill_id"):
        selection_effect(settings, "r-agency", AS_OF, [{"kind": "pay_bill"}], view=view)
    with pytest.raises(SelectionError, match="before as_of"):
        selection_effect(
            settings,
            "r-agency",
            AS_OF,
            [{"kind": "delay_bill", "bill_id": rent, "until": "2026-11-01"}],
            view=view,
        )
    with pytest.raises(ValueError, match="not r-other"):
        selection_effect(settings, "r-other", AS_OF, [], view=view)


def _seeded_company(rng: random.Random) -> Company:
    c = Company("r-prop")
    c.bank(rng.randint(-20000, 300000))
    cust, vendor = c.customer("Client"), c.vendor("Supplier")
    for _ in range(rng.randint(0, 5)):
        due = AS_OF + timedelta(days=rng.randint(-60, 80))
        c.invoice(cust, due - timedelta(days=30), due, rng.randint(1, 80000))
    for _ in range(rng.randint(1, 7)):
        due = AS_OF + timedelta(days=rng.randint(-40, 80))
        c.bill(vendor, due - timedelta(days=30), due, rng.randint(1, 80000))
    if rng.random() < 0.7:
        c.payroll_runs(
            [AS_OF - timedelta(days=14 * k) for k in range(1, 7)], rng.randint(1000, 60000)
        )
    return c


def _not_shorter(before: dict, after: dict) -> bool:
    if before["runway_days"] is None:  # never breached: a delay cannot bring a breach in
        return after["runway_days"] is None
    return after["runway_days"] is None or after["runway_days"] >= before["runway_days"]


@pytest.mark.parametrize("seed", range(6))
def test_delaying_bills_in_combination_never_shortens_runway(settings: Settings, seed: int) -> None:
    """Seeded property: any set of bills each moved later (to random later dates, some past the
    horizon) never shortens the runway nor lowers the lowest balance; adding a delay to a
    selection never makes it worse than the selection without it."""
    rng = random.Random(seed)
    view = run(_seeded_company(rng), reserve={"r-prop": str(rng.randint(0, 50000))}).company(
        "r-prop"
    )
    bills = (
        view.forecast_items.filter((pl.col("line") == "p50") & (pl.col("kind") == "bill"))
        .select("source_id", "date")
        .rows()
    )
    assert bills or view.aging_ap.detail.height == 0, "every open bill is in the forecast"
    if not bills:
        return
    for _ in range(8):
        chosen = rng.sample(bills, rng.randint(1, len(bills)))
        changes = [
            {
                "kind": "delay_bill",
                "bill_id": bill,
                "until": (day + timedelta(days=rng.randint(0, 100))).isoformat(),
            }
            for bill, day in chosen
        ]
        whole = selection_effect(settings, "r-prop", AS_OF, changes, view=view)
        assert _not_shorter(whole["before"], whole["after"]), (seed, changes, whole)
        assert whole["delta"]["lowest_balance"] >= 0 and not whole["delta"]["breach_added"]
        fewer = selection_effect(settings, "r-prop", AS_OF, changes[:-1], view=view)
        assert _not_shorter(fewer["after"], whole["after"]), (seed, changes, fewer, whole)
        assert whole["after"]["lowest_balance"] >= fewer["after"]["lowest_balance"]


def test_applying_a_credit_takes_the_invoice_out_of_the_forecast(settings: Settings) -> None:
    """Hand-computed (P50, reserve 40k): the 90k receivable (day 26) is paid by a credit already in
    the bank, so the forecast stops expecting it: the lowest balance (day 87) drops from −162k to
    −252k; the breach stays on day 25 (before the receivable was due anyway)."""
    view, _, receivable = agency_view()
    changes = [{"kind": "apply_credit", "invoice_id": receivable}]
    effect = selection_effect(settings, "r-agency", AS_OF, changes, view=view)
    assert effect["matched"] == 1
    assert effect["before"]["lowest_balance"] == D("-162000.00")
    assert effect["after"]["lowest_balance"] == D("-252000.00")
    assert effect["after"]["runway_days"] == effect["before"]["runway_days"] == 25
