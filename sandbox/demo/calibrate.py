"""Make the cash tell the situation's story: choose the opening balances and the owner's
distributions so that the operating account ends at the situation's target (in payroll runs)
without ever dipping below its floor in the history. Cash movements are never invented to
force a number: openings and distributions are what a real agency's books hold anyway."""

from __future__ import annotations

from collections import defaultdict

from sandbox.demo.books import Party, Rec, business_day, month_day, month_starts
from sandbox.demo.master import Company

STEP = 10_000  # distributions in whole hundreds of dollars


def bank_flows(records: list[Rec]) -> dict[str, dict[int, int]]:
    """Signed cents per Bank account id and day: what moves each account's CurrentBalance.
    Money waiting in Undeposited Funds reaches the bank with the Deposit that moves it."""
    flows: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def move(account: Party | None, day: int, amount: int) -> None:
        if account is not None and account.type == "Bank":
            flows[account.id][day] += amount

    for rec in records:
        if rec.voided:
            continue
        kind = rec.kind
        if kind in ("Payment", "Deposit", "SalesReceipt"):
            move(rec.account, rec.day, rec.total)
        elif kind in ("BillPayment", "Purchase", "RefundReceipt"):
            move(rec.account, rec.day, -rec.total)
        elif kind == "Transfer":
            move(rec.account, rec.day, -rec.total)
            move(rec.extra["to"], rec.day, rec.total)
        elif kind == "JournalEntry":
            for posting, account, amount, *_ in rec.lines:
                if account.type == "Bank":
                    flows[account.id][rec.day] += amount if posting == "Debit" else -amount
    return flows


def payroll_run_cost(company: Company) -> int:
    """Cash out of the latest payroll run (wages + employer taxes)."""
    provider = company.vendors["payroll"]
    runs = [
        r for r in company.books.records if r.party is provider and r.total and len(r.lines) >= 2
    ]
    return runs[-1].total if runs else company.payroll_gross


def calibrate(company: Company, openings: dict[str, Rec]) -> None:
    books, situation = company.books, company.situation
    run = payroll_run_cost(company)
    target = int(situation.target_payrolls * run)
    floor = int(situation.floor_payrolls * run)
    bank = company.accounts["bank"]
    daily = bank_flows(books.records).get(bank.id, {})
    span = books.today - books.start + 1
    path = [0] * span
    running = 0
    for i in range(span):
        running += daily.get(books.start + i, 0)
        path[i] = running
    opening = max(target - path[-1], floor - min(path), 0)
    opening = -(-opening // STEP) * STEP
    _set_opening(company, openings["bank"], opening)
    balances = [opening + p for p in path]
    _distribute(company, balances, balances[-1] - target, floor)
    if "savings" in openings:
        months = (
            books.rng.uniform(2.0, 5.0)
            if situation.key in ("healthy", "growing")
            else books.rng.uniform(0.3, 1.0)
        )
        _set_opening(company, openings["savings"], round(run * months / STEP) * STEP)


def _set_opening(company: Company, je: Rec, amount: int) -> None:
    obe = company.accounts["obe"]
    je.lines = [
        ("Debit", je.account, amount, "Opening balance", None),
        ("Credit", obe, amount, "Opening balance", None),
    ]
    je.total = amount


def _distribute(company: Company, balances: list[int], excess: int, floor: int) -> None:
    """Owner distributions on the 20th of the month, spread evenly, never breaking the floor."""
    books = company.books
    if excess < STEP:
        return
    days = [
        business_day(month_day(first, 20))
        for first in month_starts(books.start + 45, books.today - 25)
    ]
    days = [d for d in days if books.start < d < books.today - 20]
    for n, day in enumerate(days):
        i = day - books.start
        cap = min(balances[i:]) - floor
        share = -(-excess // (len(days) - n))
        amount = min(cap, share) // STEP * STEP
        if amount < 100_000:
            continue
        _distribution(company, day, amount)
        for j in range(i, len(balances)):
            balances[j] -= amount
        excess -= amount
        if excess < STEP:
            return
    _true_up(company, balances, excess, floor)


def _true_up(company: Company, balances: list[int], excess: int, floor: int) -> None:
    """What the monthly distributions could not take (cash that came in since the last payroll)
    goes out in one distribution: on the first recent business day with room for it above the
    floor, or this morning (there is always room at the end: the target is above the floor)."""
    books = company.books
    amount = excess // STEP * STEP
    if amount < 100_000:
        return
    day = books.today
    for candidate in range(max(books.start, books.today - 45), books.today):
        if (
            business_day(candidate) == candidate
            and min(balances[candidate - books.start :]) - floor >= amount
        ):
            day = candidate
            break
    _distribution(company, day, amount)


def _distribution(company: Company, day: int, amount: int) -> None:
    accounts: dict[str, Party] = company.accounts
    rec = Rec("Purchase", day, None, accounts["bank"])
    company.books.add(rec)
    rec.lines = [(accounts["draws"], "Owner distribution", amount)]
    rec.total = amount
    rec.note = "Owner distribution"
    rec.extra["payment_type"] = "Check"
