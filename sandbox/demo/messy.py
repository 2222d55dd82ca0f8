"""Messy books: the defects the hygiene flags look for, each placed on purpose so that every
messy company has all of them whatever the seed — documents without due dates, likely duplicate
bills, unapplied payments, voided and deleted documents (customers without e-mail come from
``master``)."""

from __future__ import annotations

from sandbox.demo.books import Books, Rec
from sandbox.demo.master import Company
from sandbox.demo.payables import Payables
from sandbox.demo.receivables import Receivables

PRIORITY_DEFECT = 5


class Mess:
    def __init__(self, company: Company, receivables: Receivables, payables: Payables) -> None:
        self.company = company
        self.books: Books = company.books
        self.ar = receivables
        self.ap = payables

    def schedule(self) -> None:
        books, rng = self.books, self.books.rng
        lo, hi = books.start + 30, books.today - 10
        recent = books.today - 110

        def days(count: int, first: int = lo, last: int = hi) -> list[int]:
            return sorted(rng.randrange(first, last) for _ in range(count))

        for day in days(rng.randint(2, 4)):
            books.at(day, PRIORITY_DEFECT, self._voided_invoice)
        for day in days(rng.randint(1, 2)):
            books.at(day, PRIORITY_DEFECT, self._reissued_check)
        for day in days(
            1, recent - 120, books.today - 100
        ):  # bounced and paid again well before today
            books.at(day, PRIORITY_DEFECT, self._bounced_payment)
        for day in days(rng.randint(1, 2)):
            books.at(day, PRIORITY_DEFECT, self._prepayment)
        for day in days(1, recent):
            books.at(day, PRIORITY_DEFECT, self._overpayment)
        for day in days(rng.randint(3, 5), recent):
            books.at(day, PRIORITY_DEFECT, self._without_due_date)
        for day in days(rng.randint(2, 3), recent):
            books.at(day, PRIORITY_DEFECT, self._duplicate_bill)
        for day in days(rng.randint(3, 5)):
            books.at(day, PRIORITY_DEFECT, self._deleted)

    # ---- helpers ------------------------------------------------------------------------
    def _customer(self):
        return self.books.rng.choice(
            [c for c in self.company.customers if c.currency["value"] == "USD"]
        )

    def _lines(self) -> list[tuple]:
        return self.ar.project_lines(int(self.company.revenue * self.books.rng.uniform(0.01, 0.03)))

    def _void(self, day: int, rec: Rec) -> None:
        """QBO voids keep the document with zero amounts and a 'Voided' note."""
        rec.voided = True
        rec.note = "Voided"
        rec.touch(self.books.moment(day))
        for target, _ in list(rec.lines) if rec.kind in ("Payment", "BillPayment") else []:
            target.applied = [(p, a) for p, a in target.applied if p is not rec]
            target.touch(rec.updated + 1)

    # ---- defects ------------------------------------------------------------------------
    def _voided_invoice(self, day: int) -> None:
        invoice = self.ar.issue(day, self._customer(), self._lines(), hold=True)
        self.books.at(day + self.books.rng.randrange(0, 4), PRIORITY_DEFECT, self._void, invoice)

    def _reissued_check(self, day: int) -> None:
        """A check to a contractor got lost: voided, then a new check paid the bill."""
        vendor = self.books.rng.choice(self.company.contractors())
        bill = self.ap.enter(
            day, vendor, [(vendor.account, "Illustration work", 250_000)], hold=True
        )
        first = self.ap.pay(day + 3, vendor, [(bill, bill.total)])
        self.books.at(day + 6, PRIORITY_DEFECT, self._void, first)
        self.ap.expect(day + 8, bill, bill.total)

    def _bounced_payment(self, day: int) -> None:
        """A customer's check bounced: the payment is voided and the invoice paid again later."""
        customer = self._customer()
        invoice = self.ar.issue(day, customer, self._lines(), hold=True)
        paid = invoice.due_day + 2
        self.books.at(paid, PRIORITY_DEFECT, self._pay_then_bounce, invoice)

    def _pay_then_bounce(self, day: int, invoice: Rec) -> None:
        payment = self.ar.pay(day, invoice.party, [(invoice, invoice.total)])
        self.books.at(day + 4, PRIORITY_DEFECT, self._void, payment)
        self.ar.expect(day + 20, invoice, invoice.total)

    def _prepayment(self, day: int) -> None:
        """Money received and never applied to an invoice (sits unapplied on the customer)."""
        amount = self.books.rng.randrange(100_000, 800_000, 5_000)
        payment = self.ar.pay(day, self._customer(), [], unapplied=amount)
        payment.note = "Deposit for upcoming work"

    def _overpayment(self, day: int) -> None:
        invoice = self.ar.issue(day, self._customer(), self._lines(), hold=True)
        extra = self.books.rng.randrange(5_000, 60_000)
        self.books.at(invoice.due_day + 3, PRIORITY_DEFECT, self._pay_over, invoice, extra)

    def _pay_over(self, day: int, invoice: Rec, extra: int) -> None:
        self.ar.pay(day, invoice.party, [(invoice, invoice.total)], unapplied=extra)

    def _without_due_date(self, day: int) -> None:
        """An invoice and a bill typed in without terms or due date; left open."""
        self.ar.issue(day, self._customer(), self._lines(), hold=True, no_due=True)
        vendor = self.books.rng.choice(self.company.contractors())
        amount = self.books.rng.randrange(40_000, 400_000, 500)
        self.ap.enter(
            day, vendor, [(vendor.account, "Production support", amount)], hold=True, no_due=True
        )

    def _duplicate_bill(self, day: int) -> None:
        """The same vendor invoice entered twice a few days apart; only the first one gets paid."""
        rng = self.books.rng
        vendor = rng.choice(self.company.contractors() + [self.company.vendors["lawyer"]])
        lines = [
            (vendor.account, "Services — see vendor invoice", rng.randrange(60_000, 500_000, 500))
        ]
        first = self.ap.enter(day, vendor, lines)
        self.books.at(day + rng.randrange(1, 5), PRIORITY_DEFECT, self._enter_again, first)

    def _enter_again(self, day: int, first: Rec) -> None:
        duplicate = self.ap.enter(day, first.party, list(first.lines), hold=True)
        duplicate.extra["doc_number"] = first.extra.get("doc_number")

    def _deleted(self, day: int) -> None:
        self.books.skip_ids(self.books.rng.randint(1, 2))
