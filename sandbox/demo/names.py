"""Names as real ones come: apostrophes, accents, ampersands. DisplayName is unique within a
company across customers and vendors (QBO answers 6240 otherwise), so every name goes through
``NameBook.take``."""

from __future__ import annotations

import random
import re
import unicodedata

MARQUEE_CUSTOMERS = (
    "O'Brien Design",
    "Café Lumière",
    "Smith & Wolff",
    "Zoë's Kitchen Co.",
    "Müller Hausbau",
    "Peña Landscaping",
    "Abernathy & Sons",
    "L'Atelier Paris",
    "Björk Outdoor",
    "Nguyễn Family Dental",
    "Ševčík Imports",
    "D'Angelo Brothers Pizza",
    "São Paulo Grill",
    "Ramírez & Ortiz Law",
    "Château Verde Winery",
    "Østergaard Furniture",
    "Kōyō Ramen",
    "Fitzgerald's Pub",
)
SURNAMES = (
    "O'Connor",
    "Peña",
    "Müller",
    "Nakamura",
    "Okafor",
    "Lindqvist",
    "Dubois",
    "Ferreira",
    "Kowalski",
    "García",
    "Haddad",
    "Fontaine",
    "MacLeod",
    "Novák",
    "Ó Briain",
    "Rossi",
    "Schäfer",
    "Takahashi",
    "Whitfield",
    "Abbott",
    "Baptiste",
    "Castellanos",
    "Delacroix",
    "Eriksen",
    "Forsythe",
    "Gallagher",
    "Hoffmann",
    "Ivanova",
    "Jiménez",
    "Kaur",
    "Larsson",
    "Moreau",
    "Nilsen",
    "Osei",
    "Park",
)
BUSINESS_KINDS = (
    "Design",
    "Dental",
    "Law Group",
    "Bakery",
    "Outfitters",
    "Architects",
    "Health",
    "Realty",
    "Brewing Co.",
    "Analytics",
    "Fitness",
    "Hotels",
    "Capital",
    "Foods",
    "Logistics",
    "Clinic",
    "Motors",
    "Jewelers",
    "Academy",
    "Ventures",
)
FIRST_NAMES = (
    "Zoë",
    "Søren",
    "Siobhán",
    "José",
    "Chloé",
    "Mateo",
    "Aiko",
    "Ngozi",
    "Björn",
    "Renée",
    "Priya",
    "Łucja",
    "Ana-María",
    "Marcus",
    "Liam",
    "Inès",
    "Dev",
    "Noémie",
    "Kwame",
    "Ingrid",
)
LAST_NAMES = (
    "Laurent",
    "Madsen",
    "O'Neill",
    "Álvarez",
    "Dubois",
    "García",
    "Tanaka",
    "Okafor",
    "Lindqvist",
    "Fontaine",
    "Raman",
    "Nowak",
    "Cruz",
    "O'Connell",
    "Ó Sé",
    "Benali",
    "Patel",
    "Girard",
    "Mensah",
    "Strand",
)
LANDLORDS = (
    "Brick & Beam Properties",
    "Hudson Loft Partners LLC",
    "Lakeshore Realty Trust",
    "Mission Street Holdings",
    "Kingsley & Roe Management",
    "Delancey Commons LLC",
)
STATE_TAX_BY_TZ = {
    "America/New_York": "NYS Department of Taxation",
    "America/Chicago": "Illinois Department of Revenue",
    "America/Los_Angeles": "Franchise Tax Board",
}
UTILITY_BY_TZ = {
    "America/New_York": "Con Edison",
    "America/Chicago": "ComEd",
    "America/Los_Angeles": "PG&E",
}
BANKS = ("Chase", "Bank of America", "Wells Fargo", "Mercury", "First Citizens", "U.S. Bank")


class NameBook:
    """Hands out display names that are unique within one company."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        """``wanted`` if free, else a realistic variant ("… LLC", "… (Austin)")."""
        name = wanted
        for suffix in ("", " LLC", " Inc.", " (NY)", " (West)", " Group"):
            name = wanted + suffix
            if name not in self.used:
                break
        else:
            n = 2
            while f"{wanted} ({n})" in self.used:
                n += 1
            name = f"{wanted} ({n})"
        self.used.add(name)
        return name

    def customer_names(self, count: int) -> list[str]:
        """Marquee names first (shuffled), then surname + kind combinations."""
        marquee = list(MARQUEE_CUSTOMERS)
        self.rng.shuffle(marquee)
        names = [self.take(n) for n in marquee[: min(count, len(marquee) - 4)]]
        while len(names) < count:
            rng = self.rng
            if rng.random() < 0.3:
                base = (
                    f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {rng.choice(BUSINESS_KINDS)}"
                )
            else:
                base = f"{rng.choice(SURNAMES)} {rng.choice(BUSINESS_KINDS)}"
            names.append(self.take(base))
        return names

    def person(self) -> str:
        return self.take(f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}")


def slug(name: str) -> str:
    """ASCII slug for e-mail domains: "Café Lumière" -> "cafe-lumiere"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower().replace("'", "")).strip("-") or "company"


def email_for(name: str, mailbox: str = "billing") -> str:
    """Addresses on the reserved ``.example`` top-level domain: never deliverable by accident."""
    return f"{mailbox}@{slug(name)}.example"
