"""Per-company settings and bill plans, stored with the data in ``state.sqlite`` (WAL,
synchronous=FULL).

The owner's choices the calculators honour: reserve, critical vendors, how long bills may wait,
the reminder cooldown, payroll calendar confirmation/override, digest recipients and time zone.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oodaloo.config import Settings
from oodaloo.sqlite import open_store
from runway.inflows import CONFIRMED_SCHEMA, validate_pattern_ids
from runway.money import MONEY

Cadence = Literal["biweekly", "semimonthly_1_15", "semimonthly_15_last", "monthly"]
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SettingsError(ValueError):
    """Invalid company settings or bill plan; the message names the field and the problem."""


class CompanySettings(BaseModel):
    """What the owner set for one company; every field has a safe default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reserve: Decimal | None = Field(
        None, ge=0, description="Cash floor; unset = next payroll + must-pay bills."
    )
    critical_vendors: list[str] = Field(
        default_factory=list, description="Vendor ids always in Must Pay."
    )
    delay_tolerance_days: int = Field(
        14, ge=0, le=180, description="Days past due a non-critical bill may wait."
    )
    reminder_cooldown_days: int = Field(
        7, ge=0, le=90, description="No reminder again within this many days."
    )
    far_past_due_days: int = Field(60, ge=1, le=365, description="Bills this late become Must Pay.")
    payroll_cadence: Cadence | None = Field(
        None, description="Confirmed/overridden payroll calendar."
    )
    payroll_amount: Decimal | None = Field(
        None, gt=0, description="Confirmed/overridden payroll amount."
    )
    payroll_anchor_date: date | None = Field(
        None, description="A known payroll date (anchors bi-weekly)."
    )
    payroll_confirmed: bool = Field(False, description="Owner confirmed the detected payroll.")
    digest_recipients: list[str] = Field(
        default_factory=list, description="E-mails that get the digest."
    )
    time_zone: str | None = Field(None, description="IANA zone overriding the company's.")
    confirmed_inflows: list[str] = Field(
        default_factory=list,
        description="Recurring inflow pattern ids ('inflow:<customer id>:<cadence>') "
        "the owner confirmed; only these enter the forecast.",
    )
    expected_billing: bool = Field(
        True,
        description="Forecast the billing this company's history expects but has not invoiced yet "
        "(labelled 'expected'); off: only documents already in QuickBooks, "
        "with a banner saying so.",
    )
    disputed_invoices: list[str] = Field(
        default_factory=list,
        description="Invoice ids the owner flagged as disputed from the console: the tray shows "
        "them apart from Chase (a note saying 'disputed' on the invoice in QuickBooks counts too).",
    )

    @field_validator("confirmed_inflows")
    @classmethod
    def _inflow_ids(cls, value: list[str]) -> list[str]:
        return validate_pattern_ids(value)

    @field_validator("reserve", "payroll_amount")
    @classmethod
    def _cents(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value != value.quantize(Decimal("0.01")):
            raise ValueError("money must have at most 2 decimal places")
        return value

    @field_validator("digest_recipients")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not EMAIL.match(item)]
        if bad:
            raise ValueError(f"not e-mail addresses: {', '.join(bad)}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {value!r} (use an IANA name like America/New_York)"
                ) from None
        return value


class BillPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    realm_id: str = Field(min_length=1)
    bill_id: str = Field(min_length=1)
    planned_date: date
    note: str = Field("", max_length=1000)


SCHEMA = """
CREATE TABLE IF NOT EXISTS runway_company_settings (
    realm_id TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runway_bill_plans (
    realm_id TEXT NOT NULL, bill_id TEXT NOT NULL, planned_date TEXT NOT NULL, note TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (realm_id, bill_id));
"""


@contextmanager
def _connect(settings: Settings) -> Iterator[sqlite3.Connection]:
    con = open_store(
        settings.state_path, isolation_level=""
    )  # `with con:` commits each call's writes
    try:
        con.executescript(SCHEMA)
        with con:
            yield con
    finally:
        con.close()


def _error(exc: ValidationError, what: str) -> SettingsError:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or what}: {err['msg']}" for err in exc.errors()
    ]
    return SettingsError(f"invalid {what}: " + "; ".join(parts))


def get_company_settings(settings: Settings, realm_id: str) -> CompanySettings:
    with _connect(settings) as con:
        row = con.execute(
            "SELECT body FROM runway_company_settings WHERE realm_id = ?", (realm_id,)
        ).fetchone()
    return CompanySettings.model_validate_json(row[0]) if row else CompanySettings()


def save_company_settings(
    settings: Settings,
    realm_id: str,
    values: CompanySettings | dict[str, Any] | None = None,
    **changes: Any,
) -> CompanySettings:
    """Validate and store; a dict/keywords update the stored settings (partial update)."""
    if not realm_id:
        raise SettingsError("realm_id is required")
    if isinstance(values, CompanySettings):
        merged = values.model_dump()
    else:
        merged = get_company_settings(settings, realm_id).model_dump()
        merged.update(values or {})
    merged.update(changes)
    try:
        result = CompanySettings.model_validate(merged)
    except ValidationError as exc:
        raise _error(exc, "company settings") from None
    with _connect(settings) as con:
        con.execute(
            "INSERT INTO runway_company_settings(realm_id, body, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(realm_id) DO UPDATE SET body = excluded.body, "
            "updated_at = excluded.updated_at",
            (realm_id, result.model_dump_json(), datetime.now(UTC).isoformat()),
        )
    return result


def all_company_settings(settings: Settings) -> dict[str, CompanySettings]:
    if not settings.state_path.exists():
        return {}
    with _connect(settings) as con:
        rows = con.execute("SELECT realm_id, body FROM runway_company_settings").fetchall()
    return {realm: CompanySettings.model_validate_json(body) for realm, body in rows}


def confirm_recurring_inflows(
    settings: Settings, realm_id: str, pattern_ids: Sequence[str]
) -> CompanySettings:
    """Add inflow pattern ids (``inflow:<customer id>:<cadence>``, as in the recurring report) to
    the company's confirmed inflows; the forecast then counts them. Idempotent."""
    current = get_company_settings(settings, realm_id).confirmed_inflows
    return save_company_settings(settings, realm_id, confirmed_inflows=[*current, *pattern_ids])


def unconfirm_recurring_inflows(
    settings: Settings, realm_id: str, pattern_ids: Sequence[str]
) -> CompanySettings:
    """Remove inflow pattern ids from the confirmed ones (unknown ids are ignored)."""
    drop = set(pattern_ids)
    current = get_company_settings(settings, realm_id).confirmed_inflows
    return save_company_settings(
        settings, realm_id, confirmed_inflows=[p for p in current if p not in drop]
    )


def set_invoice_disputed(settings: Settings, realm_id: str, invoice_id: str) -> CompanySettings:
    """Flag an invoice as disputed (stored in our settings, never written to QuickBooks): the tray
    lists it apart from Chase so nobody reminds a client who contests the amount. Idempotent."""
    invoice = str(invoice_id or "").strip()
    if not invoice:
        raise SettingsError("invoice_id is required to flag an invoice as disputed")
    current = get_company_settings(settings, realm_id).disputed_invoices
    if invoice in current:
        return get_company_settings(settings, realm_id)
    return save_company_settings(settings, realm_id, disputed_invoices=[*current, invoice])


def clear_invoice_disputed(settings: Settings, realm_id: str, invoice_id: str) -> CompanySettings:
    """Remove the console's dispute flag (an unknown id is ignored; a note in QBO still counts)."""
    invoice = str(invoice_id or "").strip()
    current = get_company_settings(settings, realm_id).disputed_invoices
    return save_company_settings(
        settings, realm_id, disputed_invoices=[i for i in current if i != invoice]
    )


def set_planned_pay_date(
    settings: Settings, realm_id: str, bill_id: str, planned: date, note: str = ""
) -> None:
    """Store when we plan to pay a bill (the forecast moves its outflow there).
    Used by 'delay a bill'."""
    try:
        plan = BillPlan(
            realm_id=realm_id, bill_id=str(bill_id), planned_date=planned, note=note or ""
        )
    except ValidationError as exc:
        raise _error(exc, "bill plan") from None
    with _connect(settings) as con:
        con.execute(
            "INSERT INTO runway_bill_plans VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(realm_id, bill_id) DO UPDATE SET "
            "planned_date = excluded.planned_date, note = excluded.note, "
            "updated_at = excluded.updated_at",
            (
                plan.realm_id,
                plan.bill_id,
                plan.planned_date.isoformat(),
                plan.note,
                datetime.now(UTC).isoformat(),
            ),
        )


def clear_planned_pay_date(settings: Settings, realm_id: str, bill_id: str) -> None:
    with _connect(settings) as con:
        con.execute(
            "DELETE FROM runway_bill_plans WHERE realm_id = ? AND bill_id = ?",
            (realm_id, str(bill_id)),
        )


PLANS_SCHEMA = pl.Schema(
    {"realm_id": pl.String, "bill_id": pl.String, "planned_date": pl.Date, "note": pl.String}
)


def planned_pay_dates(settings: Settings) -> pl.DataFrame:
    """Every bill plan: realm_id, bill_id, planned_date, note."""
    if not settings.state_path.exists():
        return pl.DataFrame(schema=PLANS_SCHEMA)
    with _connect(settings) as con:
        rows = con.execute(
            "SELECT realm_id, bill_id, planned_date, note FROM runway_bill_plans"
        ).fetchall()
    frame = pl.DataFrame(
        rows,
        schema={
            "realm_id": pl.String,
            "bill_id": pl.String,
            "planned_date": pl.String,
            "note": pl.String,
        },
        orient="row",
    )
    return (
        frame.with_columns(pl.col("planned_date").str.to_date())
        .cast(PLANS_SCHEMA)
        .sort("realm_id", "bill_id")
    )


# ---- frames for the calculators --------------------------------------------------------------
SETTINGS_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "reserve": MONEY,
        "delay_tolerance_days": pl.Int32(),
        "reminder_cooldown_days": pl.Int32(),
        "far_past_due_days": pl.Int32(),
        "payroll_cadence": pl.String(),
        "payroll_amount": MONEY,
        "payroll_anchor_date": pl.Date(),
        "payroll_confirmed": pl.Boolean(),
        "time_zone": pl.String(),
        "disputed_invoices": pl.List(pl.String()),
        "expected_billing": pl.Boolean(),
    }
)
CRITICAL_SCHEMA = pl.Schema({"realm_id": pl.String, "vendor_id": pl.String})


def frames_from_settings(
    by_realm: dict[str, CompanySettings], realm_ids: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(settings frame: one row per company, defaults filled; critical vendors long frame)."""
    rows, critical = [], []
    for realm in realm_ids:  # per-company settings rows (tiny), not documents
        cs = by_realm.get(realm, CompanySettings())
        row = cs.model_dump(include=set(SETTINGS_SCHEMA.names()))
        rows.append({**row, "realm_id": realm})
        critical += [{"realm_id": realm, "vendor_id": vendor} for vendor in cs.critical_vendors]
    frame = (
        pl.DataFrame(rows, schema=SETTINGS_SCHEMA) if rows else pl.DataFrame(schema=SETTINGS_SCHEMA)
    )
    return frame.sort("realm_id"), pl.DataFrame(critical, schema=CRITICAL_SCHEMA)


def confirmed_inflows_frame(
    by_realm: dict[str, CompanySettings], realm_ids: Sequence[str]
) -> pl.DataFrame:
    """Long frame realm_id, pattern_id of the confirmed recurring inflows."""
    rows = [
        {"realm_id": realm, "pattern_id": pid}
        for realm in realm_ids
        for pid in by_realm.get(realm, CompanySettings()).confirmed_inflows
    ]
    return pl.DataFrame(rows, schema=CONFIRMED_SCHEMA)


def settings_frames(
    settings: Settings, realm_ids: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return frames_from_settings(all_company_settings(settings), realm_ids)


def recipients(settings: Settings, realm_id: str) -> list[str]:
    return list(get_company_settings(settings, realm_id).digest_recipients)


def dumps(values: CompanySettings) -> str:
    return json.dumps(values.model_dump(mode="json"), sort_keys=True)
