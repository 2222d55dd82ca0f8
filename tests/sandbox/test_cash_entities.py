"""The cash documents besides invoices and bills, against qbo-api.md: CreditMemo, VendorCredit,
SalesReceipt, RefundReceipt, Transfer, Estimate, Preferences, ExchangeRate (query and the
``exchangerate`` endpoint), HomeTotalAmt / HomeBalance, Undeposited Funds and Deposits linking
payments, credits applied through payments, CDC over every entity QBO lists, and the aging
reports with credits and unapplied payments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import fault_code, query

SALE = {
    "Amount": 300,
    "DetailType": "SalesItemLineDetail",
    "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
}
EXPENSE = {
    "Amount": 120,
    "DetailType": "AccountBasedExpenseLineDetail",
    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "5"}},
}
BANK, CARD, CUSTOMER_A, CUSTOMER_B, VENDOR = "1", "7", "20", "21", "31"
OPEN_INVOICE_A = "40"  # 1000 open, customer A
OPEN_BILL_31 = "61"  # 1500 open, vendor 31


def ok(response: httpx.Response, entity: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "time" in body
    return dict(body[entity])


def create(qbo: httpx.Client, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    return ok(qbo.post(f"/{entity.lower()}", json=body), entity)


def read(qbo: httpx.Client, entity: str, doc_id: str) -> dict[str, Any]:
    return ok(qbo.get(f"/{entity.lower()}/{doc_id}"), entity)


def balance(qbo: httpx.Client, entity: str, doc_id: str, key: str = "Balance") -> Decimal:
    return Decimal(str(read(qbo, entity, doc_id)[key]))


def undeposited_funds(qbo: httpx.Client) -> str:
    return create(
        qbo,
        "Account",
        {
            "Name": "Undeposited Funds",
            "AccountType": "Other Current Asset",
            "AccountSubType": "UndepositedFunds",
        },
    )["Id"]


NEW_DOCUMENTS: dict[str, dict[str, Any]] = {
    "CreditMemo": {"CustomerRef": {"value": CUSTOMER_A}, "Line": [SALE], "TxnDate": "2026-11-10"},
    "VendorCredit": {"VendorRef": {"value": VENDOR}, "Line": [EXPENSE], "TxnDate": "2026-11-10"},
    "SalesReceipt": {
        "CustomerRef": {"value": CUSTOMER_B},
        "Line": [SALE],
        "DepositToAccountRef": {"value": BANK},
    },
    "RefundReceipt": {
        "CustomerRef": {"value": CUSTOMER_B},
        "Line": [SALE],
        "DepositToAccountRef": {"value": BANK},
    },
    "Transfer": {"FromAccountRef": {"value": BANK}, "ToAccountRef": {"value": CARD}, "Amount": 250},
    "Estimate": {
        "CustomerRef": {"value": CUSTOMER_B},
        "Line": [SALE],
        "ExpirationDate": "2026-12-20",
    },
}


@pytest.mark.parametrize("entity", sorted(NEW_DOCUMENTS))
def test_each_new_entity_has_qbo_shape_tokens_and_cdc(qbo: httpx.Client, entity: str) -> None:
    body = {**NEW_DOCUMENTS[entity], "TotalAmt": 1, "Balance": 1, "SyncToken": 0, "Id": ""}
    body.pop("Id")
    doc = create(qbo, entity, body)
    assert doc["Id"].isdigit() and doc["SyncToken"] == "0" and doc["domain"] == "QBO"
    assert set(doc["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    if entity != "Transfer":  # read-only figures are computed, what was sent is ignored
        assert doc["TotalAmt"] == sum(line["Amount"] for line in NEW_DOCUMENTS[entity]["Line"])
    if entity in ("CreditMemo", "VendorCredit"):
        assert doc["Balance"] == doc["TotalAmt"]
    if entity == "Estimate":
        assert doc["TxnStatus"] == "Pending"
    assert read(qbo, entity, doc["Id"]) == doc
    found = query(qbo, f"select * from {entity} where Id = '{doc['Id']}'")
    assert found[entity] == [doc] and found["maxResults"] == 1
    stale = qbo.post(f"/{entity.lower()}", json={**doc, "SyncToken": "7"})
    assert stale.status_code == 400 and fault_code(stale) == "5010"
    sparse = ok(
        qbo.post(
            f"/{entity.lower()}",
            json={"Id": doc["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "checked"},
        ),
        entity,
    )
    assert sparse["SyncToken"] == "1" and sparse["PrivateNote"] == "checked"
    gone = qbo.post(
        f"/{entity.lower()}",
        params={"operation": "delete"},
        json={"Id": doc["Id"], "SyncToken": "1"},
    )
    assert ok(gone, entity)["status"] == "Deleted"
    assert qbo.get(f"/{entity.lower()}/{doc['Id']}").status_code == 400
    changes = qbo.get("/cdc", params={"entities": entity, "changedSince": "2026-11-19"}).json()
    (block,) = changes["CDCResponse"][0]["QueryResponse"]
    assert block[entity] == [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": doc["Id"],
            "MetaData": {"LastUpdatedTime": block[entity][0]["MetaData"]["LastUpdatedTime"]},
        }
    ]


def test_cdc_and_query_accept_every_entity_qbo_lists_and_keep_errors_for_others(
    qbo: httpx.Client,
) -> None:
    listed = (
        "Account,Bill,BillPayment,Budget,Class,CreditMemo,Customer,Department,Deposit,Employee,"
        "Estimate,Invoice,Item,JournalCode,JournalEntry,Payment,PaymentMethod,Preferences,"
        "Purchase,PurchaseOrder,RefundReceipt,SalesReceipt,TaxAgency,Term,TimeActivity,"
        "Transfer,Vendor,VendorCredit"
    )
    answer = qbo.get("/cdc", params={"entities": listed, "changedSince": "2026-11-20T08:59:00"})
    assert answer.status_code == 200, answer.text
    for name in ("Budget", "TimeActivity", "PurchaseOrder", "JournalCode"):
        assert query(qbo, f"select * from {name}") == {}
        assert query(qbo, f"select count(*) from {name}") == {"totalCount": 0}
    for bad in ("Nope", "ExchangeRate", "CompanyInfo"):
        refused = qbo.get("/cdc", params={"entities": f"Bill,{bad}", "changedSince": "2026-11-19"})
        assert refused.status_code == 400 and fault_code(refused) == "4001", bad
        assert bad in refused.json()["Fault"]["Error"][0]["Detail"]
    unknown = qbo.get("/query", params={"query": "select * from Nope"})
    assert unknown.status_code == 400 and fault_code(unknown) == "4001"


def test_credit_memo_applied_by_a_payment_linking_invoice_and_credit(qbo: httpx.Client) -> None:
    memo = create(qbo, "CreditMemo", NEW_DOCUMENTS["CreditMemo"])
    customer_before = balance(qbo, "Customer", CUSTOMER_A)
    assert customer_before == Decimal("700")  # 1000 open - the 300 credit
    payment = create(
        qbo,
        "Payment",
        {
            "CustomerRef": {"value": CUSTOMER_A},
            "TotalAmt": 700,
            "DepositToAccountRef": {"value": BANK},
            "Line": [
                {"Amount": 1000, "LinkedTxn": [{"TxnId": OPEN_INVOICE_A, "TxnType": "Invoice"}]},
                {"Amount": 300, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    assert payment["UnappliedAmt"] == 0
    assert balance(qbo, "Invoice", OPEN_INVOICE_A) == 0
    used = read(qbo, "CreditMemo", memo["Id"])
    assert used["Balance"] == 0 and used["RemainingCredit"] == 0
    assert used["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert balance(qbo, "Customer", CUSTOMER_A) == 0
    refused = qbo.post(
        "/creditmemo", params={"operation": "delete"}, json={"Id": memo["Id"], "SyncToken": "1"}
    )
    assert refused.status_code == 400 and "applied by payment" in refused.text
    # deleting the payment gives the credit back
    ok(
        qbo.post(
            "/payment",
            params={"operation": "delete"},
            json={"Id": payment["Id"], "SyncToken": payment["SyncToken"]},
        ),
        "Payment",
    )
    assert balance(qbo, "CreditMemo", memo["Id"]) == 300
    assert balance(qbo, "Invoice", OPEN_INVOICE_A) == 1000


def test_a_credit_larger_than_the_invoice_or_the_credit_left_is_refused(
    qbo: httpx.Client,
) -> None:
    memo = create(
        qbo, "CreditMemo", {**NEW_DOCUMENTS["CreditMemo"], "Line": [{**SALE, "Amount": 1500}]}
    )
    too_much = qbo.post(
        "/payment",
        json={
            "CustomerRef": {"value": CUSTOMER_A},
            "TotalAmt": 0,
            "Line": [
                {"Amount": 1500, "LinkedTxn": [{"TxnId": OPEN_INVOICE_A, "TxnType": "Invoice"}]},
                {"Amount": 1500, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    assert too_much.status_code == 400 and fault_code(too_much) == "6000"
    assert f"Invoice {OPEN_INVOICE_A}" in too_much.text and "open balance" in too_much.text
    over_credit = qbo.post(
        "/payment",
        json={
            "CustomerRef": {"value": CUSTOMER_A},
            "TotalAmt": 0,
            "Line": [
                {"Amount": 1000, "LinkedTxn": [{"TxnId": OPEN_INVOICE_A, "TxnType": "Invoice"}]},
                {"Amount": 1600, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
            ],
        },
    )
    assert over_credit.status_code == 400 and "CreditMemo lines use 1600" in over_credit.text
    assert balance(qbo, "CreditMemo", memo["Id"]) == 1500  # nothing changed
    assert balance(qbo, "Invoice", OPEN_INVOICE_A) == 1000


def test_vendor_credit_applied_through_a_bill_payment(qbo: httpx.Client) -> None:
    credit = create(qbo, "VendorCredit", NEW_DOCUMENTS["VendorCredit"])
    assert balance(qbo, "Vendor", VENDOR) == Decimal("1380")  # 1500 open - 120 credit
    bank_before = balance(qbo, "Account", BANK, "CurrentBalance")
    paid = create(
        qbo,
        "BillPayment",
        {
            "VendorRef": {"value": VENDOR},
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": BANK}},
            "TotalAmt": 1380,
            "Line": [
                {"Amount": 1500, "LinkedTxn": [{"TxnId": OPEN_BILL_31, "TxnType": "Bill"}]},
                {"Amount": 120, "LinkedTxn": [{"TxnId": credit["Id"], "TxnType": "VendorCredit"}]},
            ],
        },
    )
    assert balance(qbo, "Bill", OPEN_BILL_31) == 0
    assert balance(qbo, "VendorCredit", credit["Id"]) == 0
    assert balance(qbo, "Vendor", VENDOR) == 0
    assert balance(qbo, "Account", BANK, "CurrentBalance") == bank_before - 1380
    assert read(qbo, "VendorCredit", credit["Id"])["LinkedTxn"] == [
        {"TxnId": paid["Id"], "TxnType": "BillPayment"}
    ]


def test_undeposited_funds_and_a_deposit_linking_each_payment_once(qbo: httpx.Client) -> None:
    funds = undeposited_funds(qbo)
    bank_before = balance(qbo, "Account", BANK, "CurrentBalance")
    checks = [
        create(
            qbo,
            "Payment",
            {
                "CustomerRef": {"value": CUSTOMER_B},
                "TotalAmt": amount,
                "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": "41", "TxnType": "Invoice"}]}],
            },
        )
        for amount in (400, 600)
    ]
    cash_sale = create(
        qbo, "SalesReceipt", {**NEW_DOCUMENTS["SalesReceipt"]} | {"DepositToAccountRef": None}
    )
    assert all(c["DepositToAccountRef"]["value"] == funds for c in [*checks, cash_sale])
    assert balance(qbo, "Account", funds, "CurrentBalance") == 1300
    assert balance(qbo, "Account", BANK, "CurrentBalance") == bank_before

    def line(doc: dict[str, Any], kind: str = "Payment") -> dict[str, Any]:
        return {"Amount": doc["TotalAmt"], "LinkedTxn": [{"TxnId": doc["Id"], "TxnType": kind}]}

    twice = qbo.post(
        "/deposit",
        json={"DepositToAccountRef": {"value": BANK}, "Line": [line(checks[0]), line(checks[0])]},
    )
    assert twice.status_code == 400 and f"Payment {checks[0]['Id']} is linked twice" in twice.text
    deposit = create(
        qbo,
        "Deposit",
        {
            "DepositToAccountRef": {"value": BANK},
            "Line": [line(checks[0]), line(checks[1]), line(cash_sale, "SalesReceipt")],
        },
    )
    assert deposit["TotalAmt"] == 1300
    assert balance(qbo, "Account", funds, "CurrentBalance") == 0
    assert balance(qbo, "Account", BANK, "CurrentBalance") == bank_before + 1300
    assert read(qbo, "Payment", checks[0]["Id"])["LinkedTxn"] == [
        {"TxnId": deposit["Id"], "TxnType": "Deposit"}
    ]
    again = qbo.post(
        "/deposit", json={"DepositToAccountRef": {"value": BANK}, "Line": [line(checks[1])]}
    )
    assert again.status_code == 400
    assert f"already deposited by Deposit {deposit['Id']}" in again.text
    locked = qbo.post(
        "/payment",
        params={"operation": "delete"},
        json={
            "Id": checks[0]["Id"],
            "SyncToken": read(qbo, "Payment", checks[0]["Id"])["SyncToken"],
        },
    )
    assert locked.status_code == 400 and "part of Deposit" in locked.text
    partial = qbo.post(
        "/deposit",
        json={
            "DepositToAccountRef": {"value": BANK},
            "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": "51", "TxnType": "Payment"}]}],
        },
    )
    assert partial.status_code == 400 and "not waiting in Undeposited Funds" in partial.text


def test_transfers_refunds_and_cash_sales_move_the_accounts(qbo: httpx.Client) -> None:
    bank = balance(qbo, "Account", BANK, "CurrentBalance")
    create(qbo, "SalesReceipt", NEW_DOCUMENTS["SalesReceipt"])
    create(
        qbo, "RefundReceipt", {**NEW_DOCUMENTS["RefundReceipt"], "Line": [{**SALE, "Amount": 50}]}
    )
    line_of_credit = create(
        qbo,
        "Account",
        {
            "Name": "Line of Credit",
            "AccountType": "Other Current Liability",
            "AccountSubType": "LineOfCredit",
        },
    )["Id"]
    create(
        qbo,
        "Transfer",
        {
            "FromAccountRef": {"value": line_of_credit},
            "ToAccountRef": {"value": BANK},
            "Amount": 5000,
        },
    )
    create(
        qbo,
        "Transfer",
        {
            "FromAccountRef": {"value": BANK},
            "ToAccountRef": {"value": line_of_credit},
            "Amount": 2000,
        },
    )
    assert balance(qbo, "Account", BANK, "CurrentBalance") == bank + 300 - 50 + 5000 - 2000
    assert balance(qbo, "Account", line_of_credit, "CurrentBalance") == 3000  # owed
    same = qbo.post(
        "/transfer",
        json={"FromAccountRef": {"value": BANK}, "ToAccountRef": {"value": BANK}, "Amount": 1},
    )
    assert same.status_code == 400 and "two different accounts" in same.text
    expense = qbo.post(
        "/transfer",
        json={"FromAccountRef": {"value": BANK}, "ToAccountRef": {"value": "5"}, "Amount": 1},
    )
    assert expense.status_code == 400 and "'Expense'" in expense.text


def test_estimate_status_expiry_and_the_invoice_it_became(qbo: httpx.Client) -> None:
    bad = qbo.post("/estimate", json={**NEW_DOCUMENTS["Estimate"], "TxnStatus": "Won"})
    assert bad.status_code == 400 and "TxnStatus must be one of" in bad.text and "'Won'" in bad.text
    assert query(qbo, "select count(*) from Estimate") == {"totalCount": 0}  # nothing stored
    estimate = create(qbo, "Estimate", {**NEW_DOCUMENTS["Estimate"], "TxnStatus": "Accepted"})
    assert estimate["ExpirationDate"] == "2026-12-20" and estimate["TxnStatus"] == "Accepted"
    invoiced = ok(
        qbo.post(
            "/estimate",
            json={
                **estimate,
                "LinkedTxn": [{"TxnId": "41", "TxnType": "Invoice"}],
            },
        ),
        "Estimate",
    )
    assert invoiced["TxnStatus"] == "Closed"
    assert invoiced["LinkedTxn"] == [{"TxnId": "41", "TxnType": "Invoice"}]
    other = qbo.post(
        "/estimate",
        json={
            **NEW_DOCUMENTS["Estimate"],
            "LinkedTxn": [{"TxnId": OPEN_INVOICE_A, "TxnType": "Invoice"}],
        },
    )
    assert other.status_code == 400 and "another customer" in other.text
    pending = query(qbo, "select * from Estimate where TxnStatus = 'Closed'")
    assert [e["Id"] for e in pending["Estimate"]] == [estimate["Id"]]


def test_preferences_exchange_rates_and_home_amounts(qbo: httpx.Client, sandbox_db: Any) -> None:
    prefs = ok(qbo.get("/preferences"), "Preferences")
    assert prefs["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}
    assert query(qbo, "select * from Preferences")["Preferences"] == [prefs]
    create_prefs = qbo.post("/preferences", json={"CurrencyPrefs": {}})
    assert create_prefs.status_code == 400 and "exactly one" in create_prefs.text
    customer = create(
        qbo, "Customer", {"DisplayName": "Maple Client", "CurrencyRef": {"value": "CAD"}}
    )
    no_rate = qbo.post(
        "/invoice",
        json={
            "CustomerRef": {"value": customer["Id"]},
            "CurrencyRef": {"value": "CAD"},
            "TxnDate": "2026-11-02",
            "Line": [SALE],
        },
    )
    assert no_rate.status_code == 400 and "CAD" in no_rate.text and "ExchangeRate" in no_rate.text
    for day, rate in (("2026-10-01", 0.7201), ("2026-11-01", 0.7315)):
        create(
            qbo,
            "ExchangeRate",
            {
                "SourceCurrencyCode": "CAD",
                "TargetCurrencyCode": "USD",
                "Rate": rate,
                "AsOfDate": day,
            },
        )
    invoice = create(
        qbo,
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "CurrencyRef": {"value": "CAD"},
            "TxnDate": "2026-11-02",
            "Line": [{**SALE, "Amount": 1000.05}],
        },
    )
    # the company's rate for the TxnDate: 1000.05 CAD x 0.7315 = 731.536575 -> 731.54
    assert invoice["ExchangeRate"] == 0.7315
    assert invoice["HomeTotalAmt"] == invoice["HomeBalance"] == 731.54
    create(
        qbo,
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "CurrencyRef": {"value": "CAD"},
            "ExchangeRate": 0.74,
            "TotalAmt": 400,
            "Line": [
                {"Amount": 400, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
    )
    after = read(qbo, "Invoice", invoice["Id"])
    assert after["Balance"] == 600.05 and after["HomeBalance"] == 438.94  # 600.05 x 0.7315
    mid_october = ok(
        qbo.get("/exchangerate", params={"sourcecurrencycode": "CAD", "asofdate": "2026-10-15"}),
        "ExchangeRate",
    )
    assert mid_october["Rate"] == 0.7201 and mid_october["AsOfDate"] == "2026-10-01"
    today = ok(qbo.get("/exchangerate", params={"sourcecurrencycode": "cad"}), "ExchangeRate")
    assert today["Rate"] == 0.7315
    missing = qbo.get("/exchangerate", params={"sourcecurrencycode": "EUR"})
    assert missing.status_code == 400 and "EUR" in missing.text
    dated = query(qbo, "select * from exchangerate where AsOfDate = '2026-11-01'")
    assert [r["Rate"] for r in dated["ExchangeRate"]] == [0.7315]


def _report(qbo: httpx.Client, name: str) -> dict[str, list[str]]:
    body = qbo.get(f"/reports/{name}", params={"report_date": "2026-11-20"}).json()
    out = {}
    for row in body["Rows"]["Row"]:
        cells = row["Summary"]["ColData"] if "Summary" in row else row["ColData"]
        out[cells[0]["value"]] = [c["value"] for c in cells[1:]]
    return out


def test_aging_reports_show_credits_and_unapplied_payments_as_negative_amounts(
    qbo: httpx.Client,
) -> None:
    create(qbo, "CreditMemo", NEW_DOCUMENTS["CreditMemo"])  # 300, dated 11-10: 1-30 days old
    create(
        qbo,
        "Payment",
        {"CustomerRef": {"value": CUSTOMER_B}, "TotalAmt": 250, "TxnDate": "2026-11-20"},
    )
    create(qbo, "VendorCredit", {**NEW_DOCUMENTS["VendorCredit"], "TxnDate": "2026-07-01"})
    ar = _report(qbo, "AgedReceivables")
    # Client A: invoice 1000 (15 days late) and the -300 credit (10 days old), both in 1-30
    assert ar["Company 1 Client A"] == ["0.00", "700.00", "0.00", "0.00", "0.00", "700.00"]
    # Client B: invoice 2500 current, payment of 250 unapplied today (current)
    assert ar["Company 1 Client B"] == ["2250.00", "0.00", "0.00", "0.00", "0.00", "2250.00"]
    ap = _report(qbo, "AgedPayables")
    assert ap["Company 1 Designer"] == ["0.00", "1500.00", "0.00", "0.00", "-120.00", "1380.00"]
    detail = qbo.get("/reports/AgedReceivableDetail", params={"report_date": "2026-11-20"}).json()
    rows = [
        row["ColData"]
        for section in detail["Rows"]["Row"]
        if "Rows" in section
        for row in section["Rows"]["Row"]
    ]
    kinds = {(r[1]["value"], r[7]["value"]) for r in rows}
    assert ("Credit Memo", "-300.00") in kinds and ("Payment", "-250.00") in kinds
    grand = [r for r in detail["Rows"]["Row"] if r.get("group") == "GrandTotal"][0]
    # open invoices 1000 + 2500 + 300 (Client C's partial), less the 300 credit and 250 unapplied
    assert grand["Summary"]["ColData"][-1]["value"] == "3250.00" == ar["TOTAL"][-1]


def test_void_keeps_the_document_with_zero_amounts_and_undoes_its_effects(
    qbo: httpx.Client,
) -> None:
    bank = balance(qbo, "Account", BANK, "CurrentBalance")
    sale = create(qbo, "SalesReceipt", NEW_DOCUMENTS["SalesReceipt"])
    memo = create(qbo, "CreditMemo", NEW_DOCUMENTS["CreditMemo"])
    assert balance(qbo, "Account", BANK, "CurrentBalance") == bank + 300
    for entity, doc in (("SalesReceipt", sale), ("CreditMemo", memo)):
        voided = ok(
            qbo.post(
                f"/{entity.lower()}",
                params={"operation": "void"},
                json={"Id": doc["Id"], "SyncToken": doc["SyncToken"]},
            ),
            entity,
        )
        assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided"
        assert voided["SyncToken"] == "1" and voided["Line"] == []
    assert balance(qbo, "Account", BANK, "CurrentBalance") == bank
    assert balance(qbo, "CreditMemo", memo["Id"]) == 0
    assert balance(qbo, "Customer", CUSTOMER_A) == 1000  # the credit no longer lowers it
    transfer = create(qbo, "Transfer", NEW_DOCUMENTS["Transfer"])
    refused = qbo.post(
        "/transfer",
        params={"operation": "void"},
        json={"Id": transfer["Id"], "SyncToken": "0"},
    )
    assert refused.status_code == 400 and "cannot be voided" in refused.text


def test_an_invoice_made_from_an_estimate_closes_it_and_links_both_ways(
    qbo: httpx.Client,
) -> None:
    estimate = create(qbo, "Estimate", {**NEW_DOCUMENTS["Estimate"], "TxnStatus": "Accepted"})
    body = {
        "CustomerRef": {"value": CUSTOMER_B},
        "Line": [SALE],
        "LinkedTxn": [{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
    }
    invoice = create(qbo, "Invoice", body)
    assert invoice["LinkedTxn"] == [{"TxnId": estimate["Id"], "TxnType": "Estimate"}]
    closed = read(qbo, "Estimate", estimate["Id"])
    assert closed["TxnStatus"] == "Closed"
    assert closed["LinkedTxn"] == [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    twice = qbo.post("/invoice", json=body)
    assert twice.status_code == 400 and f"already invoiced by Invoice {invoice['Id']}" in twice.text
    rejected = create(qbo, "Estimate", {**NEW_DOCUMENTS["Estimate"], "TxnStatus": "Rejected"})
    refused = qbo.post(
        "/invoice",
        json={**body, "LinkedTxn": [{"TxnId": rejected["Id"], "TxnType": "Estimate"}]},
    )
    assert refused.status_code == 400 and "was rejected" in refused.text
    ok(
        qbo.post(
            "/invoice",
            params={"operation": "delete"},
            json={"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
        ),
        "Invoice",
    )
    reopened = read(qbo, "Estimate", estimate["Id"])
    assert reopened["TxnStatus"] == "Accepted" and "LinkedTxn" not in reopened
