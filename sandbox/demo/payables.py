"""Purchasing side: vendor bills (rent, insurance, utilities, software, contractors, advisers) and
the bill payments (checks from the operating account) that settle them on the company's habits."""

from __future__ import annotations

from datetime import date

from sandbox.demo.books import Books, Party, Rec, business_day, month_day, month_starts
from sandbox.demo.master import Company

PRIORITY_BILL = 1
PRIORITY_BILL_PAYMENT = 3
MUST_PAY_ROLES = ("rent", "insurance", "power", "internet")


class Payables:
    """Enters bills and pays them through the company's event queue."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.books: Books = company.books
        self.pending: dict[tuple[int, str], list[tuple[Rec, int]]] = {}
        self.check_number = 1000 + self.books.rng.randrange(0, 4000)
        self.bills: list[Rec] = []
        self.bill_payments: list[Rec] = []

    # ---- schedule -----------------------------------------------------------------------
    def schedule(self) -> None:
        company, books, rng = self.company, self.books, self.books.rng
        vendors, revenue = company.vendors, company.revenue
        months = month_starts(books.start, books.today)
        rent = round(revenue * rng.uniform(0.04, 0.06) / 10_000) * 10_000
        insurance = int(revenue * rng.uniform(0.006, 0.01))
        internet = rng.choice((18_999, 24_999, 32_999, 41_999))
        crm = round(revenue * rng.uniform(0.004, 0.008) / 100) * 100
        contractors = company.contractors()
        shares = [rng.uniform(0.5, 1.5) for _ in contractors]
        budget = revenue * company.situation.contractor_share
        for m, first in enumerate(months):
            label = first.strftime("%B %Y")
            raise_factor = 1.03 if m >= 12 else 1.0
            self._monthly(
                first, 1, vendors["rent"], round(rent * raise_factor), f"Office rent — {label}"
            )
            self._monthly(
                first, 5, vendors["insurance"], insurance, f"Business owner's policy — {label}"
            )
            self._monthly(first, 12, vendors["internet"], internet, f"Business internet — {label}")
            power = int(
                revenue
                * 0.0025
                * (1.4 if first.month in (1, 2, 7, 8) else 1.0)
                * rng.uniform(0.85, 1.15)
            )
            self._monthly(first, 18, vendors["power"], power, f"Electric service — {label}")
            self._monthly(first, 3, vendors["crm"], crm, f"HubSpot Marketing Hub — {label}")
            seats = company.headcount * 815
            self._monthly(
                first,
                8,
                vendors["atlassian"],
                seats,
                f"Jira & Confluence, {company.headcount} users",
            )
            if first.month in (1, 4, 7, 10):
                fee = rng.randrange(250_000, 600_000, 2_500)
                self._monthly(first, 20, vendors["accountant"], fee, "Quarterly bookkeeping review")
            if first.month == 3:
                fee = rng.randrange(350_000, 800_000, 5_000)
                self._monthly(first, 10, vendors["accountant"], fee, "Tax return preparation")
            if rng.random() < 0.25:
                fee = rng.randrange(120_000, 900_000, 5_000)
                self._monthly(
                    first, rng.randrange(2, 27), vendors["lawyer"], fee, "Contract review"
                )
            for contractor, share in zip(contractors, shares, strict=True):
                amount = int(budget * share / sum(shares))
                self._contractor(first, contractor, amount)
        if company.situation.forced_ap_aging:
            self._forced_aging()

    def _monthly(
        self, first: date, day_of_month: int, vendor: Party, amount: int, description: str
    ) -> None:
        day = month_day(first, day_of_month)
        if day >= self.books.start and amount > 0:
            lines = [(vendor.account, description, amount)]
            self.books.at(day, PRIORITY_BILL, self.enter, vendor, lines)

    def _contractor(self, first: date, contractor: Party, amount: int) -> None:
        rng = self.books.rng
        rate = contractor.rate * 100
        hours = max(4, round(amount / rate))
        day = month_day(first, 28)
        if day >= self.books.start:
            lines = [
                (
                    contractor.account,
                    f"Design & production — {hours} h at ${contractor.rate}/h",
                    hours * rate,
                )
            ]
            if rng.random() < 0.2:
                lines.append(
                    (
                        contractor.account,
                        "Stock assets and fonts (reimbursable)",
                        rng.randrange(2_000, 30_000),
                    )
                )
            self.books.at(day, PRIORITY_BILL, self.enter, contractor, lines)

    def _forced_aging(self) -> None:
        """Unpaid bills overdue into every aging bucket.

        Among them a disputed contractor and a forgotten adviser."""
        books, rng, company = self.books, self.books.rng, self.company
        choices = company.contractors() + [company.vendors["lawyer"], company.vendors["accountant"]]
        for lo, hi in ((3, 25), (35, 55), (65, 85), (95, 160)):
            vendor = rng.choice(choices)
            day = books.today - rng.randrange(lo, hi) - vendor.term.due_days
            if day >= books.start:
                amount = rng.randrange(80_000, 900_000, 500)
                lines = [(vendor.account, "Services rendered (see attached statement)", amount)]
                books.at(day, PRIORITY_BILL, self.enter, vendor, lines, True)

    # ---- events -------------------------------------------------------------------------
    def enter(
        self,
        day: int,
        vendor: Party,
        lines: list[tuple],
        hold: bool = False,
        no_due: bool = False,
        note: str | None = None,
    ) -> Rec:
        """Enter a bill (created up to 3 days after its date).

        Unless ``hold``, schedule its payment."""
        books, rng = self.books, self.books.rng
        created = books.moment(min(day + rng.choice((0, 0, 1, 2, 3)), books.today))
        bill = books.add(Rec("Bill", day, vendor, self.company.accounts["ap"]), created)
        bill.lines = lines
        bill.total = sum(line[2] for line in lines)
        bill.term = vendor.term
        bill.due = day + vendor.term.due_days
        bill.note = note
        bill.extra["no_due"] = no_due
        bill.extra["doc_number"] = (
            f"{rng.choice(('INV', 'B', ''))}{rng.randrange(1000, 999999)}"
            if rng.random() < 0.8
            else None
        )
        self.bills.append(bill)
        if not hold:
            self.expect(self._pay_day(bill), bill, bill.total)
        return bill

    def _pay_day(self, bill: Rec) -> int:
        rng, situation = self.books.rng, self.company.situation
        if bill.party.role in MUST_PAY_ROLES:
            delay = max(0, round(rng.gauss(0.5, 1.5))) + (
                rng.randrange(0, 8) if situation.ap_delay[0] > 8 else 0
            )
        else:
            delay = round(rng.gauss(*situation.ap_delay))
        day = max(bill.day + 1, bill.due_day + delay, bill.created // 86_400)
        return business_day(day)

    def expect(self, day: int, bill: Rec, amount: int) -> None:
        """Pay ``amount`` of ``bill`` on ``day`` (one check per vendor and day)."""
        key = (day, bill.party.id)
        if key not in self.pending:
            self.pending[key] = []
            self.books.at(day, PRIORITY_BILL_PAYMENT, self._pay_due, key)
        self.pending[key].append((bill, amount))

    def _pay_due(self, day: int, key: tuple[int, str]) -> None:
        items = self.pending.pop(key)
        self.pay(day, items[0][0].party, items)

    def pay(self, day: int, vendor: Party, items: list[tuple[Rec, int]]) -> Rec:
        """A BillPayment by check from the operating account."""
        rng = self.books.rng
        payment = self.books.add(Rec("BillPayment", day, vendor, self.company.bank))
        payment.lines = list(items)
        payment.total = sum(amount for _, amount in items)
        self.check_number += 1
        payment.extra["doc_number"] = str(self.check_number)
        for bill, amount in items:
            bill.applied.append((payment, amount))
            bill.touch(payment.created + rng.randrange(1, 30))
        self.bill_payments.append(payment)
        return payment
