"""Small CompanyView-shaped fixtures (docs/reports.md frames) with named variants, for drawing
digests without a store. Integration tests use the real demo firm instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

AS_OF = date(2026, 11, 20)
D = Decimal


@dataclass
class FakeAging:
    detail: pl.DataFrame
    by_party: pl.DataFrame
    totals: pl.DataFrame


@dataclass
class FakeView:
    realm_id: str
    company_name: str
    runway: pl.DataFrame
    payroll: pl.DataFrame
    tray: pl.DataFrame
    aging_ar: FakeAging
    aging_ap: FakeAging
    drift: pl.DataFrame
    hygiene: pl.DataFrame
    forecast: pl.DataFrame


def _frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


MONEY = pl.Decimal(18, 2)
TRAY_SCHEMA = {
    "realm_id": pl.String,
    "section": pl.String,
    "rank": pl.Int64,
    "doc_id": pl.String,
    "party_name": pl.String,
    "amount": MONEY,
    "due_date": pl.Date,
    "days_past_due": pl.Int64,
    "reason": pl.String,
    "latest_safe_date": pl.Date,
    "effect_text": pl.String,
}


def fake_view(realm_id: str = "9130001", variant: str = "tight") -> FakeView:
    """``tight``: red payroll, reserve breached in week 3, drift and hygiene flags; ``healthy``:
    green payrolls, no breach, nothing to chase; ``empty``: a company with no documents."""
    tight = variant == "tight"
    empty = variant == "empty"
    cash = D("0.00") if empty else (D("180000.00") if tight else D("412500.55"))
    reserve = D("40000.00")
    runway = _frame(
        [
            {
                "realm_id": realm_id,
                "cash": cash,
                "reserve": reserve,
                "reserve_source": "default",
                "runway_weeks": 2.6 if tight else None,
                "breach_date": AS_OF + timedelta(days=18) if tight else None,
                "runway_weeks_p90": 2.1 if tight else None,
                "breach_date_p90": AS_OF + timedelta(days=15) if tight else None,
                "simple_runway_weeks": 9.3 if tight else None,
            }
        ],
        {
            "realm_id": pl.String,
            "cash": MONEY,
            "reserve": MONEY,
            "reserve_source": pl.String,
            "runway_weeks": pl.Float64,
            "breach_date": pl.Date,
            "runway_weeks_p90": pl.Float64,
            "breach_date_p90": pl.Date,
            "simple_runway_weeks": pl.Float64,
        },
    )
    payroll_rows = (
        []
        if empty
        else [
            {
                "realm_id": realm_id,
                "seq": i + 1,
                "date": AS_OF + timedelta(days=11 + 14 * i),
                "amount": D("70000.00"),
                "cash_before_p90": D("61250.00") if tight else D("380000.00"),
                "must_pay_before": D("3000.00"),
                "coverage": 0.83 if tight else 5.39,
                "status": "red" if tight else "green",
                "payrolls_covered": 0 if tight else 3,
            }
            for i in range(3)
        ]
    )
    payroll = _frame(
        payroll_rows,
        {
            "realm_id": pl.String,
            "seq": pl.Int64,
            "date": pl.Date,
            "amount": MONEY,
            "cash_before_p90": MONEY,
            "must_pay_before": MONEY,
            "coverage": pl.Float64,
            "status": pl.String,
            "payrolls_covered": pl.Int64,
        },
    )
    tray_rows: list[dict[str, Any]] = []
    if tight:
        tray_rows = [
            {
                "realm_id": realm_id,
                "section": "chase",
                "rank": 1,
                "doc_id": "101",
                "party_name": "Zoë Café Ltd",
                "amount": D("90000.00"),
                "due_date": AS_OF - timedelta(days=24),
                "days_past_due": 24,
                "reason": None,
                "latest_safe_date": None,
                "effect_text": "reserve breach moves 21 days later",
            },
            {
                "realm_id": realm_id,
                "section": "chase",
                "rank": 2,
                "doc_id": "102",
                "party_name": "Acme Studio",
                "amount": D("12400.00"),
                "due_date": AS_OF - timedelta(days=9),
                "days_past_due": 9,
                "reason": None,
                "latest_safe_date": None,
                "effect_text": "+3 days",
            },
            {
                "realm_id": realm_id,
                "section": "must_pay",
                "rank": 1,
                "doc_id": "201",
                "party_name": "Landlord LLC",
                "amount": D("12000.00"),
                "due_date": AS_OF + timedelta(days=12),
                "days_past_due": 0,
                "reason": "rent",
                "latest_safe_date": None,
                "effect_text": None,
            },
            {
                "realm_id": realm_id,
                "section": "can_delay",
                "rank": 1,
                "doc_id": "202",
                "party_name": "Figma",
                "amount": D("2350.00"),
                "due_date": AS_OF + timedelta(days=2),
                "days_past_due": 0,
                "reason": None,
                "latest_safe_date": AS_OF + timedelta(days=16),
                "effect_text": "lifts the lowest balance by $2,350",
            },
        ]
    tray = _frame(tray_rows, TRAY_SCHEMA)
    bucket_cols = {
        "current": MONEY,
        "d1_30": MONEY,
        "d31_60": MONEY,
        "d61_90": MONEY,
        "d91_plus": MONEY,
        "total": MONEY,
    }
    ar_parties = (
        []
        if empty
        else [
            {
                "realm_id": realm_id,
                "party_id": "1",
                "party_name": "Zoë Café Ltd",
                "current": D("0.00"),
                "d1_30": D("90000.00"),
                "d31_60": D("0.00"),
                "d61_90": D("0.00"),
                "d91_plus": D("0.00"),
                "total": D("90000.00"),
            },
            {
                "realm_id": realm_id,
                "party_id": "2",
                "party_name": "Acme Studio",
                "current": D("5000.00"),
                "d1_30": D("12400.00"),
                "d31_60": D("0.00"),
                "d61_90": D("0.00"),
                "d91_plus": D("1500.25"),
                "total": D("18900.25"),
            },
        ]
    )
    ar_totals = (
        []
        if empty
        else [
            {
                "realm_id": realm_id,
                "current": D("5000.00"),
                "d1_30": D("102400.00"),
                "d31_60": D("0.00"),
                "d61_90": D("0.00"),
                "d91_plus": D("1500.25"),
                "total": D("108900.25"),
                "unapplied": D("800.00"),
                "net_total": D("108100.25"),
            }
        ]
    )
    ap_parties = (
        []
        if empty
        else [
            {
                "realm_id": realm_id,
                "party_id": "7",
                "party_name": "Landlord LLC",
                "current": D("12000.00"),
                "d1_30": D("0.00"),
                "d31_60": D("0.00"),
                "d61_90": D("0.00"),
                "d91_plus": D("0.00"),
                "total": D("12000.00"),
            }
        ]
    )
    ap_totals = (
        []
        if empty
        else [
            {
                "realm_id": realm_id,
                "current": D("12000.00"),
                "d1_30": D("0.00"),
                "d31_60": D("0.00"),
                "d61_90": D("0.00"),
                "d91_plus": D("0.00"),
                "total": D("12000.00"),
                "unapplied": D("0.00"),
                "net_total": D("12000.00"),
            }
        ]
    )
    party_schema = {
        "realm_id": pl.String,
        "party_id": pl.String,
        "party_name": pl.String,
        **bucket_cols,
    }
    totals_schema = {"realm_id": pl.String, **bucket_cols, "unapplied": MONEY, "net_total": MONEY}
    detail = _frame(
        []
        if empty
        else [
            {"realm_id": realm_id, "doc_id": "101", "doc_number": "INV-1042"},
            {"realm_id": realm_id, "doc_id": "102", "doc_number": "INV-1077"},
        ],
        {"realm_id": pl.String, "doc_id": pl.String, "doc_number": pl.String},
    )
    drift = _frame(
        [
            {
                "realm_id": realm_id,
                "kind": "new_large_bill",
                "severity": "medium",
                "message": "New bill of $12,000 from Landlord LLC.",
            },
            {
                "realm_id": realm_id,
                "kind": "breach_moved_earlier",
                "severity": "high",
                "message": "Reserve breach moved 9 days earlier, to Tue 8 Dec 2026.",
            },
        ]
        if tight
        else [],
        {"realm_id": pl.String, "kind": pl.String, "severity": pl.String, "message": pl.String},
    )
    hygiene = _frame(
        [
            {
                "realm_id": realm_id,
                "flag": "no_email",
                "amount": None,
                "forecast_effect": "reminders cannot be sent",
            },
            {
                "realm_id": realm_id,
                "flag": "duplicate_bill",
                "amount": D("2350.00"),
                "forecast_effect": "outflow may be double counted",
            },
        ]
        if tight
        else [],
        {"realm_id": pl.String, "flag": pl.String, "amount": MONEY, "forecast_effect": pl.String},
    )
    forecast_rows = []
    balance = {"p50": cash, "p90": cash}
    for line in ("p50", "p90"):
        for week in range(0 if not empty else 13, 13):
            inflow = D("30000.00") if line == "p50" else D("15000.00")
            outflow = D("52000.00") if tight else D("20000.00")
            opening = balance[line]
            balance[line] = opening + inflow - outflow
            forecast_rows.append(
                {
                    "realm_id": realm_id,
                    "line": line,
                    "week": week,
                    "week_start": AS_OF + timedelta(days=7 * week),
                    "opening": opening,
                    "inflows": inflow,
                    "outflows": outflow,
                    "closing": balance[line],
                    "below_reserve": balance[line] < reserve,
                }
            )
    forecast = _frame(
        forecast_rows,
        {
            "realm_id": pl.String,
            "line": pl.String,
            "week": pl.Int64,
            "week_start": pl.Date,
            "opening": MONEY,
            "inflows": MONEY,
            "outflows": MONEY,
            "closing": MONEY,
            "below_reserve": pl.Boolean,
        },
    )
    return FakeView(
        realm_id=realm_id,
        company_name="Zoë & Søn Creative" if tight else "Northwind Agency",
        runway=runway,
        payroll=payroll,
        tray=tray,
        aging_ar=FakeAging(
            detail, _frame(ar_parties, party_schema), _frame(ar_totals, totals_schema)
        ),
        aging_ap=FakeAging(
            detail.clear(), _frame(ap_parties, party_schema), _frame(ap_totals, totals_schema)
        ),
        drift=drift,
        hygiene=hygiene,
        forecast=forecast,
    )


DATA_AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # Friday 07:00 in New York
