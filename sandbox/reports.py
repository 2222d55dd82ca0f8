"""AgedReceivables / AgedPayables in QBO's report shape (Header, Columns, Rows; money as strings).

Open balance at ``report_date``: the document's current Balance plus the amounts of payments
dated after ``report_date`` that were applied to it (so later payments do not hide what was open
then). Documents dated after ``report_date`` are left out. Deleted payments are simply gone, and
voided ones carry no lines, so neither adds anything back. Days past due = aging date − DueDate
(TxnDate when there is no DueDate); the aging date is ``report_date``, or today with
``aging_method=Current``. Unapplied credits are not listed (QBO shows them as negative lines).
Amounts are in the home currency, as QuickBooks reports them: a foreign-currency document's open
balance is converted with its own ExchangeRate (home = balance × rate, rounded half-up to cents);
a document without a rate counts at 1 (QBO's rate for home-currency documents).
"""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox import docstore, timeutil
from sandbox import faults_envelope as F
from sandbox.rules import linked_amounts, money

BUCKETS = ("Current", "1 - 30", "31 - 60", "61 - 90", "91 and over")
KINDS = {
    "AgedReceivables": ("Invoice", "CustomerRef", "Customer", "Payment"),
    "AgedPayables": ("Bill", "VendorRef", "Vendor", "BillPayment"),
}


def bucket(days_past_due: int) -> int:
    if days_past_due <= 0:
        return 0
    if days_past_due <= 30:
        return 1
    if days_past_due <= 60:
        return 2
    if days_past_due <= 90:
        return 3
    return 4


CENT = Decimal("0.01")


def home_amount(doc: dict[str, Any], amount: Decimal) -> Decimal:
    """``amount`` (in the document's currency) in the home currency: × ExchangeRate, to cents."""
    rate = doc.get("ExchangeRate")
    if rate in (None, "", 0, "0"):
        return amount
    return (amount * Decimal(str(rate))).quantize(CENT, rounding=ROUND_HALF_UP)


def _date_param(params: dict[str, str], name: str, default: date) -> date:
    value = params.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise F.validation(
            "Invalid date", f"{name} must be YYYY-MM-DD, got {value!r}", name
        ) from exc


def aged_report(
    conn: sqlite3.Connection,
    realm: str,
    name: str,
    params: dict[str, str],
    tz: str,
    now: float,
    currency: str = "USD",
) -> dict[str, Any]:
    entity, party_key, party_entity, payment_entity = KINDS[name]
    today = timeutil.local_date(now, tz)
    report_date = _date_param(params, "report_date", today)
    method = params.get("aging_method", "Report_Date")
    aging_date = today if method.lower() == "current" else report_date
    docs = docstore.docs_where(
        conn, realm, entity, "json_extract(d.doc, '$.TxnDate') <= ?", [report_date.isoformat()]
    )
    later: dict[str, Decimal] = {}
    for payment in docstore.docs_where(
        conn,
        realm,
        payment_entity,
        "json_extract(d.doc, '$.TxnDate') > ?",
        [report_date.isoformat()],
    ):
        for txn_id, amount in linked_amounts(payment, entity):
            later[txn_id] = later.get(txn_id, Decimal(0)) + amount
    rows: dict[str, list[Decimal]] = {}
    names: dict[str, str] = {}
    for doc in docs:
        open_amount = money(doc.get("Balance", 0)) + later.get(str(doc["Id"]), Decimal(0))
        open_amount = min(open_amount, money(doc.get("TotalAmt", 0)))
        if open_amount <= 0:
            continue
        party = (doc.get(party_key) or {}).get("value", "")
        names.setdefault(party, (doc.get(party_key) or {}).get("name", ""))
        due = timeutil.parse_date(doc.get("DueDate") or doc["TxnDate"])
        cells = rows.setdefault(party, [Decimal(0)] * len(BUCKETS))
        cells[bucket((aging_date - due).days)] += home_amount(doc, open_amount)
    for party in rows:  # current display names win over the names cached in refs
        current = docstore.get_live(conn, realm, party_entity, party) if party.isdigit() else None
        if current and current.get("DisplayName"):
            names[party] = current["DisplayName"]
    ordered = sorted(rows, key=lambda p: (names.get(p, "").lower(), p))
    totals = [sum((rows[p][i] for p in ordered), Decimal(0)) for i in range(len(BUCKETS))]
    body_rows: list[dict[str, Any]] = [
        {"ColData": [{"value": names.get(p, ""), "id": p}, *_money_cells(rows[p])]} for p in ordered
    ]
    body_rows.append(
        {
            "Summary": {"ColData": [{"value": "TOTAL"}, *_money_cells(totals)]},
            "type": "Section",
            "group": "GrandTotal",
        }
    )
    return {
        "Header": {
            "Time": timeutil.stamp(now, tz),
            "ReportName": name,
            "DateMacro": "today" if report_date == today else "",
            "StartPeriod": report_date.isoformat(),
            "EndPeriod": report_date.isoformat(),
            "Currency": currency,
            "Option": [
                {"Name": "report_date", "Value": report_date.isoformat()},
                {"Name": "aging_method", "Value": method},
                {"Name": "NoReportData", "Value": "false" if ordered else "true"},
            ],
        },
        "Columns": {
            "Column": [
                {"ColTitle": "", "ColType": party_entity},
                *(
                    {
                        "ColTitle": title,
                        "ColType": "Money",
                        "MetaData": [{"Name": "ColKey", "Value": str(i)}],
                    }
                    for i, title in enumerate(BUCKETS)
                ),
                {
                    "ColTitle": "Total",
                    "ColType": "Money",
                    "MetaData": [{"Name": "ColKey", "Value": "total"}],
                },
            ]
        },
        "Rows": {"Row": body_rows},
    }


def _money_cells(values: list[Decimal]) -> list[dict[str, str]]:
    return [{"value": f"{v:.2f}"} for v in (*values, sum(values, Decimal(0)))]
