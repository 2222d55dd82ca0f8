"""``generate_company``: one company's 18 months of QBO documents, a pure function of
(profile, seed, today, scale). Same inputs, byte-identical output; no global random, no clock."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sandbox.demo.books import Books, Rec
from sandbox.demo.calibrate import calibrate
from sandbox.demo.cashdocs import CashDocs, cash_rng
from sandbox.demo.master import Company, setup_company
from sandbox.demo.messy import Mess
from sandbox.demo.names import email_for, slug
from sandbox.demo.payables import Payables
from sandbox.demo.profiles import Profile, derive_int
from sandbox.demo.receivables import Receivables
from sandbox.demo.render import Renderer
from sandbox.demo.spending import Spending

HISTORY_MONTHS = 18
ADDRESSES = {
    "America/New_York": ("New York", "NY", "10012"),
    "America/Chicago": ("Chicago", "IL", "60607"),
    "America/Los_Angeles": ("Los Angeles", "CA", "90013"),
}


def history_start(today: date, months: int = HISTORY_MONTHS) -> date:
    """The same day of the month ``months`` earlier (clamped to the 28th)."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, min(today.day, 28))


def company_rng(seed: int, profile: Profile) -> random.Random:
    return random.Random(derive_int("company", seed, profile.index, profile.realm_id))


def generate_company(
    profile: Profile, seed: int, today: date, scale: float = 1.0
) -> dict[str, list[dict[str, Any]]]:
    """Entity name -> complete QBO JSON documents ("CompanyInfo" holds one, with Id "1")."""
    if not isinstance(today, date):
        raise TypeError(f"today must be a datetime.date, got {type(today).__name__}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    rng = company_rng(seed, profile)
    books = Books(rng, profile.tz, today, history_start(today))
    company = setup_company(books, profile, scale)
    receivables, payables, spending = Receivables(company), Payables(company), Spending(company)
    spending.schedule()
    receivables.schedule()
    payables.schedule()
    if company.situation.messy:
        Mess(company, receivables, payables).schedule()
    books.run()
    CashDocs(company, receivables, payables, cash_rng(seed, profile.realm_id)).add_all()
    calibrate(company, spending.openings)
    _reminders(company, receivables.invoices)
    _later_edits(company)
    docs: dict[str, list[dict[str, Any]]] = {"CompanyInfo": [_company_info(company)]}
    docs.update(Renderer(company).render())
    return docs


def _reminders(company: Company, invoices: list[Rec]) -> None:
    """Some overdue invoices were already re-sent (DeliveryInfo after the due date)."""
    books, rng = company.books, company.books.rng
    overdue = [
        inv
        for inv in invoices
        if not inv.voided
        and inv.balance > 0
        and inv.due_day < books.today
        and inv.party.email
        and not inv.extra.get("no_due")
    ]
    chosen = [inv for inv in overdue if rng.random() < 0.35] or overdue[-1:]
    for invoice in chosen:
        sent = books.moment(max(invoice.due_day + 1, books.today - rng.randrange(1, 21)))
        sent = max(sent, invoice.updated + rng.randrange(600, 7200))
        if sent > books.stamps.limit:
            continue
        invoice.extra["email_status"] = "EmailSent"
        invoice.extra["delivered"] = sent
        invoice.touch(sent)


def _later_edits(company: Company) -> None:
    """A few customers and vendors were edited after creation (new e-mail, new terms)."""
    books, rng = company.books, company.books.rng
    editable = [p for p in books.parties if p.kind in ("Customer", "Vendor")]
    for party in rng.sample(editable, min(4, len(editable))):
        party.sync += 1
        party.updated = books.moment(rng.randrange(books.start + 30, books.today))


def _company_info(company: Company) -> dict[str, Any]:
    profile, books = company.profile, company.books
    city, state, postal = ADDRESSES[profile.tz]
    address = {
        "Line1": f"{books.rng.randrange(10, 990)} "
        f"{books.rng.choice(('Broadway', 'Main St', 'Market St', 'Hudson St', 'Lake St'))}",
        "City": city,
        "CountrySubDivisionCode": state,
        "PostalCode": postal,
        "Country": "US",
    }
    created = books.start * 86_400 + 8 * 3600
    return {
        "CompanyName": profile.name,
        "LegalName": f"{profile.name} LLC",
        "CompanyAddr": address,
        "LegalAddr": dict(address),
        "Country": "US",
        "Email": {"Address": email_for(profile.name, "owner")},
        "WebAddr": {"URI": f"https://{slug(profile.name)}.example"},
        "CompanyStartDate": date.fromordinal(books.start).isoformat(),
        "FiscalYearStartMonth": "January",
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "TimeZone", "Value": profile.tz},
            {"Name": "HomeCurrency", "Value": "USD"},
            {
                "Name": "MultiCurrencyEnabled",
                "Value": "true" if profile.foreign_client else "false",
            },
            {"Name": "QBOIndustryType", "Value": "Advertising, marketing and design agencies"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "PayrollFeature", "Value": "false"},
        ],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": {
            "CreateTime": books.stamps.fmt(created),
            "LastUpdatedTime": books.stamps.fmt(created),
        },
    }
