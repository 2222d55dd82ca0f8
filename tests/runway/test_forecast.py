"""Forecast, runway, payroll coverage and tray effects on hand-computed companies; properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from runway.pipeline import CalculatorInputs, compute
from runway.settings import CompanySettings, confirmed_inflows_frame, frames_from_settings
from tests.runway.conftest import AS_OF, agency_example, small_company
from tests.runway.factory import Company, snapshot

D = Decimal


def run(
    *companies: Company,
    reserve: dict[str, str] | None = None,
    plans: pl.DataFrame | None = None,
    **settings_kw,
):
    snap = snapshot(*companies)
    # the hand-computed examples hold only documents already in the books; the expected
    # billing has its own tests (test_forecast_parts.py)
    settings_kw.setdefault("expected_billing", False)
    by_realm = {
        c.realm_id: CompanySettings(
            reserve=D(reserve[c.realm_id]) if reserve and c.realm_id in reserve else None,
            **settings_kw,
        )
        for c in companies
    }
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


def test_worked_example_breaches_the_reserve_at_the_second_payroll() -> None:
    view = run(agency_example(), reserve={"r-agency": "40000"})
    row = view.runway.row(0, named=True)
    assert (
        row["cash"] == D("180000.00")
        and row["reserve"] == D("40000.00")
        and row["reserve_source"] == "set"
    )
    assert row["breach_date"] == date(
        2026, 12, 15
    )  # 180k − 70k − 12k − 70k = 28k < 40k, receivable lands 12-16
    assert row["runway_weeks"] == round(25 / 7, 1) and row["method"] == "forecast"
    items = view.forecast_items.filter((pl.col("line") == "p50") & (pl.col("kind") == "invoice"))
    assert items["date"].to_list() == [date(2026, 12, 16)] and items["week"].to_list() == [3]
    week1 = view.forecast.filter((pl.col("line") == "p50") & (pl.col("week") == 1)).row(
        0, named=True
    )
    assert (week1["opening"], week1["outflows"], week1["closing"]) == (
        D("180000.00"),
        D("70000.00"),
        D("110000.00"),
    )


def test_worked_example_payroll_coverage() -> None:
    pay = run(agency_example(), reserve={"r-agency": "40000"}).payroll
    # 2027-01-01 is New Year's Day: that payroll runs on the business day before
    assert pay["date"].to_list() == [date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 31)]
    assert pay["must_pay_before"].to_list() == [D("0.00"), D("82000.00"), D("152000.00")]
    assert pay["coverage"].to_list() == [round(180000 / 70000, 3), 1.4, round(118000 / 70000, 3)]
    assert pay["status"].to_list() == ["green", "amber", "green"]
    assert pay["payrolls_covered"].to_list() == [3, 3, 3]


def test_detected_payroll_is_semimonthly_with_next_dates() -> None:
    rec = run(agency_example()).recurring.filter(pl.col("kind") == "payroll").row(0, named=True)
    assert (
        rec["cadence"] == "semimonthly_1_15"
        and rec["amount"] == D("70000.00")
        and rec["confidence"] == 1.0
    )
    assert rec["next_dates"][:3] == [date(2026, 12, 1), date(2026, 12, 15), date(2026, 12, 31)]


def test_default_reserve_holds_only_must_pay_bills_the_forecast_does_not_pay_by_the_payroll() -> (
    None
):
    c = agency_example()
    irs = c.bill(
        c.vendor("IRS"), AS_OF, AS_OF + timedelta(days=3), 5000
    )  # tax due before the 12-01 payroll
    row = run(c).runway.row(0, named=True)
    # the forecast pays the 5,000 on 11-23: holding it in the reserve as well would count it twice
    assert row["reserve"] == D("70000.00") and row["reserve_source"] == "default"
    plans = pl.DataFrame(
        {
            "realm_id": ["r-agency"],
            "bill_id": [irs],
            "planned_date": [date(2026, 12, 10)],
            "note": [""],
        }
    )
    row = run(c, plans=plans).runway.row(
        0, named=True
    )  # planned after the payroll: still owed, so held
    assert row["reserve"] == D("75000.00")


def test_overdue_must_pay_bill_does_not_make_a_breach_on_as_of_automatic() -> None:
    """Regression: reserve = payroll + overdue tax bill while the forecast also pays that bill today
    made 76,000 − 5,000 = 71,000 < 75,000 a breach on as_of. Hand-computed: reserve 70,000; the
    balance is 71,000 until the 12-01 payroll takes it to 1,000 — the first breach, day 11."""
    c = agency_example()
    c.edit("Account", c.versions[1]["doc"]["Id"], c.stamp, CurrentBalance="76000")
    c.bill(c.vendor("IRS"), AS_OF - timedelta(days=20), AS_OF - timedelta(days=5), 5000)
    row = run(c).runway.row(0, named=True)
    assert row["reserve"] == D("70000.00")
    assert row["breach_date"] == date(2026, 12, 1) and row["runway_weeks"] == round(11 / 7, 1)


def test_run_rate_extension_uses_the_trailing_net_flow_not_the_forecast_tail() -> None:
    """Past week 13 the balance moves at the trailing 13-week run-rate of posted cash. Burning
    1,000 a week (13 weekly checks, the last on as_of) from 50,000 with reserve 10,000: the
    forecast expects the same check every 7 days (days 7 … 84: 12 × 1,000 → 38,000 on day 90),
    then 28 more weeks at the run-rate → day 91 + 196 = 287 (41.0 weeks). A company whose
    forecast only falls because no future sales are in it, but which took in more than it paid
    out, never breaches."""
    burner = small_company("r-burn")
    burner.edit("Account", burner.versions[1]["doc"]["Id"], burner.stamp, CurrentBalance="50000")
    supplies = burner.vendor("Office Supplies Co")
    for k in range(13):
        burner.purchase(supplies, "Office Supplies Co", AS_OF - timedelta(days=7 * k), 1000)
    grower = small_company("r-grow")
    client = grower.customer("Client")
    for k in range(6):  # 6 × 8,000 in, paid on time
        grower.pay_invoice(
            grower.invoice(
                client, AS_OF - timedelta(days=14 * k + 30), AS_OF - timedelta(days=14 * k), 8000
            ),
            AS_OF - timedelta(days=14 * k),
        )
    grower.bill(
        grower.vendor("Design Freelancer"), AS_OF, AS_OF + timedelta(days=20), 2000
    )  # forecast tail falls
    view = run(burner, grower, reserve={"r-burn": "10000", "r-grow": "1000"})
    burn, grow = view.runway.sort("realm_id").rows(named=True)
    assert burn["avg_weekly_net_outflow"] == D("1000.00") and burn["method"] == "run-rate"
    assert burn["breach_date"] == AS_OF + timedelta(days=287) and burn["runway_weeks"] == 41.0
    spend = view.forecast_items.filter((pl.col("realm_id") == "r-burn") & (pl.col("line") == "p50"))
    assert spend["kind"].unique().to_list() == ["expected_spend"]
    assert spend["date"].to_list() == [AS_OF + timedelta(days=7 * k) for k in range(1, 13)]
    assert (
        grow["avg_weekly_net_outflow"] < 0
        and grow["method"] == "never"
        and grow["breach_date"] is None
    )


def test_negative_cash_breaches_today_and_payroll_is_red() -> None:
    c = agency_example()
    c.edit("Account", c.versions[1]["doc"]["Id"], c.stamp, CurrentBalance="-5000")
    view = run(c)
    assert view.runway["breach_date"][0] == AS_OF and view.runway["runway_weeks"][0] == 0.0
    assert view.payroll["status"][0] == "red" and view.payroll["payrolls_covered"][0] == 0


def test_no_history_company_has_empty_results_and_no_breach() -> None:
    view = run(small_company())
    assert view.payroll.height == 0 and view.recurring.height == 0 and view.tray.height == 0
    row = view.runway.row(0, named=True)
    assert (
        row["breach_date"] is None
        and row["method"] == "never"
        and row["simple_runway_weeks"] is None
    )
    assert view.firm["payroll_status"][0] == "none"


def test_bill_plan_moves_the_outflow_and_tray_effect_matches_a_rerun() -> None:
    c = agency_example()
    freelancer = c.vendor("Design Freelancer")
    bill = c.bill(freelancer, AS_OF - timedelta(days=20), AS_OF + timedelta(days=2), 30000)
    base = run(c, reserve={"r-agency": "40000"}, delay_tolerance_days=30)
    row = base.tray.filter(pl.col("section") == "can_delay").row(0, named=True)
    assert row["doc_id"] == bill and row["latest_safe_date"] == AS_OF + timedelta(days=32)
    plans = pl.DataFrame(
        {
            "realm_id": ["r-agency"],
            "bill_id": [bill],
            "planned_date": [row["latest_safe_date"]],
            "note": [""],
        }
    )
    rerun = run(c, reserve={"r-agency": "40000"}, plans=plans, delay_tolerance_days=30)
    moved = rerun.forecast_items.filter(pl.col("source_id") == bill)["date"].unique().to_list()
    assert moved == [AS_OF + timedelta(days=32)]
    base_days = (base.runway["breach_date"][0] - AS_OF).days
    new_days = (rerun.runway["breach_date"][0] - AS_OF).days
    assert row["effect_runway_days"] == new_days - base_days
    assert (
        row["effect_lowest_balance"]
        == rerun.runway["lowest_balance"][0] - base.runway["lowest_balance"][0]
    )


def test_chase_ranks_overdue_invoices_with_email_outside_the_cooldown() -> None:
    from tests.runway.factory import ts

    c = agency_example()
    quick = c.customer("Quick Payer", email="pay@quick.test")
    mute = c.customer("No Email Co", email=None)
    big = c.invoice(quick, AS_OF - timedelta(days=60), AS_OF - timedelta(days=30), 8000)
    small = c.invoice(quick, AS_OF - timedelta(days=40), AS_OF - timedelta(days=10), 1000)
    reminded = c.invoice(quick, AS_OF - timedelta(days=60), AS_OF - timedelta(days=30), 9000)
    c.edit(
        "Invoice",
        reminded,
        ts(AS_OF - timedelta(days=3)),
        DeliveryInfo={
            "DeliveryType": "Email",
            "DeliveryTime": ts(AS_OF - timedelta(days=3)).isoformat(),
        },
    )
    mute_invoice = c.invoice(mute, AS_OF - timedelta(days=60), AS_OF - timedelta(days=30), 50000)
    chase = run(c).tray.filter(pl.col("section") == "chase").sort("rank")
    # issue 13: nobody answered a reminder in this company yet, so every invoice is weighed at an
    # even chance and ranked by amount; the customer without an e-mail is a "call", the invoice
    # reminded 3 days ago stays in the list with its date (neither can be e-mailed now)
    assert chase["doc_id"].to_list() == [mute_invoice, reminded, big, small]
    assert chase["rank"].to_list() == [1, 2, 3, 4]
    assert chase["contact"].to_list() == ["call", "email", "email", "email"]
    assert chase["reminded_on"].to_list() == [None, AS_OF - timedelta(days=3), None, None]
    assert chase["selectable"].to_list() == [False, False, True, True]
    assert all(e is not None and e >= 0 for e in chase["effect_lowest_balance"].to_list())


def _random_company(realm: str, data: st.DataObject) -> Company:
    c = Company(realm)
    c.bank(data.draw(st.integers(-20000, 300000)))
    cust = c.customer("Client")
    vendor = c.vendor("Supplier")
    for _ in range(data.draw(st.integers(0, 6))):
        due = AS_OF + timedelta(days=data.draw(st.integers(-60, 80)))
        c.invoice(cust, due - timedelta(days=30), due, data.draw(st.integers(1, 80000)))
    for _ in range(data.draw(st.integers(0, 6))):
        due = AS_OF + timedelta(days=data.draw(st.integers(-40, 80)))
        c.bill(vendor, due - timedelta(days=30), due, data.draw(st.integers(1, 80000)))
    if data.draw(st.booleans()):
        c.payroll_runs(
            [AS_OF - timedelta(days=14 * k) for k in range(1, 7)],
            data.draw(st.integers(1000, 60000)),
        )
    return c


@hsettings(max_examples=15, deadline=None, print_blob=True)
@given(st.data())
def test_forecast_properties(data: st.DataObject) -> None:
    companies = [_random_company(f"r{i}", data) for i in range(3)]
    reserve = {c.realm_id: str(data.draw(st.integers(0, 50000))) for c in companies}
    view = run(*companies, reserve=reserve, delay_tolerance_days=21)
    fc = view.forecast
    assert (fc["closing"] == fc["opening"] + fc["inflows"] - fc["outflows"]).all()
    nxt = fc.sort("realm_id", "line", "week").with_columns(
        prev=pl.col("closing").shift(1).over("realm_id", "line")
    )
    assert (
        nxt.filter(pl.col("week") > 0)["prev"] == nxt.filter(pl.col("week") > 0)["opening"]
    ).all()
    # delaying a bill / collecting an invoice never shortens runway nor lowers the lowest balance;
    # a must-pay payment (its effect: with it against without it) never lengthens nor lifts them
    effects = view.tray.filter(pl.col("scenario_id").is_not_null())
    gains, costs = (
        effects.filter((pl.col("section") == "must_pay") == paying) for paying in (False, True)
    )
    assert (gains["effect_lowest_balance"] >= 0).all() and (
        gains["effect_runway_days"].drop_nulls() >= 0
    ).all()
    assert (costs["effect_lowest_balance"] <= 0).all() and (
        costs["effect_runway_days"].drop_nulls() <= 0
    ).all()
    # vectorised across companies == each company alone
    for c in companies:
        alone = run(c, reserve=reserve, delay_tolerance_days=21)
        for name in ("forecast", "runway", "payroll", "tray", "firm"):
            together = getattr(view, name).filter(pl.col("realm_id") == c.realm_id)
            single = getattr(alone, name)
            differ = [col for col in single.columns if not together[col].equals(single[col])]
            assert together.equals(single), (
                name,
                {col: (together[col].to_list(), single[col].to_list()) for col in differ},
            )


def test_tray_scenarios_are_capped_to_the_top_rows_per_company_and_section() -> None:
    from runway.tray import cap_scenarios

    c = agency_example()
    freelancer = c.vendor("Design Freelancer")
    bills = [
        c.bill(freelancer, AS_OF - timedelta(days=20), AS_OF + timedelta(days=2), amount)
        for amount in (3000, 1000, 2000)
    ]
    tray = run(c, reserve={"r-agency": "40000"}, delay_tolerance_days=30).tray.filter(
        pl.col("section") == "can_delay"
    )
    assert (
        tray.filter(pl.col("effect_lowest_balance").is_not_null()).height == 3
    )  # under the cap: every row re-run
    capped = cap_scenarios(tray, per_section=2).sort("amount")
    assert capped["doc_id"].to_list() == [bills[1], bills[2], bills[0]]
    assert capped["scenario_id"].to_list() == [
        None,
        f"delay:{bills[2]}",
        f"delay:{bills[0]}",
    ]  # the smallest is not re-run


def test_must_pay_effect_is_the_forecast_without_that_payment() -> None:
    """Hand-computed (P50, reserve 40k), rent due 12-04 (day 14, inside the tray's two weeks).
    With it: 180k −70k (d11) −12k (d14) −70k (d25) = 28k < 40k: breach day 25; lowest −162k (d87).
    Without it: 40k on day 25 is not below 40k; +90k (d26) 130k, 60k (01-01, d42), −10k (01-15,
    d56): breach day 56, lowest −150k. The rent costs 31 days of runway and exactly 12,000 of the
    lowest balance."""
    view = run(agency_example(rent_due_in=14), reserve={"r-agency": "40000"})
    must = view.tray.filter(pl.col("section") == "must_pay")
    rent = must.filter(pl.col("party_name") == "Downtown Properties").row(0, named=True)
    assert (rent["doc_type"], rent["reason"], rent["amount"]) == ("bill", "rent", D("12000.00"))
    assert rent["scenario_id"] == f"without:{rent['doc_id']}"
    assert rent["effect_lowest_balance"] == D("-12000.00")
    assert rent["effect_runway_days"] == -31
    # issue 13: the effect in words is where the owner feels it; the rent falls after the 12-01
    # payday (same payday balance and coverage), the reserve is reached on day 25 instead of 56
    assert rent["effect_text"] == "reserve reached in 8.0 weeks → 3.6 weeks"
    base = view.tray_effects.filter(pl.col("scenario_id") == "base").row(0, named=True)
    without = view.tray_effects.filter(pl.col("scenario_id") == rent["scenario_id"]).row(
        0, named=True
    )
    assert (base["runway_days"], without["runway_days"]) == (25, 56)
    assert (base["lowest_balance"], without["lowest_balance"]) == (D("-162000.00"), D("-150000.00"))
    # the expected payroll of 12-01 (day 11): without it 110k more until 12-15 → no breach at day 25
    payroll = must.filter(pl.col("doc_type") == "recurring").row(0, named=True)
    assert (
        payroll["due_date"] == date(2026, 12, 1)
        and payroll["scenario_id"] == "without:payroll@2026-12-01"
    )
    assert payroll["effect_lowest_balance"] == D("-70000.00")
    # before → after paying it: 180k on the payday without the payroll, 110k with it; the
    # reserve is then reached on day 25 (3.6 weeks)
    assert payroll["effect_text"].startswith("payday Tue 1 Dec 2026: $180,000 → $110,000; ")
    assert payroll["effect_text"].endswith("→ 3.6 weeks")
