"""The cash documents real agency books hold besides invoices and bills: credit memos and vendor
credits (some applied by a payment, some still open), a few cash sales and a refund, transfers
between savings and checking, a line-of-credit draw and repayment, estimates (pending, accepted
and often invoiced, rejected, expired), customer checks batched through Undeposited Funds into
deposits, and the company's CAD exchange rates.

They are added after the simulation ran and before ``calibrate`` (which sees their cash
movements), with a random stream of their own: the main stream, and so every document the
other generators made, stays exactly as it was. Counts and amounts are drawn, never fixed.
"""

from __future__ import annotations

import random
from datetime import date

from sandbox.demo.books import DAY, Books, Party, Rec, business_day, month_starts
from sandbox.demo.master import CAD, Company
from sandbox.demo.payables import Payables
from sandbox.demo.receivables import Receivables

SERVICE_CREDIT_NOTES = (
    "Service credit — missed launch date",
    "Credit for hours billed twice",
    "Goodwill credit — revised deliverables",
    "Credit for cancelled phase",
)
VENDOR_CREDIT_NOTES = (
    "Credit for unused licences",
    "Credit — rework not billable",
    "Refund of overbilled hours",
)
WORKSHOPS = (
    "Brand strategy workshop",
    "Half-day content sprint",
    "Website audit",
    "Paid-media health check",
)


class CashDocs:
    def __init__(
        self, company: Company, receivables: Receivables, payables: Payables, rng: random.Random
    ) -> None:
        self.company = company
        self.books: Books = company.books
        self.ar = receivables
        self.ap = payables
        self.rng = rng
        self.estimate_number = 100 + rng.randrange(0, 400)
        self.receipt_number = 5000 + rng.randrange(0, 900)

    # ---- helpers ------------------------------------------------------------------------
    def moment(self, day: int, lo_hour: int = 8, hi_hour: int = 18) -> int:
        return self.books.stamps.cap(day * DAY + self.rng.randrange(lo_hour * 3600, hi_hour * 3600))

    def add(self, rec: Rec, created: int | None = None) -> Rec:
        return self.books.add(rec, created if created is not None else self.moment(rec.day))

    def dollars(self, share: float, lo: float, hi: float, step: int = 10_000) -> int:
        """An amount around ``share`` of monthly revenue, in whole ``step`` cents."""
        amount = self.company.revenue * share * self.rng.uniform(lo, hi)
        return max(step, round(amount / step) * step)

    def usd_customers(self) -> list[Party]:
        return [c for c in self.company.customers if c.currency["value"] == "USD"]

    # ---- accounts ------------------------------------------------------------------------
    def _undeposited_account(self) -> Party:
        books = self.books
        account = Party(
            "Account",
            "Undeposited Funds",
            type="Other Current Asset",
            sub_type="UndepositedFunds",
            classification="Asset",
            parent=None,
            currency=dict(self.company.accounts["bank"].currency),
            key="undeposited",
        )
        account.id = books.new_id()
        account.created = account.updated = books.start * DAY + 7 * 3600 + 1800
        books.parties.append(account)
        self.company.accounts["undeposited"] = account
        return account

    # ---- the whole pass ------------------------------------------------------------------
    def add_all(self) -> None:
        funds = self._undeposited_account()
        limit = self._credit_line()
        self.company.accounts["loc"].attrs["description"] = (
            f"Revolving line of credit, limit ${limit // 100:,}"
        )
        self._applied_credit_memos()
        self._open_credit_memos()
        self._vendor_credits()
        self._cash_sales(funds)
        self._refund()
        self._savings_transfers()
        self._estimates()
        self._batch_through_undeposited(funds)
        self._exchange_rates()

    # ---- customer credits ----------------------------------------------------------------
    def _single_payments(self) -> list[Rec]:
        """Payments settling exactly one USD invoice in full, nothing unapplied, not voided."""
        return [
            p
            for p in self.ar.payments
            if not p.voided
            and len(p.lines) == 1
            and not p.extra.get("unapplied")
            and p.party.currency["value"] == "USD"
            and p.lines[0][1] == p.lines[0][0].total
            and p.lines[0][0].total >= 100_000
            and p.day - p.lines[0][0].day >= 5
        ]

    def _applied_credit_memos(self) -> None:
        """A credit memo issued after the invoice and used by the payment that settled it: the
        payment links both and brings in the invoice less the credit."""
        candidates = self._single_payments()
        count = min(len(candidates), self.rng.randint(2, 5))
        for payment in self.rng.sample(candidates, count):
            invoice, _ = payment.lines[0]
            share = self.rng.choice((5, 8, 10, 12, 15))
            amount = max(5_000, invoice.total * share // 100 // 500 * 500)
            day = self.rng.randrange(invoice.day + 1, payment.day)
            memo = self._credit_memo(day, invoice.party, amount)
            payment.extra.setdefault("credits", []).append((memo, amount))
            payment.total -= amount
            memo.applied.append((payment, amount))
            memo.touch(payment.created + self.rng.randrange(1, 30))

    def _credit_memo(self, day: int, customer: Party, amount: int) -> Rec:
        memo = self.add(Rec("CreditMemo", day, customer, self.company.accounts["ar"]))
        item = self.rng.choice(self.company.items[1:])
        memo.lines = [(item, self.rng.choice(SERVICE_CREDIT_NOTES), 1, amount, amount)]
        memo.total = amount
        self.ar.doc_number += 1
        memo.extra["doc_number"] = f"CM-{self.ar.doc_number}"
        return memo

    def _open_credit_memos(self) -> None:
        """Credits not yet used: one that covers an overdue invoice of the same customer (the
        customer is owed it, not chased), and sometimes a smaller one on another customer."""
        today = self.books.today
        overdue = [
            inv
            for inv in self.ar.invoices
            if not inv.voided
            and inv.balance > 0
            and inv.due_day < today - 5
            and inv.party.currency["value"] == "USD"
            and not inv.party.attrs.get("anchor")
            and not inv.extra.get("no_due")
        ]
        if overdue:
            invoice = self.rng.choice(overdue)
            day = self.rng.randrange(max(invoice.day + 1, today - 40), today)
            self._credit_memo(day, invoice.party, invoice.balance)
        if self.rng.random() < 0.7:
            customer = self.rng.choice(self.usd_customers())
            day = today - self.rng.randrange(3, 75)
            self._credit_memo(day, customer, self.dollars(0.01, 0.5, 1.5, 5_000))

    # ---- vendor credits ------------------------------------------------------------------
    def _vendor_credits(self) -> None:
        payments = [
            bp
            for bp in self.ap.bill_payments
            if not bp.voided
            and len(bp.lines) == 1
            and bp.lines[0][1] == bp.lines[0][0].total
            and bp.lines[0][0].total >= 50_000
            and bp.day - bp.lines[0][0].day >= 5
        ]
        for bill_payment in self.rng.sample(payments, min(len(payments), self.rng.randint(1, 3))):
            bill, _ = bill_payment.lines[0]
            amount = max(2_500, bill.total * self.rng.choice((5, 10, 20)) // 100 // 500 * 500)
            credit = self._vendor_credit(
                self.rng.randrange(bill.day + 1, bill_payment.day), bill.party, amount
            )
            bill_payment.extra.setdefault("credits", []).append((credit, amount))
            bill_payment.total -= amount
            credit.applied.append((bill_payment, amount))
            credit.touch(bill_payment.created + self.rng.randrange(1, 30))
        vendor = self.rng.choice(
            self.company.contractors()
            + [self.company.vendors["crm"], self.company.vendors["lawyer"]]
        )
        day = self.books.today - self.rng.randrange(2, 50)
        self._vendor_credit(day, vendor, self.dollars(0.004, 0.5, 2.0, 2_500))

    def _vendor_credit(self, day: int, vendor: Party, amount: int) -> Rec:
        credit = self.add(Rec("VendorCredit", day, vendor, self.company.accounts["ap"]))
        credit.lines = [(vendor.account, self.rng.choice(VENDOR_CREDIT_NOTES), amount)]
        credit.total = amount
        credit.extra["doc_number"] = f"VC-{self.rng.randrange(1000, 99999)}"
        return credit

    # ---- cash sales and a refund ---------------------------------------------------------
    def _cash_sales(self, funds: Party) -> None:
        """A few one-off workshops paid on the spot (no invoice): by card straight to checking or
        by check into Undeposited Funds."""
        books = self.books
        for _ in range(self.rng.randint(3, 6)):
            day = business_day(self.rng.randrange(books.start + 10, books.today + 1), False)
            customer = self.rng.choice(self.usd_customers())
            item = self.rng.choice(self.company.items[1:])
            amount = self.dollars(0.015, 0.6, 1.6, 5_000)
            account = funds if self.rng.random() < 0.4 else self.company.bank
            sale = self.add(Rec("SalesReceipt", day, customer, account))
            sale.lines = [(item, self.rng.choice(WORKSHOPS), 1, amount, amount)]
            sale.total = amount
            self.receipt_number += 1
            sale.extra["doc_number"] = str(self.receipt_number)

    def _refund(self) -> None:
        """One customer got money back from checking (a cancelled engagement)."""
        books = self.books
        sales = [r for r in books.records if r.kind == "SalesReceipt"]
        day = books.today - self.rng.randrange(10, 200)
        if sales and self.rng.random() < 0.6:
            sale = self.rng.choice(sales)
            customer, amount = sale.party, sale.total // 2 // 500 * 500
            day = max(day, sale.day + 3)
        else:
            customer, amount = (
                self.rng.choice(self.usd_customers()),
                self.dollars(0.006, 0.5, 1.5, 5_000),
            )
        refund = self.add(Rec("RefundReceipt", min(day, books.today), customer, self.company.bank))
        item = self.rng.choice(self.company.items[1:])
        refund.lines = [(item, "Refund — cancelled engagement", 1, amount, amount)]
        refund.total = amount
        self.receipt_number += 1
        refund.extra["doc_number"] = str(self.receipt_number)

    # ---- transfers -----------------------------------------------------------------------
    def _transfer(self, day: int, source: Party, target: Party, amount: int, note: str) -> Rec:
        rec = self.add(Rec("Transfer", day, None, source))
        rec.extra["to"] = target
        rec.total = amount
        rec.note = note
        return rec

    def _savings_transfers(self) -> None:
        """Companies with savings sweep some cash there each quarter and bring a little back."""
        accounts, books = self.company.accounts, self.books
        savings = accounts.get("savings")
        if savings is None:
            return
        into = 0
        quarters = [
            first
            for first in month_starts(books.start + 20, books.today - 10)
            if first.month in (1, 4, 7, 10)
        ]
        for first in quarters:
            if self.rng.random() < 0.25:
                continue  # some quarters nothing moves
            day = business_day(first.toordinal() + self.rng.randrange(3, 20))
            amount = self.dollars(0.12, 0.5, 1.5, 100_000)
            self._transfer(day, accounts["bank"], savings, amount, "Quarterly sweep to savings")
            into += amount
            if into and self.rng.random() < 0.4:
                back = min(into // 2, self.dollars(0.05, 0.5, 1.5, 100_000))
                later = business_day(day + self.rng.randrange(20, 60))
                if later <= books.today:
                    self._transfer(later, savings, accounts["bank"], back, "Transfer from savings")
                    into -= back

    def _credit_line(self) -> int:
        """A draw on the line of credit in a lean month and its repayment (in full for the
        healthy, in part for the stretched: what is left shows as drawn). Returns the limit."""
        accounts, books, situation = self.company.accounts, self.books, self.company.situation
        limit = max(2_500_000, round(self.company.revenue * 0.75 / 2_500_000) * 2_500_000)
        draw_day = business_day(books.today - self.rng.randrange(150, 300))
        draw = min(limit, self.dollars(0.35, 0.6, 1.4, 500_000))
        self._transfer(draw_day, accounts["loc"], accounts["bank"], draw, "Draw on line of credit")
        stretched = situation.key in ("tight_payroll", "near_breach", "heavy_payables")
        repaid = draw // 2 // 100_000 * 100_000 if stretched else draw
        pay_day = business_day(draw_day + self.rng.randrange(45, 120))
        if repaid and pay_day <= books.today:
            self._transfer(
                pay_day, accounts["bank"], accounts["loc"], repaid, "Line of credit repayment"
            )
        return limit

    # ---- estimates -----------------------------------------------------------------------
    def _estimate(self, day: int, customer: Party, lines: list[tuple], status: str) -> Rec:
        estimate = self.add(Rec("Estimate", day, customer, None))
        estimate.lines = lines
        estimate.total = sum(line[4] for line in lines)
        estimate.due = day + self.rng.choice((14, 30, 30, 45))  # ExpirationDate
        estimate.extra["status"] = status
        self.estimate_number += 1
        estimate.extra["doc_number"] = f"E-{self.estimate_number}"
        return estimate

    def _estimates(self) -> None:
        """Quotes before project work: most project invoices began as an accepted estimate (then
        Closed and linked to the invoice); others were rejected, expired unanswered, are
        accepted but not invoiced yet, or still pending."""
        books = self.books
        for invoice in self.ar.invoices:
            customer = invoice.party
            if (
                invoice.voided
                or customer.billing != "project"
                or customer.currency is CAD
                or self.rng.random() > 0.25
            ):
                continue
            day = invoice.day - self.rng.randrange(5, 30)
            if day < books.start:
                continue
            estimate = self._estimate(day, customer, list(invoice.lines), "Closed")
            estimate.extra["invoice"] = invoice
            estimate.extra["accepted"] = min(invoice.day, day + self.rng.randrange(1, 8))
            estimate.touch(invoice.created + self.rng.randrange(1, 60))
            invoice.extra.setdefault("estimates", []).append(estimate)
        customers = [
            c for c in self.usd_customers() if c.billing == "project"
        ] or self.usd_customers()
        plans = (
            ["Rejected"] * self.rng.randint(2, 5)
            + ["expired"] * self.rng.randint(1, 3)
            + ["Accepted"] * self.rng.randint(1, 3)
            + ["Pending"] * self.rng.randint(2, 4)
        )
        for plan in plans:
            if plan in ("Accepted", "Pending"):
                day = books.today - self.rng.randrange(0, 25)
            else:
                day = self.rng.randrange(books.start + 5, books.today - 60)
            customer = self.rng.choice(customers)
            lines = self.ar.project_lines(self.dollars(0.03, 0.5, 1.5, 5_000))
            status = "Pending" if plan == "expired" else plan
            estimate = self._estimate(day, customer, lines, status)
            if plan == "expired":
                estimate.due = day + 30
            if plan in ("Rejected", "Accepted"):
                answered = min(books.today, day + self.rng.randrange(2, 15))
                estimate.extra["accepted" if plan == "Accepted" else "rejected"] = answered
                estimate.touch(self.moment(answered))

    # ---- Undeposited Funds -----------------------------------------------------------------
    def _batch_through_undeposited(self, funds: Party) -> None:
        """Checks from customers who pay in weekly check runs (and some others) wait in
        Undeposited Funds; a deposit a business day or two later moves each day's checks to the
        bank together. The last ones are still waiting today."""
        books = self.books
        for payment in self.ar.payments:
            if payment.voided or payment.party.currency is CAD or payment.total <= 0:
                continue
            if payment.party.batch_payer or self.rng.random() < 0.12:
                payment.account = funds
        waiting = sorted(
            [
                r
                for r in books.records
                if r.kind in ("Payment", "SalesReceipt") and r.account is funds and not r.voided
            ],
            key=lambda r: (r.day, int(r.id)),
        )
        trips = set(self.rng.sample(range(5), 2))  # the owner goes to the bank twice a week
        by_day: dict[int, list[Rec]] = {}
        for rec in waiting:
            deposit_day = rec.day + 1
            while date.fromordinal(deposit_day).weekday() not in trips:
                deposit_day += 1
            if self.rng.random() < 0.15:  # a busy week: the trip slips
                deposit_day = business_day(deposit_day + self.rng.randrange(1, 4))
            by_day.setdefault(deposit_day, []).append(rec)
        for day in sorted(by_day):
            if day > books.today or (day == books.today and self.rng.random() < 0.5):
                continue  # not deposited yet
            items = by_day[day]
            created = max(self.moment(day), max(r.created for r in items) + 60)
            if created > books.stamps.limit:
                continue
            deposit = self.add(Rec("Deposit", day, None, self.company.bank), created)
            deposit.extra["linked"] = [(r, r.total) for r in items]
            deposit.total = sum(r.total for r in items)
            deposit.note = f"Deposit of {len(items)} check{'s' if len(items) > 1 else ''}"
            for rec in items:
                rec.extra["deposit"] = deposit
                rec.touch(deposit.created + self.rng.randrange(1, 30))

    # ---- exchange rates ------------------------------------------------------------------
    def _exchange_rates(self) -> None:
        """The CAD rates QuickBooks keeps for a multicurrency company: one per month (the rate
        its CAD documents were booked at) and today's."""
        if not self.company.profile.foreign_client:
            return
        books = self.books
        days = [first.toordinal() for first in month_starts(books.start, books.today)]
        days = [d for d in days if d >= books.start] + [books.today]
        for day in sorted(set(days)):
            rate = self.ar._fx(day)
            if day == books.today:
                rate = round(rate + self.rng.uniform(-0.002, 0.002), 4)
            rec = self.add(Rec("ExchangeRate", day, None, None), self.moment(day, 0, 6))
            rec.extra["rate"] = rate
            rec.total = 0


def cash_rng(seed: int, realm_id: str) -> random.Random:
    """The extras' own stream (derived from the seed and the company, not from the main one)."""
    from sandbox.demo.profiles import derive_int

    return random.Random(derive_int("cash-docs", seed, realm_id))


__all__ = ["CashDocs", "cash_rng"]
