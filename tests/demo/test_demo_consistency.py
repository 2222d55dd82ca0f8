"""Every company's documents add up the way QuickBooks' would: bank balances, open balances,
unapplied amounts, references, Ids, names, and the common fields of every document."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from sandbox.demo.books import clock_now
from tests.demo.demo_ledger import (
    TODAY,
    ZERO,
    applied_to,
    bank_transactions,
    by_id,
    is_voided,
    money,
    open_by_party,
    refs,
)

NAMES = [
    "Brightline Studio",
    "Harbor & Pine Creative",
    "Oakridge Digital",
    "Tandem Growth Partners",
    "Fieldnote Agency",
    "Northgate Branding",
    "Saltwater Web Co.",
    "Redwood & Rye Marketing",
    "Copperleaf Design Co.",
    "Mosaic Pixel Works",
    "O'Malley & Finch Agency",
    "Bluebird Analytics",
]
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


@pytest.fixture(params=NAMES)
def company(request: pytest.FixtureRequest, firm: dict):
    return firm[request.param]


def test_the_twelve_demo_companies_are_the_documented_ones(firm: dict) -> None:
    assert list(firm) == NAMES


def test_bank_current_balance_equals_the_sum_of_its_transactions(company) -> None:
    _, docs = company
    sums = bank_transactions(docs)
    banks = [a for a in docs["Account"] if a["AccountType"] == "Bank"]
    assert banks
    for account in banks:
        assert money(account["CurrentBalance"]) == sums[account["Id"]], account["Name"]
        assert money(account["CurrentBalance"]) > 0, account["Name"]


def test_open_balances_equal_total_minus_applied_payments(company) -> None:
    _, docs = company
    for entity, payments, link_type in (
        ("Invoice", "Payment", "Invoice"),
        ("Bill", "BillPayment", "Bill"),
        ("CreditMemo", "Payment", "CreditMemo"),
        ("VendorCredit", "BillPayment", "VendorCredit"),
    ):
        applied = applied_to(docs, payments, link_type)
        for doc in docs[entity]:
            total, balance = money(doc["TotalAmt"]), money(doc["Balance"])
            assert balance == total - applied[doc["Id"]], f"{entity} {doc['Id']}"
            assert ZERO <= balance <= total
            line_sum = sum(
                (
                    money(line["Amount"])
                    for line in doc["Line"]
                    if line["DetailType"] != "SubTotalLineDetail"
                ),
                ZERO,
            )
            assert line_sum == total, f"{entity} {doc['Id']} lines do not add up"


def test_linked_txn_goes_both_ways(company) -> None:
    _, docs = company
    for entity, payments, back_type in (
        ("Invoice", "Payment", "Payment"),
        ("Bill", "BillPayment", "BillPaymentCheck"),
        ("CreditMemo", "Payment", "Payment"),
        ("VendorCredit", "BillPayment", "BillPaymentCheck"),
        ("Payment", "Deposit", "Deposit"),
        ("SalesReceipt", "Deposit", "Deposit"),
    ):
        forward = {
            (link["TxnId"], p["Id"])
            for p in docs[payments]
            for line in p["Line"]
            for link in line.get("LinkedTxn", [])
            if link["TxnType"] == entity
        }
        backward = {
            (doc["Id"], link["TxnId"])
            for doc in docs[entity]
            for link in doc.get("LinkedTxn", [])
            if link["TxnType"] == back_type
        }
        assert forward == backward, entity


def test_payments_unapplied_amount_is_total_minus_applied(company) -> None:
    _, docs = company

    def net_applied(payment: dict, credit_type: str) -> Decimal:
        """Lines paying documents minus lines using credits (QBO: the credit pays instead)."""
        out = ZERO
        for line in payment["Line"]:
            for link in line["LinkedTxn"]:
                sign = -1 if link["TxnType"] == credit_type else 1
                out += sign * money(line["Amount"])
        return out

    for p in docs["Payment"]:
        applied = net_applied(p, "CreditMemo")
        assert money(p["UnappliedAmt"]) == money(p["TotalAmt"]) - applied
        assert money(p["UnappliedAmt"]) >= 0
    for bp in docs["BillPayment"]:
        assert money(bp["TotalAmt"]) == net_applied(bp, "VendorCredit")


def test_customer_and_vendor_balance_is_the_sum_of_their_open_documents(company) -> None:
    _, docs = company
    expected = open_by_party(docs)
    for party in docs["Customer"] + docs["Vendor"]:
        assert money(party["Balance"]) == expected[party["Id"]], party["DisplayName"]


def test_receivable_payable_and_card_accounts_tie_out(company) -> None:
    _, docs = company
    accounts = {a["Name"]: a for a in docs["Account"]}
    usd_ar = sum(
        (money(i["Balance"]) for i in docs["Invoice"] if i["CurrencyRef"]["value"] == "USD"), ZERO
    ) - sum(
        (money(p["UnappliedAmt"]) for p in docs["Payment"] if p["CurrencyRef"]["value"] == "USD"),
        ZERO,
    )
    usd_ar -= sum(
        (money(c["Balance"]) for c in docs["CreditMemo"] if c["CurrencyRef"]["value"] == "USD"),
        ZERO,
    )
    assert money(accounts["Accounts Receivable (A/R)"]["CurrentBalance"]) == usd_ar
    ap = sum((money(b["Balance"]) for b in docs["Bill"]), ZERO)
    ap -= sum((money(c["Balance"]) for c in docs["VendorCredit"]), ZERO)
    assert money(accounts["Accounts Payable (A/P)"]["CurrentBalance"]) == ap
    card = next(a for a in docs["Account"] if a["AccountType"] == "Credit Card")
    charged = sum(
        (money(p["TotalAmt"]) for p in docs["Purchase"] if p["AccountRef"]["value"] == card["Id"]),
        ZERO,
    )
    paid = sum(
        (
            money(line["Amount"])
            for je in docs["JournalEntry"]
            for line in je["Line"]
            if line["JournalEntryLineDetail"]["AccountRef"]["value"] == card["Id"]
            and line["JournalEntryLineDetail"]["PostingType"] == "Debit"
        ),
        ZERO,
    )
    assert money(card["CurrentBalance"]) == charged - paid
    assert ZERO <= charged - paid < charged


def test_journal_entries_balance(company) -> None:
    _, docs = company
    for je in docs["JournalEntry"]:
        debit = sum(
            (
                money(line["Amount"])
                for line in je["Line"]
                if line["JournalEntryLineDetail"]["PostingType"] == "Debit"
            ),
            ZERO,
        )
        credit = sum(
            (
                money(line["Amount"])
                for line in je["Line"]
                if line["JournalEntryLineDetail"]["PostingType"] == "Credit"
            ),
            ZERO,
        )
        assert debit == credit == money(je["TotalAmt"]) > 0, je["Id"]


def test_no_document_references_a_missing_id_and_ids_are_unique(company) -> None:
    _, docs = company
    index = by_id(docs)
    assert index["1"][0] == "CompanyInfo"
    for entity, items in docs.items():
        for doc in items:
            for key, target in refs(doc):
                assert target in index, f"{entity} {doc['Id']} {key} -> missing {target}"
    kinds = {
        "CustomerRef": "Customer",
        "VendorRef": "Vendor",
        "DepositToAccountRef": "Account",
        "APAccountRef": "Account",
        "BankAccountRef": "Account",
        "ItemRef": "Item",
        "SalesTermRef": "Term",
        "TermRef": "Term",
    }
    for entity, items in docs.items():
        for doc in items:
            for key, target in refs(doc):
                if key in kinds:
                    assert index[target][0] == kinds[key], (
                        f"{entity} {doc['Id']} {key} points at {index[target][0]}"
                    )


def test_display_names_are_unique_across_customers_and_vendors(company) -> None:
    _, docs = company
    names = Counter(p["DisplayName"] for p in docs["Customer"] + docs["Vendor"])
    assert [n for n, c in names.items() if c > 1] == []


def test_every_document_is_complete(company) -> None:
    profile, docs = company
    clock = clock_now(TODAY)
    for entity, items in docs.items():
        for doc in items:
            assert doc["domain"] == "QBO" and doc["sparse"] is False
            assert doc["Id"].isdigit() and doc["SyncToken"].isdigit()
            created, updated = doc["MetaData"]["CreateTime"], doc["MetaData"]["LastUpdatedTime"]
            assert STAMP.match(created) and STAMP.match(updated), (entity, created)
            created_at, updated_at = (
                datetime.fromisoformat(created),
                datetime.fromisoformat(updated),
            )
            assert created_at <= updated_at <= clock, (entity, doc["Id"], created, updated)
            if int(doc["SyncToken"]) == 0 and entity not in ("Account",):
                assert created == updated, (entity, doc["Id"])
            for key in ("TotalAmt", "Balance", "UnappliedAmt", "CurrentBalance"):
                if key in doc:
                    assert isinstance(doc[key], (int, float)) and not isinstance(doc[key], bool)
                    money(doc[key])
            if "TxnDate" in doc:
                assert doc["TxnDate"] <= TODAY.isoformat()
    info = docs["CompanyInfo"][0]
    pairs = {nv["Name"]: nv["Value"] for nv in info["NameValue"]}
    assert info["CompanyName"] == profile.name and info["Country"] == "US"
    assert pairs["TimeZone"] == profile.tz and pairs["HomeCurrency"] == "USD"


def test_voided_documents_look_like_qbo_voids(firm: dict) -> None:
    seen = 0
    for _, docs in firm.values():
        for entity in ("Invoice", "Payment", "BillPayment"):
            for doc in docs[entity]:
                if is_voided(doc):
                    seen += 1
                    assert doc["PrivateNote"] == "Voided" and money(doc["TotalAmt"]) == 0
                    assert money(doc.get("Balance", 0)) == 0 and int(doc["SyncToken"]) >= 1
                elif entity == "Invoice":
                    assert money(doc["TotalAmt"]) > 0
    assert seen >= 4


def test_terms_and_due_dates_follow_the_terms(company) -> None:
    _, docs = company
    terms = {t["Id"]: t for t in docs["Term"]}
    assert {t["Name"] for t in terms.values()} >= {"Due on receipt", "Net 15", "Net 30"}
    assert all(t["Type"] == "STANDARD" and isinstance(t["DueDays"], int) for t in terms.values())
    for entity in ("Invoice", "Bill"):
        for doc in docs[entity]:
            if "DueDate" in doc:
                days = terms[doc["SalesTermRef"]["value"]]["DueDays"]
                assert date.fromisoformat(doc["DueDate"]) == date.fromisoformat(
                    doc["TxnDate"]
                ) + timedelta(days=days)
    vendor_terms = {v["Id"]: v["TermRef"]["value"] for v in docs["Vendor"]}
    for bill in docs["Bill"]:
        if "SalesTermRef" in bill:
            assert bill["SalesTermRef"]["value"] == vendor_terms[bill["VendorRef"]["value"]]


def test_amounts_are_built_from_whole_cents(company) -> None:
    _, docs = company
    for inv in docs["Invoice"]:
        for line in inv["Line"]:
            detail = line.get("SalesItemLineDetail")
            if detail and not is_voided(inv):
                assert money(line["Amount"]) == money(detail["UnitPrice"]) * Decimal(
                    str(detail["Qty"])
                )


def test_multi_currency_documents_stay_in_their_currency(firm: dict) -> None:
    profile, docs = firm["Brightline Studio"]
    assert profile.foreign_client
    cad_accounts = {a["Id"] for a in docs["Account"] if a["CurrencyRef"]["value"] == "CAD"}
    cad_customers = {c["Id"] for c in docs["Customer"] if c["CurrencyRef"]["value"] == "CAD"}
    assert len(cad_customers) == 1 and len(cad_accounts) == 2
    cad_invoices = [i for i in docs["Invoice"] if i["CustomerRef"]["value"] in cad_customers]
    assert cad_invoices and all(
        i["CurrencyRef"]["value"] == "CAD" and 0.6 < i["ExchangeRate"] < 0.9 for i in cad_invoices
    )
    for p in docs["Payment"]:
        in_cad = p["CustomerRef"]["value"] in cad_customers
        assert (p["DepositToAccountRef"]["value"] in cad_accounts) == in_cad
        assert (p["CurrencyRef"]["value"] == "CAD") == in_cad
