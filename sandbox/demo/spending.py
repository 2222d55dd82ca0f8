"""Money that leaves without a bill: payroll runs (Gusto checks or ADP journal entries), card
spend on software and travel, the monthly card payment, quarterly estimated taxes, bank fees —
plus the small inflows (interest) and the opening balances."""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.demo.books import Books, Party, Rec, business_day, month_day, month_starts
from sandbox.demo.master import CARD_SOFTWARE, Company

PRIORITY_OPENING = 0
PRIORITY_SPEND = 4
EST_TAX_DATES = ((1, 15, "Q4"), (4, 15, "Q1"), (6, 15, "Q2"), (9, 15, "Q3"))


def payroll_dates(company: Company) -> list[int]:
    """Every pay day from the start of the history to three months past today."""
    books, profile = company.books, company.profile
    end = books.today + 92
    if profile.payroll_freq == "biweekly":
        # Pay on Fridays; tight-payroll companies pay within the coming week.
        next_friday = books.today + ((4 - date.fromordinal(books.today).weekday()) % 7 or 7)
        if company.situation.key != "tight_payroll" and books.rng.random() < 0.5:
            next_friday += 7
        first = next_friday - 14 * ((next_friday - books.start) // 14)
        return list(range(first, end + 1, 14))
    days = []
    for first_of_month in month_starts(books.start, end):
        for dom in (15, 31):
            day = business_day(month_day(first_of_month, dom), forward=False)
            if books.start <= day <= end:
                days.append(day)
    return days


def payroll_amounts(company: Company, day: int) -> tuple[int, int]:
    """(gross wages, employer taxes) of the run on ``day``; the rng decides small variations."""
    rng, situation = company.books.rng, company.situation
    gross = company.payroll_gross
    if situation.payroll_raise and day >= company.books.today - situation.payroll_raise[0] * 30:
        gross = int(gross * situation.payroll_raise[1])
    gross = int(gross * rng.uniform(0.985, 1.02))
    q1 = date.fromordinal(day).month <= 3
    taxes = int(gross * (0.0825 + (0.018 if q1 else 0.0)))
    return gross, taxes


class Spending:
    def __init__(self, company: Company) -> None:
        self.company = company
        self.books: Books = company.books
        self.card_charges: list[tuple[int, int]] = []
        self.card_paid = 0
        self.openings: dict[str, Rec] = {}

    def schedule(self) -> None:
        books, company = self.books, self.company
        self._openings()
        for day in payroll_dates(company):
            books.at(day, PRIORITY_SPEND, self._payroll)
        rng, revenue = books.rng, company.revenue
        for first in month_starts(books.start, books.today):
            for vendor_name, dom, price, per10 in CARD_SOFTWARE:
                seats = max(1, round(company.headcount * per10 / 10))
                amount = round(seats * price * 100)
                self._at(
                    month_day(first, dom),
                    self._card,
                    company.vendors[f"card:{vendor_name}"],
                    "exp_software",
                    f"{vendor_name} — {seats} seat{'s' if seats > 1 else ''}",
                    amount,
                )
            for _ in range(rng.randrange(2, 7)):
                role = rng.choice(("travel", "hotel", "meals", "meals"))
                account = "exp_meals" if role == "meals" else "exp_travel"
                amount = (
                    rng.randrange(1_800, 25_000)
                    if role == "meals"
                    else rng.randrange(18_000, 140_000)
                )
                self._at(
                    month_day(first, rng.randrange(1, 29)),
                    self._card,
                    company.vendors[role],
                    account,
                    "Client meeting" if role == "meals" else "Client visit",
                    amount,
                )
            self._at(business_day(month_day(first, 12)), self._card_payment)
            self._at(business_day(month_day(first, 2)), self._provider_fee)
            self._at(business_day(month_day(first, 31), forward=False), self._bank_fee)
            self._at(month_day(first, 31), self._interest, rng.randrange(500, 12_000))
            for month, dom, quarter in EST_TAX_DATES:
                if first.month == month:
                    year = first.year - 1 if quarter == "Q4" else first.year
                    fed = round(revenue * 3 * rng.uniform(0.03, 0.04) / 10_000) * 10_000
                    state = round(fed * 0.3 / 10_000) * 10_000
                    day = business_day(month_day(first, dom))
                    self._at(
                        day,
                        self._tax,
                        "tax_fed",
                        fed,
                        f"Form 1040-ES estimated tax, {quarter} {year}",
                    )
                    self._at(
                        day, self._tax, "tax_state", state, f"State estimated tax, {quarter} {year}"
                    )

    def _at(self, day: int, fn, *args) -> None:
        if day >= self.books.start:
            self.books.at(day, PRIORITY_SPEND, fn, *args)

    # ---- opening balances -------------------------------------------------------------
    def _openings(self) -> None:
        """Opening balance journal entries; their amounts are set by ``calibrate`` at the end."""
        books, accounts = self.books, self.company.accounts
        for key in ("bank", "savings"):
            if key in accounts:
                je = books.add(
                    Rec("JournalEntry", books.start, None, accounts[key]),
                    books.moment(books.start, 7, 8),
                )
                je.note = "Opening balance"
                je.extra["doc_number"] = "OB-" + key.upper()
                self.openings[key] = je

    # ---- events -----------------------------------------------------------------------
    def _payroll(self, day: int) -> None:
        company, books = self.company, self.books
        accounts, provider = company.accounts, company.vendors["payroll"]
        gross, taxes = payroll_amounts(company, day)
        period = date.fromordinal(day).isoformat()
        if company.profile.payroll_style == "gusto":
            rec = books.add(
                Rec("Purchase", day, provider, accounts["bank"]), books.moment(day, 6, 8)
            )
            rec.lines = [
                (accounts["exp_wages"], f"Payroll {period}: net pay and employee taxes", gross),
                (accounts["exp_ptax"], f"Payroll {period}: employer taxes", taxes),
            ]
            rec.extra["payment_type"] = "Check"
            rec.extra["doc_number"] = "ACH"
        else:
            rec = books.add(
                Rec("JournalEntry", day, provider, accounts["bank"]), books.moment(day, 6, 8)
            )
            rec.lines = [
                ("Debit", accounts["exp_wages"], gross, f"Gross wages, pay date {period}", None),
                (
                    "Debit",
                    accounts["exp_ptax"],
                    taxes,
                    f"Employer payroll taxes, pay date {period}",
                    None,
                ),
                (
                    "Credit",
                    accounts["bank"],
                    gross + taxes,
                    f"ADP payroll debit {period}",
                    provider,
                ),
            ]
            rec.extra["doc_number"] = f"PR-{period.replace('-', '')}"
            rec.note = "ADP payroll"
        rec.total = gross + taxes

    def _card(self, day: int, vendor: Party, account: str, description: str, amount: int) -> None:
        accounts = self.company.accounts
        rec = self.books.add(Rec("Purchase", day, vendor, accounts["card"]))
        rec.lines = [(accounts[account], description, amount)]
        rec.total = amount
        rec.extra["payment_type"] = "CreditCard"
        self.card_charges.append((day, amount))

    def _card_payment(self, day: int) -> None:
        """Pay the statement from the operating account.

        The statement holds all charges up to the end of last month."""
        statement_end = (date.fromordinal(day).replace(day=1) - timedelta(days=1)).toordinal()
        owed = (
            sum(amount for charge_day, amount in self.card_charges if charge_day <= statement_end)
            - self.card_paid
        )
        if owed <= 0:
            return
        accounts, issuer = self.company.accounts, self.company.vendors["card_issuer"]
        rec = self.books.add(Rec("JournalEntry", day, issuer, accounts["bank"]))
        rec.lines = [
            ("Debit", accounts["card"], owed, "American Express statement payment", issuer),
            ("Credit", accounts["bank"], owed, "American Express statement payment", None),
        ]
        rec.total = owed
        rec.extra["doc_number"] = f"AMEX-{date.fromordinal(day).strftime('%Y%m')}"
        self.card_paid += owed

    def _provider_fee(self, day: int) -> None:
        company = self.company
        amount = (
            4_000 if company.profile.payroll_style == "gusto" else 9_000
        ) + 1_200 * company.headcount
        self._bank_purchase(
            day, company.vendors["payroll"], "exp_pfees", "Payroll service monthly fee", amount
        )

    def _bank_fee(self, day: int) -> None:
        self._bank_purchase(
            day,
            None,
            "exp_bank",
            "Monthly service fee",
            self.books.rng.randrange(1_500, 4_500),
            payment_type="Cash",
        )

    def _tax(self, day: int, role: str, amount: int, description: str) -> None:
        self._bank_purchase(day, self.company.vendors[role], "exp_taxes", description, amount)

    def _bank_purchase(
        self,
        day: int,
        vendor: Party | None,
        account: str,
        description: str,
        amount: int,
        payment_type: str = "Check",
    ) -> Rec:
        accounts = self.company.accounts
        rec = self.books.add(Rec("Purchase", day, vendor, accounts["bank"]))
        rec.lines = [(accounts[account], description, amount)]
        rec.total = amount
        rec.extra["payment_type"] = payment_type
        return rec

    def _interest(self, day: int, amount: int) -> None:
        accounts = self.company.accounts
        target = accounts.get("savings") or accounts["bank"]
        rec = self.books.add(Rec("Deposit", day, None, target), self.books.moment(day, 1, 5))
        rec.lines = [(accounts["inc_interest"], "Interest earned", amount)]
        rec.total = amount
        rec.note = "Interest"
