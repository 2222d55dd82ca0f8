"""AgedReceivables / AgedPayables in QBO's report shape (Header, Columns, Rows; money as strings).

Open balance at ``report_date``: the document's current Balance plus the amounts of payments
dated after ``report_date`` that were applied to it (so later payments do not hide what was open
then). Documents dated after ``report_date`` are left out. Deleted payments are simply gone, and
voided ones carry no lines, so neither adds anything back. Days past due = aging date − DueDate
(TxnDate when there is no DueDate); the aging date is ``report_date``, or today with
``aging_method=Current``. Open credit memos and unapplied payments (A/R) and open vendor credits
(A/P) are part of the report as QBO shows them: negative amounts in the party's row, aged from
their own TxnDate (they have no DueDate); a credit's open amount at ``report_date`` adds back
what payments dated after it used. The detail variants (AgedReceivableDetail /
AgedPayableDetail) list every open item in sections by aging period.
Amounts are in the home currency, as QuickBooks reports them: a foreign-currency document's open
balance is converted with its own ExchangeRate (home = balance × rate, rounded half-up to cents);
a document without a rate counts at 1 (QBO's rate for home-currency documents).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
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
    "AgedReceivableDetail": ("Invoice", "CustomerRef", "Customer", "Payment"),
    "AgedPayableDetail": ("Bill", "VendorRef", "Vendor", "BillPayment"),
}
CREDITS = {"Invoice": "CreditMemo", "Bill": "VendorCredit"}
DETAIL = {"AgedReceivableDetail", "AgedPayableDetail"}
PERIOD_TITLES = (
    "Current",
    "1 - 30 days past due",
    "31 - 60 days past due",
    "61 - 90 days past due",
    "91 or more days past due",
)


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


@dataclass(frozen=True)
class OpenItem:
    """One open amount of the aging: a document (positive) or a credit (negative)."""

    party: str
    txn_type: str
    doc_id: str
    doc_number: str
    txn_date: date
    due_date: date
    days: int
    bucket: int
    amount: Decimal  # the document's total, home currency, signed like ``open``
    open: Decimal  # open at the report date, home currency; credits negative


def _later_links(
    conn: sqlite3.Connection, realm: str, payment_entity: str, after: date, kinds: tuple[str, ...]
) -> dict[tuple[str, str], Decimal]:
    """(txn type, id) -> amount that payments dated after ``after`` applied to it."""
    later: dict[tuple[str, str], Decimal] = {}
    for payment in docstore.docs_where(
        conn, realm, payment_entity, "json_extract(d.doc, '$.TxnDate') > ?", [after.isoformat()]
    ):
        for kind in kinds:
            for txn_id, amount in linked_amounts(payment, kind):
                later[(kind, txn_id)] = later.get((kind, txn_id), Decimal(0)) + amount
    return later


def open_items(
    conn: sqlite3.Connection, realm: str, name: str, report_date: date, aging_date: date
) -> list[OpenItem]:
    """Every item open at ``report_date``: documents, credits, unapplied payments (A/R)."""
    entity, party_key, _party_entity, payment_entity = KINDS[name]
    credit = CREDITS[entity]
    later = _later_links(conn, realm, payment_entity, report_date, (entity, credit))
    items: list[OpenItem] = []
    dated = "json_extract(d.doc, '$.TxnDate') <= ?"
    for kind, sign in ((entity, 1), (credit, -1)):
        for doc in docstore.docs_where(conn, realm, kind, dated, [report_date.isoformat()]):
            open_amount = money(doc.get("Balance", 0)) + later.get((kind, str(doc["Id"])), 0)
            open_amount = min(open_amount, money(doc.get("TotalAmt", 0)))
            if open_amount <= 0:
                continue
            txn = timeutil.parse_date(doc["TxnDate"])
            due = timeutil.parse_date(doc.get("DueDate") or doc["TxnDate"]) if sign > 0 else txn
            items.append(_item(doc, party_key, kind, txn, due, aging_date, sign, open_amount))
    if entity == "Invoice":
        for doc in docstore.docs_where(conn, realm, "Payment", dated, [report_date.isoformat()]):
            unapplied = money(doc.get("UnappliedAmt", 0))
            if unapplied <= 0:
                continue
            txn = timeutil.parse_date(doc["TxnDate"])
            items.append(_item(doc, party_key, "Payment", txn, txn, aging_date, -1, unapplied))
    return items


def _item(
    doc: dict[str, Any],
    party_key: str,
    kind: str,
    txn: date,
    due: date,
    aging_date: date,
    sign: int,
    open_amount: Decimal,
) -> OpenItem:
    days = (aging_date - due).days
    total = money(doc.get("TotalAmt", 0)) if kind != "Payment" else open_amount
    return OpenItem(
        party=str((doc.get(party_key) or {}).get("value", "")),
        txn_type=kind,
        doc_id=str(doc["Id"]),
        doc_number=str(doc.get("DocNumber") or ""),
        txn_date=txn,
        due_date=due,
        days=days,
        bucket=bucket(days),
        amount=sign * home_amount(doc, total),
        open=sign * home_amount(doc, open_amount),
    )


def _party_names(
    conn: sqlite3.Connection, realm: str, party_entity: str, parties: set[str]
) -> dict[str, str]:
    names: dict[str, str] = {}
    for party in parties:  # current display names
        current = docstore.get_live(conn, realm, party_entity, party) if party.isdigit() else None
        names[party] = str((current or {}).get("DisplayName") or "")
    return names


def aged_report(
    conn: sqlite3.Connection,
    realm: str,
    name: str,
    params: dict[str, str],
    tz: str,
    now: float,
    currency: str = "USD",
) -> dict[str, Any]:
    _entity, _party_key, party_entity, _payment_entity = KINDS[name]
    today = timeutil.local_date(now, tz)
    report_date = _date_param(params, "report_date", today)
    method = params.get("aging_method", "Report_Date")
    aging_date = today if method.lower() == "current" else report_date
    items = open_items(conn, realm, name, report_date, aging_date)
    names = _party_names(conn, realm, party_entity, {i.party for i in items})
    if name in DETAIL:
        columns, body_rows = _detail_rows(items, names, party_entity)
    else:
        columns, body_rows = _summary_rows(items, names, party_entity)
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
                {"Name": "NoReportData", "Value": "false" if items else "true"},
            ],
        },
        "Columns": {"Column": columns},
        "Rows": {"Row": body_rows},
    }


def _summary_rows(
    items: list[OpenItem], names: dict[str, str], party_entity: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: dict[str, list[Decimal]] = {}
    for item in items:
        rows.setdefault(item.party, [Decimal(0)] * len(BUCKETS))[item.bucket] += item.open
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
    columns: list[dict[str, Any]] = [
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
    return columns, body_rows


DETAIL_COLUMNS = (
    ("Date", "tx_date"),
    ("Transaction Type", "txn_type"),
    ("Num", "doc_num"),
    ("Name", "name"),
    ("Due Date", "due_date"),
    ("Past Due", "past_due"),
    ("Amount", "subt_neg_amount"),
    ("Open Balance", "subt_neg_open_bal"),
)


def _detail_rows(
    items: list[OpenItem], names: dict[str, str], party_entity: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Sections by aging period (newest period first, as QBO lists them), one row per item."""
    columns = [
        {
            "ColTitle": title,
            "ColType": "Money" if "amount" in key or "bal" in key else "String",
            "MetaData": [{"Name": "ColKey", "Value": key}],
        }
        for title, key in DETAIL_COLUMNS
    ]
    sections: list[dict[str, Any]] = []
    grand = [Decimal(0), Decimal(0)]
    for index, title in enumerate(PERIOD_TITLES):
        chosen = sorted(
            (i for i in items if i.bucket == index),
            key=lambda i: (i.due_date, names.get(i.party, "").lower(), i.txn_type, i.doc_id),
        )
        if not chosen:
            continue
        amount = sum((i.amount for i in chosen), Decimal(0))
        open_total = sum((i.open for i in chosen), Decimal(0))
        grand[0] += amount
        grand[1] += open_total
        sections.append(
            {
                "Header": {
                    "ColData": [{"value": title}, *({"value": ""} for _ in DETAIL_COLUMNS[1:])]
                },
                "Rows": {
                    "Row": [
                        {
                            "ColData": [
                                {"value": i.txn_date.isoformat()},
                                {"value": _TYPE_TITLES.get(i.txn_type, i.txn_type), "id": i.doc_id},
                                {"value": i.doc_number},
                                {"value": names.get(i.party, ""), "id": i.party},
                                {"value": i.due_date.isoformat()},
                                {"value": str(i.days)},
                                {"value": f"{i.amount:.2f}"},
                                {"value": f"{i.open:.2f}"},
                            ],
                            "type": "Data",
                        }
                        for i in chosen
                    ]
                },
                "Summary": {
                    "ColData": [
                        {"value": f"Total for {title}"},
                        *({"value": ""} for _ in DETAIL_COLUMNS[1:-2]),
                        {"value": f"{amount:.2f}"},
                        {"value": f"{open_total:.2f}"},
                    ]
                },
                "type": "Section",
            }
        )
    sections.append(
        {
            "Summary": {
                "ColData": [
                    {"value": "TOTAL"},
                    *({"value": ""} for _ in DETAIL_COLUMNS[1:-2]),
                    {"value": f"{grand[0]:.2f}"},
                    {"value": f"{grand[1]:.2f}"},
                ]
            },
            "type": "Section",
            "group": "GrandTotal",
        }
    )
    return columns, sections


_TYPE_TITLES = {
    "CreditMemo": "Credit Memo",
    "VendorCredit": "Vendor Credit",
    "BillPayment": "Bill Payment (Check)",
}


def _money_cells(values: list[Decimal]) -> list[dict[str, str]]:
    return [{"value": f"{v:.2f}"} for v in (*values, sum(values, Decimal(0)))]
