"""How figures read in the digest: the house presentation layer (``oodaloo.present``), so the PDF,
the e-mail and the console show the same number the same way. Kept as the digest's import name;
the tests look for exactly these strings in the extracted PDF text."""

from __future__ import annotations

from oodaloo.present import (
    DASH,
    cell,
    day,
    kpi_value,
    moment,
    money,
    percent,
    plural,
    ratio,
    short_day,
    weeks,
)

__all__ = [
    "DASH",
    "cell",
    "day",
    "kpi_value",
    "moment",
    "money",
    "percent",
    "plural",
    "ratio",
    "short_day",
    "weeks",
]
