"""What a digest shows, as plain data: the PDF is drawn from it and its JSON is the manifest.

Keeping one structure for both means the manifest is, by construction, exactly what the PDF shows.
Money stays ``Decimal`` (serialised as a string), dates ``date`` (ISO strings in JSON).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson

ColumnKind = Literal["text", "money", "date", "int", "ratio", "days", "weeks", "percent", "status"]
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: ColumnKind = "text"
    width: float = 1.0  # relative width in the PDF table


@dataclass
class Table:
    """A titled table; ``total_rows`` counts the rows before the digest kept only the top ones,
    and ``summary_rows`` is how many rows at the end sum the others (an aging's "All"): those
    are counted in neither, so the caption says how many parties are shown of how many."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    total_rows: int = 0
    empty_text: str = "Nothing this week."
    note: str = ""
    summary_rows: int = 0

    def __post_init__(self) -> None:
        self.total_rows = max(self.total_rows, self.shown_rows)

    @property
    def shown_rows(self) -> int:
        """Rows of the table's own items shown (its summary rows left out)."""
        return len(self.rows) - self.summary_rows


@dataclass
class Kpi:
    key: str
    label: str
    value: Any  # Decimal | int | date | str | None
    kind: ColumnKind
    detail: str = ""
    tone: Literal["good", "warn", "bad", "neutral"] = "neutral"


@dataclass
class CompanyDigest:
    realm_id: str
    company_name: str
    week: str
    time_zone: str
    as_of: date
    data_as_of: datetime  # the snapshot's "at" (UTC): what we knew then
    freshness: str
    kpis: list[Kpi]
    answers: list[tuple[str, str]]  # (question, plain-words answer)
    drift: list[str]
    hygiene: list[str]
    tables: list[Table]
    forecast: list[dict[str, Any]]  # the 13 weekly rows behind the chart
    exceptions: list[str] = field(default_factory=list)  # why this company heads the firm roll-up
    # foreign-currency bank accounts: converted at which rate, or left out for want of one
    currency: list[str] = field(default_factory=list)
    scope: str = "company"

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(f"digest has no table {key!r}")

    def kpi(self, key: str) -> Kpi:
        for kpi in self.kpis:
            if kpi.key == key:
                return kpi
        raise KeyError(f"digest has no figure {key!r}")


@dataclass
class FirmDigest:
    week: str
    as_of: date
    data_as_of: datetime
    rollup: Table
    companies: list[CompanyDigest]
    scope: str = "firm"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_manifest(digest: CompanyDigest | FirmDigest) -> dict[str, Any]:
    """The JSON-ready manifest (Decimals as strings, dates ISO) with a version tag."""
    data = orjson.loads(
        orjson.dumps(asdict(digest), default=_default, option=orjson.OPT_NON_STR_KEYS)
    )
    data["manifest_version"] = MANIFEST_VERSION
    return data


def manifest_bytes(digest: CompanyDigest | FirmDigest) -> bytes:
    return orjson.dumps(to_manifest(digest), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
