"""AgedReceivables / AgedPayables against the small company's known balances."""

from __future__ import annotations

from typing import Any

import httpx


def table(report: dict[str, Any]) -> dict[str, list[str]]:
    out = {}
    for row in report["Rows"]["Row"]:
        cells = row["Summary"]["ColData"] if "Summary" in row else row["ColData"]
        out[cells[0]["value"]] = [c["value"] for c in cells[1:]]
    return out


def test_aged_payables_today(qbo: httpx.Client) -> None:
    report = qbo.get("/reports/AgedPayables").json()
    assert [c["ColTitle"] for c in report["Columns"]["Column"]] == [
        "",
        "Current",
        "1 - 30",
        "31 - 60",
        "61 - 90",
        "91 and over",
        "Total",
    ]
    assert report["Header"]["ReportName"] == "AgedPayables"
    rows = table(report)
    # Landlord: 3000 due in 5 days + 400 due 100 days ago; Designer: 1500 due 20 days ago.
    assert rows["Company 1 Landlord"] == ["3000.00", "0.00", "0.00", "0.00", "400.00", "3400.00"]
    assert rows["Company 1 Designer"] == ["0.00", "1500.00", "0.00", "0.00", "0.00", "1500.00"]
    assert rows["TOTAL"] == ["3000.00", "1500.00", "0.00", "0.00", "400.00", "4900.00"]
    assert "Company 1 Hosting" not in rows


def test_aged_receivables_in_the_past_adds_back_later_payments(qbo: httpx.Client) -> None:
    # On 2026-11-01: invoice 42 (800, due 10-11) was paid 500 on 10-31 -> 300 open, 21 days late;
    # invoice 43 (1200, due 11-20) was paid on 11-15, after the report date -> 1200 open, current;
    # invoice 40 (1000, txn 10-06, due 11-05) current; invoice 41 (txn 11-10) did not exist yet.
    rows = table(qbo.get("/reports/AgedReceivables", params={"report_date": "2026-11-01"}).json())
    assert rows["Company 1 Client A"] == ["2200.00", "0.00", "0.00", "0.00", "0.00", "2200.00"]
    assert rows["Company 1 Client C"] == ["0.00", "300.00", "0.00", "0.00", "0.00", "300.00"]
    assert "Company 1 Client B" not in rows
    assert rows["TOTAL"][-1] == "2500.00"
    current = table(
        qbo.get(
            "/reports/AgedReceivables",
            params={"report_date": "2026-11-01", "aging_method": "Current"},
        ).json()
    )
    assert current["Company 1 Client C"] == ["0.00", "0.00", "300.00", "0.00", "0.00", "300.00"]
    assert (
        qbo.get("/reports/AgedReceivables", params={"report_date": "11/01/2026"}).status_code == 400
    )


def test_aged_receivables_convert_foreign_documents_to_home_currency(qbo: httpx.Client) -> None:
    """QBO reports aging in the home currency.

    Open balance × the document's ExchangeRate, to cents."""
    customer = qbo.post(
        "/customer", json={"DisplayName": "Maple Leaf Client", "CurrencyRef": {"value": "CAD"}}
    ).json()["Customer"]
    body = {
        "CustomerRef": {"value": customer["Id"]},
        "CurrencyRef": {"value": "CAD"},
        "ExchangeRate": 0.7315,
        "TxnDate": "2026-11-01",
        "DueDate": "2026-11-01",
        "Line": [
            {
                "Amount": 1000.05,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
            }
        ],
    }
    created = qbo.post("/invoice", json=body)
    assert created.status_code == 200, created.text
    rows = table(qbo.get("/reports/AgedReceivables", params={"report_date": "2026-11-20"}).json())
    # 1000.05 CAD × 0.7315 = 731.536575 USD -> 731.54, 19 days past due
    assert rows["Maple Leaf Client"] == ["0.00", "731.54", "0.00", "0.00", "0.00", "731.54"]
