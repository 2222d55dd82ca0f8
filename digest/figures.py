"""From runway's CompanyView (docs/reports.md) to the figures a company digest shows.

Only this module knows the runway result frames; the PDF, the manifest and the e-mail work on
``digest.model``. Wording gives insights in plain words, never advice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import polars as pl

from digest import fmt
from digest.model import Column, CompanyDigest, Kpi, Table
from oodaloo.present import answer_chase, answer_payroll, answer_wait, currency_notes

Tone = Literal["good", "warn", "bad", "neutral"]  # a KPI tile's colour (digest.model.Kpi)

TOP_CHASE = 5
TOP_TRAY = 8
TOP_AGING = 8
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
BUCKETS = (
    ("current", "Current"),
    ("d1_30", "1–30"),
    ("d31_60", "31–60"),
    ("d61_90", "61–90"),
    ("d91_plus", "91+"),
)
HYGIENE_LABELS = {
    "no_due_date": (
        "Documents without a due date or terms (their timing in the forecast is a guess)"
    ),
    "no_email": "Customers without an e-mail on file (reminders to them cannot be sent)",
    "duplicate_bill": "Likely duplicate bills (a double-payment risk)",
    "open_91_plus": "Items open 91+ days (possibly settled outside QuickBooks)",
    "unapplied_payment": "Unapplied customer payments (A/R is overstated until applied)",
    "voided_or_deleted": "Documents voided or deleted since the last sync",
    "fx_excluded": "Foreign-currency documents without an exchange rate (left out of the totals)",
}


def rows_of(frame: pl.DataFrame | None, realm_id: str) -> list[dict[str, Any]]:
    """One company's rows of a runway frame (frames carry every company's rows)."""
    if frame is None or frame.is_empty():
        return []
    if "realm_id" in frame.columns:
        frame = frame.filter(pl.col("realm_id") == realm_id)
    return frame.to_dicts()


def first_row(frame: pl.DataFrame | None, realm_id: str) -> dict[str, Any]:
    rows = rows_of(frame, realm_id)
    return rows[0] if rows else {}


def _dec(value: Any) -> Decimal:
    return Decimal("0") if value is None else Decimal(str(value))


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# ---- KPIs and answers -------------------------------------------------------------------
def build_kpis(
    runway: dict[str, Any], payroll: list[dict[str, Any]], ar_totals: dict[str, Any]
) -> list[Kpi]:
    weeks = _float(runway.get("runway_weeks"))
    breach = runway.get("breach_date")
    runway_tone: Tone = (
        "good" if weeks is None or weeks >= 13 else ("warn" if weeks >= 4 else "bad")
    )
    next_payroll = payroll[0] if payroll else {}
    tones: dict[str, Tone] = {"green": "good", "amber": "warn", "red": "bad"}
    payroll_tone: Tone = tones.get(next_payroll.get("status") or "", "neutral")
    overdue = _dec(ar_totals.get("total")) - _dec(ar_totals.get("current"))
    over_90 = _dec(ar_totals.get("d91_plus"))
    return [
        Kpi("cash", "Cash", _dec(runway.get("cash")), "money", "in the bank at the cut-off"),
        Kpi(
            "runway_weeks",
            "Runway",
            weeks,
            "weeks",
            (
                f"below the {fmt.money(runway.get('reserve'))} reserve"
                if breach
                else f"never below {fmt.money(runway.get('reserve'))} reserve"
            ),
            runway_tone,
        ),
        Kpi(
            "payrolls_covered",
            "Payrolls covered",
            int(next_payroll.get("payrolls_covered") or 0) if payroll else None,
            "int",
            f"of the next {len(payroll)}" if payroll else "no payroll known",
            payroll_tone,
        ),
        Kpi("overdue_ar", "Overdue A/R", overdue, "money", f"{fmt.money(over_90)} is 91+ days"),
    ]


def runway_note(runway: dict[str, Any]) -> str:
    reserve = fmt.money(runway.get("reserve"))
    source = (
        "the default rule: next payroll + must-pay bills"
        if runway.get("reserve_source") == "default"
        else "set by the owner"
    )
    if runway.get("breach_date"):
        text = (
            f"Runway: the projected balance falls below the reserve of {reserve} ({source}) on "
            f"{fmt.day(runway['breach_date'])}, {fmt.weeks(runway.get('runway_weeks'))} out."
        )
    else:
        text = f"Runway: the projected balance stays above the reserve of {reserve} ({source})."
    if runway.get("breach_date_p90"):
        text += f" With late collections (P90): {fmt.day(runway['breach_date_p90'])}."
    simple = runway.get("simple_runway_weeks")
    text += (
        f" Simple runway (secondary, cash ÷ trailing average weekly outflow): {fmt.weeks(simple)}."
        if simple is not None
        else " Simple runway (secondary): cash flow over the last 13 weeks was positive."
    )
    return text


# ---- tables -----------------------------------------------------------------------------
def payroll_table(payroll: list[dict[str, Any]], runway: dict[str, Any]) -> Table:
    return Table(
        "payroll",
        "Runway and payroll coverage",
        [
            Column("date", "Payroll date", "date", 1.3),
            Column("amount", "Amount", "money"),
            Column("cash_before_p90", "Cash before (late collections)", "money", 1.4),
            Column("must_pay_before", "Must-pay before", "money"),
            Column("coverage", "Coverage", "ratio", 0.8),
            Column("status", "Status", "status", 0.9),
        ],
        [
            {
                k: r.get(k)
                for k in (
                    "date",
                    "amount",
                    "cash_before_p90",
                    "must_pay_before",
                    "coverage",
                    "status",
                )
            }
            for r in payroll
        ],
        empty_text="No payroll calendar known.",
        note=runway_note(runway),
    )


def chase_table(chase: list[dict[str, Any]], doc_numbers: dict[str, str]) -> Table:
    rows = [
        {
            "party_name": r.get("party_name"),
            "doc_number": doc_numbers.get(str(r.get("doc_id")), r.get("doc_id")),
            "due_date": r.get("due_date"),
            "days_past_due": r.get("days_past_due"),
            "amount": r.get("amount"),
            "effect_text": r.get("effect_text"),
        }
        for r in chase[:TOP_CHASE]
    ]
    return Table(
        "chase",
        "Chase: top of the list",
        [
            Column("party_name", "Customer", "text", 1.6),
            Column("doc_number", "Invoice", "text", 0.7),
            Column("due_date", "Due", "date", 1.1),
            Column("days_past_due", "Late", "days", 0.6),
            Column("amount", "Open", "money", 0.9),
            Column("effect_text", "If collected this week", "text", 1.8),
        ],
        rows,
        total_rows=len(chase),
        empty_text="No overdue invoice qualifies for a reminder.",
    )


def must_pay_table(must_pay: list[dict[str, Any]]) -> Table:
    return Table(
        "must_pay",
        "Must Pay",
        [
            Column("party_name", "Payee", "text", 1.6),
            Column("reason", "Why", "text", 1.8),
            Column("due_date", "Due", "date", 1.1),
            Column("amount", "Amount", "money", 0.9),
        ],
        [
            {k: r.get(k) for k in ("party_name", "reason", "due_date", "amount")}
            for r in must_pay[:TOP_TRAY]
        ],
        total_rows=len(must_pay),
        empty_text="Nothing is flagged as must-pay before the next payroll.",
    )


def can_delay_table(can_delay: list[dict[str, Any]]) -> Table:
    return Table(
        "can_delay",
        "Can Delay",
        [
            Column("party_name", "Vendor", "text", 1.5),
            Column("due_date", "Due", "date", 1.1),
            Column("latest_safe_date", "Latest safe date", "date", 1.1),
            Column("amount", "Amount", "money", 0.9),
            Column("effect_text", "Effect of waiting", "text", 1.6),
        ],
        [
            {
                k: r.get(k)
                for k in ("party_name", "due_date", "latest_safe_date", "amount", "effect_text")
            }
            for r in can_delay[:TOP_TRAY]
        ],
        total_rows=len(can_delay),
        empty_text="No bill can move later within the terms set.",
    )


def aging_table(
    key: str, title: str, party: str, totals: dict[str, Any], by_party: list[dict[str, Any]]
) -> Table:
    columns = [Column("name", party, "text", 1.8)] + [
        Column(k, label, "money", 0.85) for k, label in BUCKETS
    ]
    columns.append(Column("total", "Total", "money", 0.95))
    ranked = sorted(by_party, key=lambda r: (-_dec(r.get("total")), str(r.get("party_name"))))
    rows = [
        {"name": r.get("party_name"), **{k: r.get(k) for k, _ in BUCKETS}, "total": r.get("total")}
        for r in ranked[:TOP_AGING]
    ]
    note = ""
    if totals:
        rows.append(
            {"name": "All", **{k: totals.get(k) for k, _ in BUCKETS}, "total": totals.get("total")}
        )
        if _dec(totals.get("unapplied")):
            note = (
                f"Unapplied payments of {fmt.money(totals.get('unapplied'))} are shown apart, "
                "not netted: "
                f"net open {fmt.money(totals.get('net_total'))}."
            )
    return Table(
        key,
        title,
        columns,
        rows,
        total_rows=len(by_party),
        summary_rows=1 if totals else 0,
        empty_text="Nothing open.",
        note=note,
    )


def actions_table(actions: Sequence[dict[str, Any]]) -> Table:
    return Table(
        "actions",
        "Actions approved and executed this week",
        [
            Column("executed", "Executed", "date", 1.0),
            Column("action", "Action", "text", 1.8),
            Column("amount", "Amount", "money", 0.8),
            Column("qbo_id", "QBO id", "text", 0.8),
            Column("approved_by", "Approved by", "text", 1.4),
        ],
        list(actions),
        empty_text="No action was executed through Oodaloo this week.",
    )


# ---- notes ------------------------------------------------------------------------------
def drift_notes(drift: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(
        drift, key=lambda r: (SEVERITY_ORDER.get(str(r.get("severity")), 3), str(r.get("kind")))
    )
    return [str(r.get("message")) for r in ordered if r.get("message")]


def hygiene_notes(hygiene: list[dict[str, Any]]) -> list[str]:
    counts = Counter(str(r.get("flag")) for r in hygiene)
    notes = []
    for flag, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rows = [r for r in hygiene if r.get("flag") == flag]
        amount = sum((_dec(r.get("amount")) for r in rows), Decimal(0))
        label = HYGIENE_LABELS.get(flag, flag.replace("_", " ").capitalize())
        effect = next((str(r["forecast_effect"]) for r in rows if r.get("forecast_effect")), "")
        money_part = f", {fmt.money(amount)}" if amount else ""
        notes.append(
            f"{label}: {count}{money_part}." + (f" Forecast effect: {effect}." if effect else "")
        )
    return notes


def exception_reasons(
    runway: dict[str, Any],
    payroll: list[dict[str, Any]],
    freshness_status: str,
    drift: list[dict[str, Any]],
) -> list[str]:
    """Why a company heads the firm roll-up (empty: nothing exceptional)."""
    reasons = []
    if payroll and payroll[0].get("status") in ("red", "amber"):
        reasons.append(f"next payroll {payroll[0]['status']} ({fmt.day(payroll[0].get('date'))})")
    weeks = runway.get("runway_weeks")
    if runway.get("breach_date") and weeks is not None and float(weeks) < 13:
        reasons.append(f"below reserve {fmt.day(runway['breach_date'])}")
    if freshness_status not in ("fresh", ""):
        reasons.append(f"data {freshness_status.replace('_', ' ')}")
    high = sum(1 for r in drift if r.get("severity") == "high")
    if high:
        reasons.append(f"{high} high drift alert{'s' if high > 1 else ''}")
    return reasons


def build_company_digest(
    view: Any,
    *,
    realm_id: str,
    company_name: str,
    week: str,
    time_zone: str,
    as_of: date,
    data_as_of: datetime,
    freshness: dict[str, Any],
    actions: Sequence[dict[str, Any]],
) -> CompanyDigest:
    """Every figure of one company's digest, from its CompanyView (runway.api.company_view)."""
    runway = first_row(view.runway, realm_id)
    payroll = sorted(
        rows_of(view.payroll, realm_id), key=lambda r: (r.get("seq") or 0, r.get("date"))
    )
    tray = rows_of(view.tray, realm_id)
    section = {
        name: sorted(
            (r for r in tray if r.get("section") == name), key=lambda r: r.get("rank") or 0
        )
        for name in ("must_pay", "can_delay", "chase")
    }
    ar, ap = view.aging_ar, view.aging_ap
    ar_totals, ap_totals = first_row(ar.totals, realm_id), first_row(ap.totals, realm_id)
    doc_numbers = {
        str(r["doc_id"]): str(r.get("doc_number") or r["doc_id"])
        for r in rows_of(ar.detail, realm_id)
    }
    drift = rows_of(view.drift, realm_id)
    accounts = rows_of(getattr(view, "cash", None), realm_id)
    forecast = [
        {
            k: r.get(k)
            for k in (
                "line",
                "week",
                "week_start",
                "inflows",
                "outflows",
                "closing",
                "below_reserve",
            )
        }
        for r in sorted(
            rows_of(view.forecast, realm_id), key=lambda r: (str(r.get("line")), r.get("week") or 0)
        )
    ]
    return CompanyDigest(
        realm_id=realm_id,
        company_name=company_name,
        week=week,
        time_zone=time_zone,
        as_of=as_of,
        data_as_of=data_as_of,
        freshness=str(freshness.get("badge") or "No sync recorded before the cut-off"),
        kpis=build_kpis(runway, payroll, ar_totals),
        answers=[
            ("Can the next payroll be covered?", answer_payroll(payroll)),
            ("Whom to chase?", answer_chase(section["chase"], doc_numbers)),
            ("What can wait?", answer_wait(section["can_delay"], section["must_pay"])),
        ],
        drift=drift_notes(drift),
        hygiene=hygiene_notes(rows_of(view.hygiene, realm_id)),
        tables=[
            payroll_table(payroll, runway),
            chase_table(section["chase"], doc_numbers),
            must_pay_table(section["must_pay"]),
            can_delay_table(section["can_delay"]),
            actions_table(actions),
            aging_table(
                "aging_ar",
                "Receivables aging (A/R)",
                "Customer",
                ar_totals,
                rows_of(ar.by_party, realm_id),
            ),
            aging_table(
                "aging_ap",
                "Payables aging (A/P)",
                "Vendor",
                ap_totals,
                rows_of(ap.by_party, realm_id),
            ),
        ],
        forecast=forecast,
        exceptions=exception_reasons(runway, payroll, str(freshness.get("status") or ""), drift)
        + [
            f"{n} bank account{'s' if n > 1 else ''} without an exchange rate left out of cash"
            for n in [sum(1 for r in accounts if r.get("unconverted"))]
            if n
        ],
        currency=currency_notes(accounts),
    )
