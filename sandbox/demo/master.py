"""List entities of a company: accounts, terms, items, customers and vendors, plus the derived
money figures (revenue, payroll run size) the transaction generators share."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.demo.books import Books, Party
from sandbox.demo.names import (
    BANKS,
    LANDLORDS,
    STATE_TAX_BY_TZ,
    UTILITY_BY_TZ,
    NameBook,
    email_for,
)
from sandbox.demo.profiles import Profile, Situation

# key: (Name, AccountType, AccountSubType, Classification, parent key or None)
ACCOUNT_PLAN: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    ("ar", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset", None),
    ("ap", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", "Liability", None),
    ("card", "American Express Business Card", "Credit Card", "CreditCard", "Liability", None),
    ("loc", "Line of Credit", "Other Current Liability", "LineOfCredit", "Liability", None),
    ("obe", "Opening Balance Equity", "Equity", "OpeningBalanceEquity", "Equity", None),
    ("draws", "Owner's Draw", "Equity", "OwnersEquity", "Equity", None),
    ("inc_retainer", "Retainer Revenue", "Income", "ServiceFeeIncome", "Revenue", None),
    ("inc_project", "Project Revenue", "Income", "ServiceFeeIncome", "Revenue", None),
    ("inc_interest", "Interest Earned", "Other Income", "InterestEarned", "Revenue", None),
    ("exp_payroll", "Payroll Expenses", "Expense", "PayrollExpenses", "Expense", None),
    ("exp_wages", "Wages", "Expense", "PayrollWageExpenses", "Expense", "exp_payroll"),
    ("exp_ptax", "Taxes", "Expense", "PayrollTaxExpenses", "Expense", "exp_payroll"),
    ("exp_pfees", "Payroll Service Fees", "Expense", "PayrollExpenses", "Expense", "exp_payroll"),
    ("exp_rent", "Rent or Lease", "Expense", "RentOrLeaseOfBuildings", "Expense", None),
    (
        "exp_software",
        "Software & Subscriptions",
        "Expense",
        "OtherMiscellaneousServiceCost",
        "Expense",
        None,
    ),
    ("exp_contractors", "Contractors", "Expense", "CostOfLabor", "Expense", None),
    ("exp_taxes", "Taxes & Licenses", "Expense", "TaxesPaid", "Expense", None),
    ("exp_insurance", "Insurance", "Expense", "Insurance", "Expense", None),
    ("exp_utilities", "Utilities", "Expense", "Utilities", "Expense", None),
    ("exp_prof", "Legal & Professional Fees", "Expense", "LegalProfessionalFees", "Expense", None),
    ("exp_travel", "Travel", "Expense", "Travel", "Expense", None),
    ("exp_meals", "Meals", "Expense", "EntertainmentMeals", "Expense", None),
    ("exp_bank", "Bank Charges & Fees", "Expense", "BankCharges", "Expense", None),
)
ITEMS = (
    ("Retainer", "inc_retainer"),
    ("Design Services", "inc_project"),
    ("Strategy & Consulting", "inc_project"),
    ("Web Development", "inc_project"),
    ("Content Production", "inc_project"),
    ("Paid Media Management", "inc_project"),
)
TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 45", 45), ("Net 60", 60))
CARD_SOFTWARE = (  # vendor, day of month, dollars per seat, seats per 10 staff (min 1 seat)
    ("Slack", 4, 8.75, 10),
    ("Adobe Creative Cloud", 11, 59.99, 4),
    ("Google Workspace", 1, 14.0, 10),
    ("Figma", 17, 15.0, 4),
    ("Zoom", 21, 15.99, 3),
    ("Notion", 9, 10.0, 10),
    ("Dropbox", 26, 15.0, 5),
)
# days paid after the due date: mean, standard deviation, earliest (days relative to due)
HABITS = {
    "prompt": (-3.0, 3.0, -10),
    "on_time": (2.0, 4.0, -5),
    "slow": (12.0, 8.0, -2),
    "late": (24.0, 9.0, 5),
    "anchor": (48.0, 6.0, 41),
}
CAD = {"value": "CAD", "name": "Canadian Dollar"}
USD = {"value": "USD", "name": "United States Dollar"}


@dataclass
class Company:
    """Everything the transaction generators need about one company."""

    books: Books
    profile: Profile
    situation: Situation
    scale: float
    revenue: int  # monthly revenue in cents
    payroll_gross: int  # gross wages per run, before any raise
    headcount: int
    accounts: dict[str, Party] = field(default_factory=dict)
    terms: dict[int, Party] = field(default_factory=dict)
    items: list[Party] = field(default_factory=list)
    customers: list[Party] = field(default_factory=list)
    vendors: dict[str, Party] = field(
        default_factory=dict
    )  # role -> vendor (contractors: "contractor:N")
    fx_rate: float = 0.73

    @property
    def bank(self) -> Party:
        return self.accounts["bank"]

    def contractors(self) -> list[Party]:
        return [v for role, v in self.vendors.items() if role.startswith("contractor:")]


def _runs_per_year(profile: Profile) -> int:
    return 26 if profile.payroll_freq == "biweekly" else 24


def setup_company(books: Books, profile: Profile, scale: float) -> Company:
    rng = books.rng
    situation = profile.situation_spec
    revenue = int(profile.monthly_revenue * scale * rng.uniform(0.95, 1.05))
    gross = int(revenue * situation.wage_share * 12 / _runs_per_year(profile))
    company = Company(
        books=books,
        profile=profile,
        situation=situation,
        scale=scale,
        revenue=revenue,
        payroll_gross=gross,
        headcount=max(3, round(revenue * situation.wage_share / 780_000)),
        fx_rate=round(rng.uniform(0.70, 0.75), 4),
    )
    day0 = books.start
    _accounts(company, day0)
    for name, days in TERMS:
        company.terms[days] = books.add_party(Party("Term", name, due_days=days), day0)
    for name, income in ITEMS:
        company.items.append(
            books.add_party(Party("Item", name, income=company.accounts[income]), day0)
        )
    names = NameBook(rng)
    _vendors(company, names, day0)
    _customers(company, names, day0)
    return company


def _accounts(company: Company, day0: int) -> None:
    books, profile = company.books, company.profile
    bank_name = books.rng.choice(BANKS)
    plan: list[tuple[str, str, str, str, str, str | None]] = [
        ("bank", f"{bank_name} Business Checking", "Bank", "Checking", "Asset", None),
    ]
    if profile.bank_accounts > 1:
        plan.append(("savings", f"{bank_name} Business Savings", "Bank", "Savings", "Asset", None))
    if profile.foreign_client:
        plan.append(("bank_cad", "RBC Business Account (CAD)", "Bank", "Checking", "Asset", None))
        plan.append(
            (
                "ar_cad",
                "Accounts Receivable (A/R) - CAD",
                "Accounts Receivable",
                "AccountsReceivable",
                "Asset",
                None,
            )
        )
    for key, name, acc_type, sub_type, classification, parent in plan + list(ACCOUNT_PLAN):
        currency = CAD if key.endswith("_cad") else USD
        parent_rec = company.accounts.get(parent) if parent else None
        company.accounts[key] = books.add_party(
            Party(
                "Account",
                name,
                type=acc_type,
                sub_type=sub_type,
                classification=classification,
                parent=parent_rec,
                currency=currency,
                key=key,
            ),
            day0,
        )


def _vendor(
    company: Company,
    role: str,
    name: str,
    term_days: int,
    account: str,
    names: NameBook,
    day0: int,
    email: bool = True,
    is_1099: bool = False,
) -> Party:
    display = names.take(name)
    vendor = Party(
        "Vendor",
        display,
        term=company.terms[term_days],
        account=company.accounts[account],
        email=email_for(display, "accounts") if email else None,
        is_1099=is_1099,
        role=role,
    )
    company.vendors[role] = company.books.add_party(vendor, day0)
    return vendor


def _vendors(company: Company, names: NameBook, day0: int) -> None:
    rng, profile = company.books.rng, company.profile
    provider = "Gusto" if profile.payroll_style == "gusto" else "ADP"
    _vendor(company, "payroll", provider, 0, "exp_wages", names, day0)
    _vendor(company, "rent", rng.choice(LANDLORDS), 0, "exp_rent", names, day0)
    _vendor(company, "insurance", "The Hartford", 30, "exp_insurance", names, day0)
    _vendor(company, "internet", "Comcast Business", 15, "exp_utilities", names, day0)
    _vendor(company, "power", UTILITY_BY_TZ[profile.tz], 15, "exp_utilities", names, day0)
    _vendor(company, "crm", "HubSpot", 30, "exp_software", names, day0)
    _vendor(company, "atlassian", "Atlassian", 0, "exp_software", names, day0)
    _vendor(company, "accountant", "Baker & Lowe CPAs", 30, "exp_prof", names, day0)
    _vendor(company, "lawyer", "Reyes & Whitfield LLP", 30, "exp_prof", names, day0)
    _vendor(
        company, "tax_fed", "Internal Revenue Service", 0, "exp_taxes", names, day0, email=False
    )
    _vendor(
        company, "tax_state", STATE_TAX_BY_TZ[profile.tz], 0, "exp_taxes", names, day0, email=False
    )
    _vendor(company, "card_issuer", "American Express", 0, "exp_bank", names, day0, email=False)
    for vendor, *_ in CARD_SOFTWARE:
        _vendor(company, f"card:{vendor}", vendor, 0, "exp_software", names, day0, email=False)
    for role, vendor in (
        ("travel", "Delta Air Lines"),
        ("hotel", "Marriott"),
        ("meals", "Joe & The Juice"),
    ):
        _vendor(
            company,
            role,
            vendor,
            0,
            "exp_travel" if role != "meals" else "exp_meals",
            names,
            day0,
            email=False,
        )
    contractors = max(1, round(profile.contractors * company.scale))
    for n in range(contractors):
        term = rng.choice((0, 15, 15, 30, 30))
        name = (
            names.person()
            if rng.random() < 0.75
            else names.take(
                f"{rng.choice(('Pixel', 'North', 'Bright', 'Kite', 'Oak'))} & "
                f"{rng.choice(('Quill', 'Field', 'Loom'))} Studio"
            )
        )
        display = name  # NameBook already made it unique
        contractor = Party(
            "Vendor",
            display,
            term=company.terms[term],
            account=company.accounts["exp_contractors"],
            email=email_for(display, "hello"),
            is_1099=True,
            role=f"contractor:{n}",
            rate=rng.choice((65, 75, 85, 95, 110, 125, 150)),
        )
        company.vendors[f"contractor:{n}"] = company.books.add_party(contractor, day0)


def _customers(company: Company, names: NameBook, day0: int) -> None:
    rng, profile, situation = company.books.rng, company.profile, company.situation
    count = max(4, round(profile.customers * company.scale))
    weights = [rng.paretovariate(1.6) for _ in range(count)]
    months = 18
    for n, name in enumerate(names.customer_names(count)):
        habit = rng.choice(("prompt", "on_time", "on_time", "on_time", "slow", "slow", "late"))
        billing = "retainer" if rng.random() < 0.55 else "project"
        term = rng.choice((30, 30, 30, 30, 15, 45))
        start_month = 0 if rng.random() < 0.75 else rng.randrange(1, 12)
        end_month = (
            months + 1 if rng.random() < 0.85 else rng.randrange(start_month + 4, months + 1)
        )
        customer = Party(
            "Customer",
            name,
            habit=habit,
            billing=billing,
            term=company.terms[term],
            weight=weights[n],
            start_month=start_month,
            end_month=end_month,
            currency=USD,
            email=email_for(name),
            batch_payer=rng.random() < 0.2,
            partial=rng.random() < 0.15,
        )
        company.customers.append(customer)
    _shape_customers(company, rng, situation)
    total = sum(c.weight for c in company.customers)
    for customer in company.customers:
        customer.attrs["share"] = customer.weight / total
        company.books.add_party(customer, day0)


def _shape_customers(company: Company, rng, situation: Situation) -> None:
    """Give the situation its cast.

    An anchor client, a lost client, a Canadian client, missing e-mails."""
    customers = company.customers
    customers.sort(key=lambda c: -c.weight)
    if situation.anchor_client:
        anchor = customers[0]
        anchor.attrs.update(
            habit="anchor",
            billing="retainer",
            term=company.terms[30],
            start_month=0,
            end_month=19,
            batch_payer=True,
            partial=False,
            anchor=True,
        )
        rest = sum(c.weight for c in customers[1:])
        # about 37% of revenue, and always the biggest client
        anchor.attrs["weight"] = max(
            rest * 0.6, 1.2 * max((c.weight for c in customers[1:]), default=0)
        )
    if situation.lost_client_months_ago:
        lost = customers[0]
        lost.attrs.update(
            start_month=0,
            end_month=18 - situation.lost_client_months_ago,
            habit="on_time",
            lost=True,
        )
        rest = sum(c.weight for c in customers[1:])
        lost.attrs["weight"] = rest * 0.5
    if company.profile.foreign_client:
        cad = customers[-1] if len(customers) > 1 else customers[0]
        cad.attrs.update(
            currency=CAD, habit="on_time", start_month=0, end_month=19, billing="retainer"
        )
        cad.attrs["weight"] = max(cad.weight, sum(c.weight for c in customers) * 0.06)
    if situation.messy:
        missing = max(2, len(customers) // 4)
        for customer in rng.sample(customers[1:], missing):
            customer.attrs["email"] = None
