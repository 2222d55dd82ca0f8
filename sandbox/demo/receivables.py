"""Sales side: invoices every month per customer, and payments that follow each customer's habit."""

from __future__ import annotations

from datetime import date

from sandbox.demo.books import Books, Party, Rec, business_day, month_day, month_starts
from sandbox.demo.master import CAD, HABITS, Company

PRIORITY_INVOICE = 1
PRIORITY_PAYMENT = 2


class Receivables:
    """Issues invoices and applies customer payments through the company's event queue."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.books: Books = company.books
        self.pending: dict[tuple[int, str], list[tuple[Rec, int]]] = {}
        self.doc_number = 1000 + self.books.rng.randrange(0, 900)
        self.invoices: list[Rec] = []
        self.payments: list[Rec] = []

    # ---- schedule -----------------------------------------------------------------------
    def schedule(self) -> None:
        books, company = self.books, self.company
        months = month_starts(books.start, books.today)
        growth = company.situation.growth_per_month
        for m, first in enumerate(months):
            monthly = company.revenue * (1 + growth) ** (m - len(months) + 1)
            for customer in company.customers:
                if not customer.start_month <= m < customer.end_month:
                    continue
                target = int(monthly * customer.share)
                if customer.billing == "retainer":
                    self._retainer(first, m, customer, target)
                else:
                    self._project(first, customer, target)
        self._forced_aging()

    def _retainer(self, first: date, m: int, customer: Party, target: int) -> None:
        amount = max(100_000, round(customer.share * self.company.revenue / 25_000) * 25_000)
        if m >= 12:
            amount = round(amount * 1.05 / 5_000) * 5_000
        day = first.toordinal()
        if day < self.books.start:
            return
        label = first.strftime("%B %Y")
        retainer = self.company.items[0]
        lines = [(retainer, f"Monthly retainer — {label}", 1, amount, amount)]
        if self.books.rng.random() < 0.2:
            lines.append(self._hours_line(max(target // 6, 50_000), f"Additional hours — {label}"))
        self.books.at(day, PRIORITY_INVOICE, self.issue, customer, lines)

    def _project(self, first: date, customer: Party, target: int) -> None:
        rng = self.books.rng
        count = 1 if target < 800_000 else 2
        for _ in range(count):
            day = month_day(first, rng.randrange(1, 29))
            if day < self.books.start:
                continue
            amount = int(target / count * rng.uniform(0.6, 1.4))
            self.books.at(day, PRIORITY_INVOICE, self.issue, customer, self.project_lines(amount))

    def project_lines(self, amount: int) -> list[tuple]:
        rng = self.books.rng
        parts = rng.choice((1, 1, 2, 3))
        return [self._hours_line(max(amount // parts, 40_000)) for _ in range(parts)]

    def _hours_line(self, amount: int, description: str | None = None) -> tuple:
        rng = self.books.rng
        item = rng.choice(self.company.items[1:])
        rate = rng.choice((125, 140, 150, 165, 175, 195, 225)) * 100
        hours = max(1, round(amount / rate))
        return (item, description or f"{item.name} — {hours} h", hours, rate, hours * rate)

    def _forced_aging(self) -> None:
        """Open overdue invoices in the 31–60, 61–90 and 91+ buckets.

        Among them a dispute and a forgotten one."""
        books, rng = self.books, self.books.rng
        candidates = [
            c
            for c in self.company.customers
            if c.habit != "anchor" and c.currency["value"] == "USD"
        ]
        notes = (
            None,
            None,
            "Client asked for a revised scope",
            "Disputed — awaiting client sign-off",
        )
        for (lo, hi), note in zip(((3, 25), (33, 58), (63, 88), (100, 200)), notes, strict=True):
            customer = rng.choice(candidates)
            day = books.today - rng.randrange(lo, hi) - customer.term.due_days
            if day >= books.start:
                amount = int(self.company.revenue * rng.uniform(0.01, 0.04))
                books.at(
                    day,
                    PRIORITY_INVOICE,
                    self.issue,
                    customer,
                    self.project_lines(amount),
                    True,
                    note,
                )

    # ---- events -------------------------------------------------------------------------
    def issue(
        self,
        day: int,
        customer: Party,
        lines: list[tuple],
        hold: bool = False,
        note: str | None = None,
        no_due: bool = False,
    ) -> Rec:
        """Create an invoice; unless ``hold``, schedule when the customer pays it."""
        books, rng = self.books, self.books.rng
        invoice = books.add(Rec("Invoice", day, customer, self._ar(customer)))
        invoice.lines = lines
        invoice.total = sum(line[4] for line in lines)
        invoice.term = customer.term
        invoice.due = day + customer.term.due_days
        invoice.note = note
        self.doc_number += 1
        invoice.extra["doc_number"] = str(self.doc_number)
        invoice.extra["no_due"] = no_due
        if customer.currency is CAD:
            invoice.extra["fx"] = self._fx(day)
        if not customer.email:
            invoice.extra["email_status"] = "NotSet"
        elif day >= books.today - 2 and rng.random() < 0.5:
            invoice.extra["email_status"] = "NeedToSend"
        else:
            invoice.extra["email_status"] = "EmailSent"
            invoice.extra["delivered"] = books.stamps.cap(invoice.created + rng.randrange(60, 1800))
        self.invoices.append(invoice)
        if not hold:
            self._plan_payment(invoice)
        return invoice

    def _plan_payment(self, invoice: Rec) -> None:
        rng, customer = self.books.rng, invoice.party
        mean, sd, earliest = HABITS[customer.habit]
        lag = max(earliest, round(rng.gauss(mean, sd)))
        day = max(invoice.day + 1, invoice.due_day + lag)
        day = self._snap(day, customer)
        if customer.partial and invoice.total >= 300_000 and rng.random() < 0.3:
            first = invoice.total * rng.choice((50, 60, 70)) // 100
            self.expect(day, invoice, first)
            self.expect(
                self._snap(day + rng.randrange(10, 35), customer), invoice, invoice.total - first
            )
        else:
            self.expect(day, invoice, invoice.total)

    def _snap(self, day: int, customer: Party) -> int:
        """Batch payers pay in a weekly check run (Thursdays); everyone pays on business days."""
        if customer.batch_payer:
            return day + (3 - date.fromordinal(day).weekday()) % 7
        return business_day(day)

    def expect(self, day: int, invoice: Rec, amount: int) -> None:
        """The customer will pay ``amount`` of ``invoice`` on ``day``.

        Expected payments are grouped per customer and day."""
        key = (day, invoice.party.id)
        if key not in self.pending:
            self.pending[key] = []
            self.books.at(day, PRIORITY_PAYMENT, self._receive, key)
        self.pending[key].append((invoice, amount))

    def _receive(self, day: int, key: tuple[int, str]) -> None:
        items = self.pending.pop(key)
        live = [(inv, amount) for inv, amount in items if not inv.voided]
        if live:
            self.pay(day, live[0][0].party, live)

    def pay(
        self, day: int, customer: Party, items: list[tuple[Rec, int]], unapplied: int = 0
    ) -> Rec:
        """Record a Payment applying ``items`` (+ ``unapplied`` cents left on account)."""
        rng = self.books.rng
        payment = Rec("Payment", day, customer, self._bank(customer))
        self.books.add(payment)
        payment.lines = list(items)
        payment.total = sum(amount for _, amount in items) + unapplied
        payment.extra["unapplied"] = unapplied
        payment.extra["ref"] = str(rng.randrange(1000, 99999)) if rng.random() < 0.4 else None
        if customer.currency is CAD:
            payment.extra["fx"] = self._fx(day)
        for invoice, amount in items:
            invoice.applied.append((payment, amount))
            invoice.touch(payment.created + rng.randrange(1, 30))
        self.payments.append(payment)
        return payment

    def _bank(self, customer: Party) -> Party:
        accounts = self.company.accounts
        return accounts["bank_cad"] if customer.currency is CAD else accounts["bank"]

    def _ar(self, customer: Party) -> Party:
        accounts = self.company.accounts
        return accounts["ar_cad"] if customer.currency is CAD else accounts["ar"]

    def _fx(self, day: int) -> float:
        """USD per CAD, drifting a little month to month."""
        month = date.fromordinal(day).month
        return round(self.company.fx_rate + ((month * 37) % 11 - 5) / 1000, 4)
