"""The companies of the demo firm: who they are and which cash situation each one is in.

A profile is plain data; the generator turns it into 18 months of QuickBooks history. Situations
are the knobs that make the numbers tell a story (tight payroll, a late anchor client...).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TIME_ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles")


@dataclass(frozen=True)
class Situation:
    """How a company's money behaves; amounts are shares of monthly revenue."""

    key: str
    label: str
    wage_share: float  # gross wages / revenue
    contractor_share: float
    target_payrolls: float  # operating cash at `today`, in payroll runs (gross + employer taxes)
    floor_payrolls: float  # the operating account never dipped below this in the history
    ap_delay: tuple[float, float]  # days paid after due date: (mean, standard deviation)
    anchor_client: bool = False
    messy: bool = False
    forced_ap_aging: bool = False  # guarantee overdue bills in every aging bucket
    payroll_raise: tuple[int, float] | None = None  # (months before today, factor): new hires
    lost_client_months_ago: int | None = None
    growth_per_month: float = 0.0


SITUATIONS: dict[str, Situation] = {
    s.key: s
    for s in (
        Situation("healthy", "Healthy", 0.48, 0.08, 8.0, 3.0, (-1.0, 2.0), growth_per_month=0.006),
        Situation(
            "growing",
            "Healthy, growing fast",
            0.50,
            0.10,
            4.5,
            1.5,
            (0.0, 3.0),
            growth_per_month=0.02,
        ),
        Situation(
            "tight_payroll",
            "Tight payroll",
            0.62,
            0.10,
            1.15,
            0.25,
            (6.0, 5.0),
            forced_ap_aging=True,
            payroll_raise=(3, 1.14),
        ),
        Situation(
            "late_anchor",
            "Anchor client pays 40+ days late",
            0.52,
            0.10,
            2.6,
            0.8,
            (2.0, 4.0),
            anchor_client=True,
        ),
        Situation(
            "heavy_payables",
            "Heavy payables",
            0.45,
            0.24,
            1.8,
            0.6,
            (28.0, 16.0),
            forced_ap_aging=True,
        ),
        Situation(
            "messy",
            "Messy books",
            0.50,
            0.10,
            3.0,
            1.0,
            (4.0, 6.0),
            messy=True,
            forced_ap_aging=True,
        ),
        Situation(
            "near_breach",
            "Near reserve breach, negative trend",
            0.56,
            0.12,
            2.2,
            0.8,
            (9.0, 7.0),
            forced_ap_aging=True,
            lost_client_months_ago=4,
        ),
    )
}


@dataclass(frozen=True)
class Profile:
    """One company of the firm. ``monthly_revenue`` is in cents at scale 1."""

    index: int
    realm_id: str
    name: str
    situation: str
    tz: str
    monthly_revenue: int
    customers: int
    contractors: int
    payroll_freq: str  # "biweekly" | "semimonthly"
    payroll_style: (
        str  # "gusto" (Purchase checks to the provider) | "journal" (JournalEntry from ADP)
    )
    bank_accounts: int = 1
    foreign_client: bool = False  # one Canadian client billed in CAD

    @property
    def situation_spec(self) -> Situation:
        return SITUATIONS[self.situation]

    def as_dict(self) -> dict[str, str]:
        return {"realm_id": self.realm_id, "name": self.name, "profile": self.situation}


# (name, situation, tz index, monthly revenue $, customers, contractors, payroll freq, style,
#  banks, CAD)
_DEMO_ROWS: tuple[tuple[str, str, int, int, int, int, str, str, int, bool], ...] = (
    ("Brightline Studio", "healthy", 0, 260_000, 16, 4, "biweekly", "gusto", 2, True),
    ("Harbor & Pine Creative", "healthy", 1, 180_000, 14, 3, "semimonthly", "journal", 2, False),
    ("Oakridge Digital", "growing", 2, 210_000, 15, 4, "biweekly", "gusto", 1, False),
    ("Tandem Growth Partners", "tight_payroll", 0, 150_000, 12, 3, "biweekly", "gusto", 1, False),
    ("Fieldnote Agency", "tight_payroll", 2, 120_000, 11, 2, "semimonthly", "journal", 1, False),
    ("Northgate Branding", "late_anchor", 1, 200_000, 12, 3, "biweekly", "gusto", 1, False),
    ("Saltwater Web Co.", "late_anchor", 0, 140_000, 10, 3, "semimonthly", "gusto", 1, False),
    (
        "Redwood & Rye Marketing",
        "heavy_payables",
        2,
        230_000,
        14,
        6,
        "biweekly",
        "journal",
        1,
        False,
    ),
    (
        "Copperleaf Design Co.",
        "heavy_payables",
        0,
        160_000,
        12,
        5,
        "semimonthly",
        "gusto",
        1,
        False,
    ),
    ("Mosaic Pixel Works", "messy", 1, 130_000, 13, 3, "biweekly", "gusto", 1, False),
    ("O'Malley & Finch Agency", "messy", 0, 170_000, 14, 3, "semimonthly", "journal", 2, False),
    ("Bluebird Analytics", "near_breach", 1, 190_000, 12, 4, "biweekly", "gusto", 1, False),
)

# Situations in the order the first twelve companies cycle through (larger firms repeat it).
SITUATION_CYCLE: tuple[str, ...] = tuple(row[1] for row in _DEMO_ROWS)

_ADJECTIVES = (
    "Amber",
    "Bold",
    "Cedar",
    "Civic",
    "Copper",
    "Crimson",
    "Dapper",
    "Ember",
    "Fable",
    "Golden",
    "Granite",
    "Honest",
    "Indigo",
    "Juniper",
    "Keen",
    "Lantern",
    "Maple",
    "Meridian",
    "Nimble",
    "North",
    "Olive",
    "Paper",
    "Quarry",
    "Rally",
    "Sable",
    "Signal",
    "Slate",
    "Summit",
    "Tidal",
    "True",
    "Velvet",
    "Willow",
)
_NOUNS = (
    "Arrow",
    "Bridge",
    "Canvas",
    "Compass",
    "Crane",
    "Falcon",
    "Field",
    "Forge",
    "Harbor",
    "Hive",
    "Kite",
    "Lighthouse",
    "Loom",
    "Otter",
    "Pixel",
    "Prism",
    "Quill",
    "River",
    "Sparrow",
    "Stone",
    "Thread",
    "Tower",
    "Wave",
    "Wren",
)
_SUFFIXES = ("Studio", "Creative", "Agency", "Media", "Digital", "Collective", "Partners", "Labs")


def derive_int(*parts: object) -> int:
    """A stable 64-bit integer from the parts (never Python's salted hash())."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def realm_id_for(seed: int, index: int) -> str:
    """A 16-digit numeric realm id, stable for (seed, index)."""
    return str(10**15 + derive_int("realm", seed, index) % (9 * 10**15))


def _scale_profile(seed: int, index: int, used_names: set[str]) -> Profile:
    """Companies past the twelfth: the same situations in turn, generated names and sizes."""
    template = _DEMO_ROWS[index % len(_DEMO_ROWS)]
    salt = 0
    while True:
        h = derive_int("company-name", seed, index, salt)
        name = (
            f"{_ADJECTIVES[h % len(_ADJECTIVES)]} {_NOUNS[(h >> 8) % len(_NOUNS)]} "
            f"{_SUFFIXES[(h >> 16) % len(_SUFFIXES)]}"
        )
        if name in used_names:
            name = f"{name} {index}"
        if name not in used_names:
            break
        salt += 1
    h = derive_int("company-size", seed, index)
    revenue = 110_000 + (h % 19) * 10_000
    return Profile(
        index=index,
        realm_id=realm_id_for(seed, index),
        name=name,
        situation=template[1],
        tz=TIME_ZONES[(h >> 8) % len(TIME_ZONES)],
        monthly_revenue=revenue * 100,
        customers=10 + (h >> 16) % 8,
        contractors=2 + (h >> 24) % 4,
        payroll_freq=("biweekly", "semimonthly")[(h >> 32) % 2],
        payroll_style=("gusto", "journal")[(h >> 40) % 2],
        bank_accounts=1 + (h >> 48) % 2 if template[1] in ("healthy", "growing") else 1,
    )


def firm_profiles(seed: int, companies: int = 12) -> list[Profile]:
    """The firm's companies for a seed.

    The twelve named demo companies come first, then generated ones."""
    if companies < 1:
        raise ValueError(f"companies must be at least 1, got {companies}")
    profiles: list[Profile] = []
    used_names: set[str] = set()
    realms: set[str] = set()
    for index in range(companies):
        if index < len(_DEMO_ROWS):
            name, situation, tz, revenue, customers, contractors, freq, style, banks, cad = (
                _DEMO_ROWS[index]
            )
            profile = Profile(
                index,
                realm_id_for(seed, index),
                name,
                situation,
                TIME_ZONES[tz],
                revenue * 100,
                customers,
                contractors,
                freq,
                style,
                banks,
                cad,
            )
        else:
            profile = _scale_profile(seed, index, used_names)
        if (
            profile.realm_id in realms
        ):  # astronomically unlikely; refuse rather than merge companies
            raise ValueError(f"realm id collision for seed {seed} at company {index}")
        used_names.add(profile.name)
        realms.add(profile.realm_id)
        profiles.append(profile)
    return profiles


STORIES: dict[str, str] = {
    "healthy": "Clients pay on time, bills paid on their due dates, months of payroll in the bank; "
    "the owner takes monthly distributions.",
    "growing": "Revenue up about 2% a month; cash about 4–5 payrolls, "
    "receivables growing with sales.",
    "tight_payroll": "Thin margin and new hires three months ago: "
    "cash is about 1.15 payroll runs with the next run days away; bills paid a week late; "
    "overdue bills in every bucket.",
    "late_anchor": "One anchor client (about 37% of revenue) "
    "pays 40+ days late in weekly check runs; receivables pile up in 31–60.",
    "heavy_payables": "Contractors are a quarter of revenue "
    "and bills are paid about four weeks late: large overdue A/P in every bucket.",
    "messy": "Hygiene problems on purpose: invoices and bills without due dates, "
    "likely duplicate bills, customers without e-mail, unapplied payments, "
    "voided and deleted documents.",
    "near_breach": "Lost its biggest client four months ago but kept payroll: "
    "cash falls every month and is about two payrolls; "
    "on this trend the reserve is breached within weeks.",
}


def describe_firm(seed: int, companies: int = 12) -> str:
    """A Markdown table of the firm's companies and their situations (docs/demo-firm.md)."""
    rows = [
        "| # | company | time zone | situation | payroll | what the numbers show |",
        "|---|---|---|---|---|---|",
    ]
    for p in firm_profiles(seed, companies):
        style = "Gusto checks" if p.payroll_style == "gusto" else "ADP journal entries"
        payroll = f"{p.payroll_freq}, {style}"
        extras = []
        if p.bank_accounts > 1:
            extras.append("two bank accounts")
        if p.foreign_client:
            extras.append("one Canadian client billed in CAD")
        story = STORIES[p.situation] + (f" ({'; '.join(extras)})" if extras else "")
        rows.append(
            f"| {p.index + 1} | {p.name} | {p.tz.split('/')[1].replace('_', ' ')} | "
            f"{SITUATIONS[p.situation].label} | {payroll} | {story} |"
        )
    return "\n".join(rows) + "\n"
