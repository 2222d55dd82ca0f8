"""Named fixture variants for the runway tests (small, hand-computable companies)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.runway.factory import Company

AS_OF = date(2026, 11, 20)  # a Friday


def days(n: int) -> timedelta:
    return timedelta(days=n)


def agency_example(realm: str = "r-agency", as_of: date = AS_OF, rent_due_in: int = 15) -> Company:
    """cash-domain.md's worked example: 180k cash, 70k payroll on the 1st and 15th, 12k rent in
    week 3, a 90k receivable from a customer who pays 20 days late, reserve 40k (set in settings).
    ``rent_due_in``: days from ``as_of`` to the rent's due date (15 = 12-05, just outside the
    tray)."""
    c = Company(realm, name="Worked Example Agency")
    c.bank(180000)
    client = c.customer("Slow Big Client", email="ap@slow.test")
    for k in range(4):  # paid history: always exactly 20 days late
        inv = c.invoice(client, as_of - days(120 + 30 * k), as_of - days(90 + 30 * k), 20000)
        c.pay_invoice(inv, as_of - days(70 + 30 * k))
    c.invoice(
        client, as_of - days(10), as_of + days(6), 90000
    )  # due 11-26, expected 12-16 (after the 12-15 payroll)
    c.payroll_runs(
        [date(2026, m, d) for m in range(5, 12) for d in (1, 15) if date(2026, m, d) <= as_of],
        70000,
    )
    landlord = c.vendor("Downtown Properties")
    c.bill(landlord, as_of, as_of + days(rent_due_in), 12000)  # 12-05: week 2 (days 14-20)
    return c


def small_company(realm: str = "r-small") -> Company:
    c = Company(realm, name="Small Shop")
    c.bank(5000)
    return c


@pytest.fixture
def agency() -> Company:
    return agency_example()
