"""Create, update, delete, void and send, with QBO's business rules and fault codes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.conftest import fault_code


def get(qbo: httpx.Client, entity: str, doc_id: str) -> dict[str, Any]:
    response = qbo.get(f"/{entity.lower()}/{doc_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()[entity])


def post(qbo: httpx.Client, entity: str, body: dict[str, Any], **params: str) -> httpx.Response:
    return qbo.post(f"/{entity.lower()}", json=body, params=params)


def ok(response: httpx.Response, entity: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert "time" in response.json()
    return dict(response.json()[entity])


SALE = {
    "Amount": 400,
    "DetailType": "SalesItemLineDetail",
    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
}


def test_invoice_create_computes_fields_and_ignores_read_only(qbo: httpx.Client) -> None:
    invoice = ok(
        post(
            qbo,
            "Invoice",
            {
                "CustomerRef": {"value": "20"},
                "TxnDate": "2026-11-01",
                "DueDate": "",
                "Line": [SALE, {**SALE, "Amount": 100.5}],
                "TotalAmt": 9999,
                "Balance": 1,
                "MetaData": {"CreateTime": "1999-01-01T00:00:00Z"},
                "SyncToken": 0,
            },
        ),
        "Invoice",
    )
    assert invoice["TotalAmt"] == 500.5 and invoice["Balance"] == 500.5
    assert invoice["DueDate"] == "2026-12-01"  # customer A's default terms: Net 30
    assert invoice["DocNumber"] == "1005" and invoice["SyncToken"] == "0"
    assert invoice["CustomerRef"] == {"value": "20", "name": "Company 1 Client A"}
    assert invoice["MetaData"]["CreateTime"] == "2026-11-20T09:00:00-08:00"
    assert [line["Id"] for line in invoice["Line"]] == ["1", "2"]
    assert int(invoice["Id"]) > 81
    assert get(qbo, "Customer", "20")["Balance"] == 1500.5
    bill = ok(
        post(
            qbo,
            "Bill",
            {
                "VendorRef": {"value": "31"},
                "Line": [
                    {
                        "Amount": 10,
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "5"}},
                    }
                ],
            },
        ),
        "Bill",
    )
    assert (
        bill["TxnDate"] == "2026-11-20"
        and bill["DueDate"] == "2026-11-20"
        and bill["Balance"] == 10.0
    )


def test_required_invalid_refs_and_duplicate_names(qbo: httpx.Client) -> None:
    missing = post(qbo, "Invoice", {"Line": [SALE]})
    assert (missing.status_code, fault_code(missing)) == (400, "2020")
    assert missing.json()["Fault"]["Error"][0]["element"] == "CustomerRef"
    bad_ref = post(qbo, "Invoice", {"CustomerRef": {"value": "999"}, "Line": [SALE]})
    assert (bad_ref.status_code, fault_code(bad_ref)) == (400, "2500")
    dup = post(qbo, "Vendor", {"DisplayName": "company 1 client a"})
    assert (dup.status_code, fault_code(dup)) == (400, "6240")
    assert ok(post(qbo, "Vendor", {"DisplayName": "New Vendor"}), "Vendor")["Balance"] == 0


def test_update_full_sparse_and_stale_token(qbo: httpx.Client) -> None:
    customer = get(qbo, "Customer", "21")
    sparse = ok(
        post(
            qbo,
            "Customer",
            {
                "Id": "21",
                "SyncToken": int(customer["SyncToken"]),
                "sparse": True,
                "Notes": "VIP",
                "Balance": 0,
            },
        ),
        "Customer",
    )
    assert sparse["SyncToken"] == "1" and sparse["Notes"] == "VIP" and sparse["Balance"] == 2500.0
    assert sparse["PrimaryEmailAddr"] == customer["PrimaryEmailAddr"]
    stale = post(qbo, "Customer", {"Id": "21", "SyncToken": "0", "sparse": True, "Notes": "x"})
    assert (stale.status_code, fault_code(stale)) == (400, "5010")
    full = ok(
        post(qbo, "Customer", {"Id": "21", "SyncToken": "1", "DisplayName": "Renamed"}), "Customer"
    )
    assert "PrimaryEmailAddr" not in full and "Notes" not in full and full["Balance"] == 2500.0
    assert full["SyncToken"] == "2"
    gone = post(qbo, "Customer", {"Id": "4242", "SyncToken": "0", "DisplayName": "x"})
    assert (gone.status_code, fault_code(gone)) == (400, "610")


def test_bill_payment_moves_bill_vendor_and_bank(qbo: httpx.Client) -> None:
    body = {
        "VendorRef": {"value": "30"},
        "PayType": "Check",
        "TotalAmt": 1000,
        "CheckPayment": {"BankAccountRef": {"value": "1"}},
        "Line": [{"Amount": 1000, "LinkedTxn": [{"TxnId": "60", "TxnType": "Bill"}]}],
    }
    payment = ok(post(qbo, "BillPayment", body), "BillPayment")
    bill = get(qbo, "Bill", "60")
    assert bill["Balance"] == 2000.0 and bill["SyncToken"] == "1"
    assert {"TxnId": payment["Id"], "TxnType": "BillPayment"} in bill["LinkedTxn"]
    assert get(qbo, "Vendor", "30")["Balance"] == 2400.0
    assert get(qbo, "Account", "1")["CurrentBalance"] == 24000.0
    too_much = post(
        qbo,
        "BillPayment",
        {
            **body,
            "TotalAmt": 2500,
            "Line": [{"Amount": 2500, "LinkedTxn": [{"TxnId": "60", "TxnType": "Bill"}]}],
        },
    )
    assert (too_much.status_code, fault_code(too_much)) == (400, "6000")
    assert get(qbo, "Bill", "60")["Balance"] == 2000.0  # the failed write changed nothing
    voided = ok(
        post(
            qbo,
            "BillPayment",
            {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True},
            operation="update",
            include="void",
        ),
        "BillPayment",
    )
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"].startswith("Voided")
    assert get(qbo, "Bill", "60")["Balance"] == 3000.0
    assert "LinkedTxn" not in get(qbo, "Bill", "60")
    assert get(qbo, "Account", "1")["CurrentBalance"] == 25000.0
    assert get(qbo, "Vendor", "30")["Balance"] == 3400.0
    card = ok(
        post(
            qbo,
            "BillPayment",
            {
                "VendorRef": {"value": "31"},
                "PayType": "CreditCard",
                "TotalAmt": 100,
                "CreditCardPayment": {"CCAccountRef": {"value": "7"}},
                "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": "61", "TxnType": "Bill"}]}],
            },
        ),
        "BillPayment",
    )
    assert card["TotalAmt"] == 100 and get(qbo, "Account", "7")["CurrentBalance"] == 100.0


def test_payment_applies_and_delete_restores(qbo: httpx.Client) -> None:
    body = {
        "CustomerRef": {"value": "22"},
        "TotalAmt": 350,
        "DepositToAccountRef": {"value": "1"},
        "Line": [{"Amount": 300, "LinkedTxn": [{"TxnId": "42", "TxnType": "Invoice"}]}],
    }
    payment = ok(post(qbo, "Payment", body), "Payment")
    assert payment["UnappliedAmt"] == 50.0
    assert get(qbo, "Invoice", "42")["Balance"] == 0.0
    assert get(qbo, "Customer", "22")["Balance"] == -50.0
    assert get(qbo, "Account", "1")["CurrentBalance"] == 25350.0
    over = post(
        qbo,
        "Payment",
        {
            **body,
            "TotalAmt": 100,
            "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": "42", "TxnType": "Invoice"}]}],
        },
    )
    assert (over.status_code, fault_code(over)) == (400, "6000")
    wrong_customer = post(qbo, "Payment", {**body, "CustomerRef": {"value": "20"}})
    assert fault_code(wrong_customer) == "6000"
    deleted = post(
        qbo, "Payment", {"Id": payment["Id"], "SyncToken": payment["SyncToken"]}, operation="delete"
    )
    assert deleted.status_code == 200
    assert deleted.json()["Payment"]["status"] == "Deleted"
    assert get(qbo, "Invoice", "42")["Balance"] == 300.0
    assert get(qbo, "Customer", "22")["Balance"] == 300.0
    assert get(qbo, "Account", "1")["CurrentBalance"] == 25000.0
    assert qbo.get(f"/payment/{payment['Id']}").status_code == 400


def test_void_invoice_and_update_keeps_payments(qbo: httpx.Client) -> None:
    invoice = get(qbo, "Invoice", "42")  # 800 total, 500 paid
    updated = ok(post(qbo, "Invoice", {**invoice, "Line": [{**SALE, "Amount": 900}]}), "Invoice")
    assert (updated["TotalAmt"], updated["Balance"]) == (900.0, 400.0)
    assert updated["LinkedTxn"] == invoice["LinkedTxn"]
    below_paid = post(qbo, "Invoice", {**updated, "Line": [{**SALE, "Amount": 100}]})
    assert fault_code(below_paid) == "6000"
    voided = ok(post(qbo, "Invoice", {"Id": "41", "SyncToken": "0"}, operation="void"), "Invoice")
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and voided["PrivateNote"] == "Voided"
    assert get(qbo, "Customer", "21")["Balance"] == 0.0
    dup = post(
        qbo, "Invoice", {"CustomerRef": {"value": "20"}, "DocNumber": "1001", "Line": [SALE]}
    )
    assert fault_code(dup) == "6140"


def test_list_entities_cannot_be_deleted(qbo: httpx.Client) -> None:
    response = post(qbo, "Customer", {"Id": "20", "SyncToken": "0"}, operation="delete")
    assert (response.status_code, fault_code(response)) == (400, "6000")


def test_journal_entry_must_balance(qbo: httpx.Client) -> None:
    def line(kind: str, amount: float) -> dict[str, Any]:
        return {
            "Amount": amount,
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": kind, "AccountRef": {"value": "5"}},
        }

    assert (
        fault_code(post(qbo, "JournalEntry", {"Line": [line("Debit", 10), line("Credit", 9)]}))
        == "6000"
    )
    entry = ok(
        post(qbo, "JournalEntry", {"Line": [line("Debit", 10), line("Credit", 10)]}), "JournalEntry"
    )
    assert entry["TotalAmt"] == 10.0
    purchase = ok(
        post(
            qbo,
            "Purchase",
            {
                "PaymentType": "Check",
                "AccountRef": {"value": "1"},
                "Line": [
                    {
                        "Amount": 60,
                        "DetailType": "AccountBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "5"}},
                    }
                ],
            },
        ),
        "Purchase",
    )
    assert purchase["TotalAmt"] == 60 and get(qbo, "Account", "1")["CurrentBalance"] == 24940.0


def test_send_invoice(qbo: httpx.Client) -> None:
    sent = qbo.post(
        "/invoice/41/send",
        params={"sendTo": "ap@client.example"},
        headers={"Content-Type": "application/octet-stream"},
    )
    invoice = ok(sent, "Invoice")
    assert invoice["EmailStatus"] == "EmailSent"
    assert invoice["BillEmail"] == {"Address": "ap@client.example"}
    assert invoice["DeliveryInfo"] == {
        "DeliveryType": "Email",
        "DeliveryTime": "2026-11-20T09:00:00-08:00",
    }
    assert invoice["SyncToken"] == "1"
    no_email = qbo.post("/invoice/42/send")
    assert no_email.status_code == 400 and no_email.json()["Fault"]["type"] == "ValidationFault"
    assert get(qbo, "Invoice", "42")["EmailStatus"] == "NotSet"


def test_companyinfo_and_timestamps(qbo: httpx.Client) -> None:
    response = qbo.get("/companyinfo/9130000000001")
    assert response.json()["CompanyInfo"]["CompanyName"] == "Company 1"
    assert response.json()["time"] == "2026-11-20T09:00:00.000-08:00"


def test_bad_bodies_and_unknown_entities(qbo: httpx.Client) -> None:
    broken = qbo.post("/vendor", content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["Fault"]["Error"][0]["code"].isdigit()
    assert (
        fault_code(post(qbo, "Vendor", {"Id": "30", "DisplayName": "x"})) == "2020"
    )  # no SyncToken
    assert qbo.get("/gadget/1").status_code == 400
    employee = ok(post(qbo, "Employee", {"DisplayName": "Pat Payroll"}), "Employee")
    assert fault_code(post(qbo, "Customer", {"DisplayName": "Pat Payroll"})) == "6240"
    assert employee["Active"] is True


def test_app_object_works_with_testing_helpers(sandbox_db: Any) -> None:
    from sandbox.app import create_app
    from sandbox.testing import api_client

    app = create_app(sandbox_db.path)
    with api_client(app, "9130000000002") as client:
        assert client.get("/vendor/30").json()["Vendor"]["DisplayName"] == "Company 2 Landlord"
    app.state.core.close()
