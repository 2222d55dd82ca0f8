"""Each situation shows in the numbers: late anchor clients, messy books, tight payroll,
heavy payables, a negative trend, and open items in every aging bucket near `today`."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sandbox.demo import firm_profiles
from sandbox.demo.generate import generate_company
from sandbox.demo.spending import payroll_dates
from tests.demo.demo_ledger import (
    SEED,
    TODAY,
    ZERO,
    aging_bucket,
    by_situation,
    day,
    is_voided,
    median_days_late,
    money,
    operating_cash,
    payroll_runs,
)

BUCKETS = {"Current", "1-30", "31-60", "61-90", "91+"}


def revenue_share(docs, customer_id: str) -> Decimal:
    total = sum((money(i["TotalAmt"]) for i in docs["Invoice"]), ZERO)
    return (
        sum(
            (
                money(i["TotalAmt"])
                for i in docs["Invoice"]
                if i["CustomerRef"]["value"] == customer_id
            ),
            ZERO,
        )
        / total
    )


def test_the_situations_are_spread_over_the_twelve(profiles) -> None:
    counts = Counter(p.situation for p in profiles)
    assert counts == {
        "healthy": 2,
        "growing": 1,
        "tight_payroll": 2,
        "late_anchor": 2,
        "heavy_payables": 2,
        "messy": 2,
        "near_breach": 1,
    }
    assert len({p.tz for p in profiles}) == 3


def test_anchor_client_pays_forty_plus_days_late_on_median(firm) -> None:
    for profile, docs in by_situation(firm, "late_anchor"):
        lates = {
            c["Id"]: median_days_late(docs, c["Id"])
            for c in docs["Customer"]
            if revenue_share(docs, c["Id"]) > 0
        }
        anchor = max(docs["Customer"], key=lambda c: revenue_share(docs, c["Id"]))
        assert revenue_share(docs, anchor["Id"]) > Decimal("0.25"), profile.name
        assert lates[anchor["Id"]] >= 40, profile.name
        assert sorted(lates.values())[-2] < 40  # the anchor stands out
    for _, docs in by_situation(
        firm, "healthy"
    ):  # no big client of a healthy agency pays that late
        assert all(
            median_days_late(docs, c["Id"]) < 40
            for c in docs["Customer"]
            if revenue_share(docs, c["Id"]) > Decimal("0.15")
        )


def test_messy_books_have_every_listed_defect(firm) -> None:
    for profile, docs in by_situation(firm, "messy"):
        assert [i for i in docs["Invoice"] if "DueDate" not in i and money(i["Balance"]) > 0], (
            profile.name
        )
        assert [b for b in docs["Bill"] if "DueDate" not in b and money(b["Balance"]) > 0], (
            profile.name
        )
        assert len([c for c in docs["Customer"] if "PrimaryEmailAddr" not in c]) >= 2
        assert [p for p in docs["Payment"] if money(p["UnappliedAmt"]) > 0]
        assert [i for i in docs["Invoice"] if is_voided(i)] and [
            bp for bp in docs["BillPayment"] if is_voided(bp)
        ]
        assert [p for p in docs["Payment"] if is_voided(p)]
        assert _likely_duplicate_bills(docs), profile.name
        assert _missing_ids(docs) >= 3, profile.name


def test_healthy_companies_have_none_of_those_defects(firm) -> None:
    for situation in ("healthy", "late_anchor", "heavy_payables"):
        for profile, docs in by_situation(firm, situation):
            assert all("DueDate" in d for d in docs["Invoice"] + docs["Bill"]), profile.name
            assert all("PrimaryEmailAddr" in c for c in docs["Customer"])
            assert not [p for p in docs["Payment"] if money(p["UnappliedAmt"]) > 0 or is_voided(p)]
            assert not _likely_duplicate_bills(docs) and _missing_ids(docs) == 0


def _likely_duplicate_bills(docs) -> list[tuple[str, str]]:
    bills = sorted(docs["Bill"], key=lambda b: b["TxnDate"])
    pairs = []
    for i, a in enumerate(bills):
        for b in bills[i + 1 :]:
            if (day(b["TxnDate"]) - day(a["TxnDate"])).days > 5:
                break
            if (
                a["VendorRef"]["value"] == b["VendorRef"]["value"]
                and a["TotalAmt"] == b["TotalAmt"]
            ):
                pairs.append((a["Id"], b["Id"]))
    return pairs


def _missing_ids(docs) -> int:
    ids = sorted(int(d["Id"]) for items in docs.values() for d in items)
    return ids[-1] - len(ids)


def test_tight_payroll_cash_barely_covers_the_next_payroll(firm) -> None:
    for profile, docs in by_situation(firm, "tight_payroll"):
        runs = payroll_runs(docs)
        last_run = runs[-1][1]
        cash = operating_cash(docs)
        assert last_run <= cash < Decimal("1.5") * last_run, profile.name
        assert_payroll_calendar(profile, [d for d, _ in runs])
        next_run = min(d for d in payroll_dates_after(profile) if d > TODAY)
        assert (next_run - TODAY).days <= (7 if profile.payroll_freq == "biweekly" else 16), (
            profile.name
        )


def assert_payroll_calendar(profile, days: list[date]) -> None:
    """Bi-weekly: every 14 days.

    Semi-monthly: the 15th and the month's last day (or the Friday before)."""
    if profile.payroll_freq == "biweekly":
        assert {(b - a).days for a, b in zip(days, days[1:], strict=False)} == {14}, profile.name
        return
    for d in days:
        month_end = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert d.weekday() < 5 and (
            0 <= (d.replace(day=15) - d).days <= 2 or 0 <= (month_end - d).days <= 2
        ), d


def payroll_dates_after(profile) -> list[date]:
    from sandbox.demo.books import Books
    from sandbox.demo.generate import company_rng, history_start
    from sandbox.demo.master import setup_company

    books = Books(company_rng(SEED, profile), profile.tz, TODAY, history_start(TODAY))
    return [date.fromordinal(d) for d in payroll_dates(setup_company(books, profile, 1.0))]


def test_healthy_companies_hold_months_of_payroll(firm) -> None:
    for profile, docs in by_situation(firm, "healthy"):
        assert operating_cash(docs) > 6 * payroll_runs(docs)[-1][1], profile.name


def test_heavy_payables_carry_much_more_overdue_ap(firm) -> None:
    def overdue_ap(docs) -> Decimal:
        return sum((money(b["Balance"]) for b in docs["Bill"] if day(b["DueDate"]) < TODAY), ZERO)

    heavy = [overdue_ap(docs) for _, docs in by_situation(firm, "heavy_payables")]
    healthy = [overdue_ap(docs) for _, docs in by_situation(firm, "healthy")]
    assert min(heavy) > 5 * max(max(healthy), Decimal(1))


def test_near_breach_company_burns_cash(firm) -> None:
    ((profile, docs),) = by_situation(firm, "near_breach")
    since = TODAY - timedelta(days=90)
    inflow = sum((money(p["TotalAmt"]) for p in docs["Payment"] if day(p["TxnDate"]) > since), ZERO)
    outflow = sum((money(r[1]) for r in payroll_runs(docs) if r[0] > since), ZERO) + sum(
        (money(b["TotalAmt"]) for b in docs["BillPayment"] if day(b["TxnDate"]) > since), ZERO
    )
    assert outflow > inflow
    assert operating_cash(docs) < 3 * payroll_runs(docs)[-1][1]


def test_open_items_fall_in_every_aging_bucket(firm) -> None:
    ap_buckets: set[str] = set()
    for profile, docs in firm.values():
        ar = {
            aging_bucket(day(i["DueDate"]), TODAY)
            for i in docs["Invoice"]
            if money(i["Balance"]) > 0 and "DueDate" in i
        }
        assert ar == BUCKETS, profile.name
        ap_buckets |= {
            aging_bucket(day(b["DueDate"]), TODAY)
            for b in docs["Bill"]
            if money(b["Balance"]) > 0 and "DueDate" in b
        }
    assert ap_buckets == BUCKETS


def test_some_overdue_invoices_were_already_reminded(firm) -> None:
    for profile, docs in firm.values():
        reminded = [
            i
            for i in docs["Invoice"]
            if money(i["Balance"]) > 0
            and "DeliveryInfo" in i
            and "DueDate" in i
            and i["DeliveryInfo"]["DeliveryTime"][:10] > i["DueDate"]
        ]
        assert reminded, profile.name
        for invoice in docs["Invoice"]:
            assert ("BillEmail" in invoice) == (invoice["EmailStatus"] != "NotSet")


def test_recurring_spend_is_posted_the_way_agencies_post_it(firm) -> None:
    for profile, docs in firm.values():
        vendors = {v["Id"]: v["DisplayName"] for v in docs["Vendor"]}
        rent = [b for b in docs["Bill"] if "rent" in b["Line"][0]["Description"].lower()]
        assert len({b["TxnDate"][:7] for b in rent}) >= 18, profile.name
        card = {
            p["EntityRef"]["name"] for p in docs["Purchase"] if p["PaymentType"] == "CreditCard"
        }
        assert {"Slack", "Adobe Creative Cloud", "Google Workspace"} <= card
        taxes = [
            p
            for p in docs["Purchase"]
            if vendors.get(p.get("EntityRef", {}).get("value")) == "Internal Revenue Service"
        ]
        assert {p["TxnDate"][5:7] for p in taxes} == {"01", "04", "06", "09"}, profile.name
        contractors = [v for v in docs["Vendor"] if v["Vendor1099"]]
        assert contractors and all(
            any(b["VendorRef"]["value"] == v["Id"] for b in docs["Bill"]) for v in contractors
        )
        assert len(payroll_runs(docs)) >= 36
        assert_payroll_calendar(profile, [d for d, _ in payroll_runs(docs)])


def test_names_come_as_real_ones_do(firm) -> None:
    names = {
        c["DisplayName"] for _, docs in firm.values() for c in docs["Customer"] + docs["Vendor"]
    }
    assert any("'" in n for n in names) and any("&" in n for n in names)
    assert any(any(ord(ch) > 127 for ch in n) for n in names)


def test_scale_firm_company_keeps_its_situation() -> None:
    profile = firm_profiles(SEED, 16)[15]  # cycles back to the fourth situation
    assert profile.situation == "tight_payroll"
    docs = generate_company(profile, SEED, TODAY)
    assert operating_cash(docs) < Decimal("1.5") * payroll_runs(docs)[-1][1]
