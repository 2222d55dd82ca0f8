"""Independent readings of generated QBO documents (Decimal money, dates), written from the QBO
shapes in qbo-api.md and NOT from the generator's code, so the tests can catch its mistakes."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any

Docs = dict[str, list[dict[str, Any]]]
SEED = 20261120
TODAY = date(2026, 11, 20)  # a Friday, the product's default demo date
ZERO = Decimal("0")
CENT = Decimal("0.01")


def money(value: Any) -> Decimal:
    """A JSON number read the way the store reads it; refuses anything beyond two decimals."""
    amount = Decimal(str(value))
    if amount != amount.quantize(CENT):
        raise AssertionError(f"amount {value!r} has more than two decimals")
    return amount


def day(text: str) -> date:
    return date.fromisoformat(text)


def is_voided(doc: dict[str, Any]) -> bool:
    return str(doc.get("PrivateNote") or "").startswith("Voided")


def by_id(docs: Docs) -> dict[str, tuple[str, dict[str, Any]]]:
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for entity, items in docs.items():
        for doc in items:
            assert doc["Id"] not in out, (
                f"Id {doc['Id']} used twice ({out[doc['Id']][0]} and {entity})"
            )
            out[doc["Id"]] = (entity, doc)
    return out


def bank_transactions(docs: Docs) -> dict[str, Decimal]:
    """Sum of every transaction per Bank account id, from the documents alone. Money received
    into Undeposited Funds reaches a bank only through the Deposit that moves it."""
    banks = {a["Id"] for a in docs["Account"] if a["AccountType"] == "Bank"}
    total: dict[str, Decimal] = {b: ZERO for b in banks}

    def move(account: str, amount: Decimal) -> None:
        if account in banks:
            total[account] += amount

    for entity, sign in (
        ("Payment", 1),
        ("Deposit", 1),
        ("SalesReceipt", 1),
        ("RefundReceipt", -1),
    ):
        for doc in docs.get(entity, []):
            move(doc["DepositToAccountRef"]["value"], sign * money(doc["TotalAmt"]))
    for bp in docs["BillPayment"]:
        move(bp["CheckPayment"]["BankAccountRef"]["value"], -money(bp["TotalAmt"]))
    for pu in docs["Purchase"]:
        move(pu["AccountRef"]["value"], -money(pu["TotalAmt"]))
    for tr in docs.get("Transfer", []):
        move(tr["FromAccountRef"]["value"], -money(tr["Amount"]))
        move(tr["ToAccountRef"]["value"], money(tr["Amount"]))
    for je in docs["JournalEntry"]:
        for line in je["Line"]:
            detail = line["JournalEntryLineDetail"]
            sign = 1 if detail["PostingType"] == "Debit" else -1
            move(detail["AccountRef"]["value"], sign * money(line["Amount"]))
    return total


def undeposited(docs: Docs) -> Decimal:
    """What waits in Undeposited Funds: payments and cash sales put there, less deposit lines
    that moved them."""
    funds = {a["Id"] for a in docs["Account"] if a.get("AccountSubType") == "UndepositedFunds"}
    waiting = sum(
        (
            money(doc["TotalAmt"])
            for entity in ("Payment", "SalesReceipt")
            for doc in docs.get(entity, [])
            if doc["DepositToAccountRef"]["value"] in funds
        ),
        ZERO,
    )
    moved = sum(
        (
            money(line["Amount"])
            for dep in docs["Deposit"]
            for line in dep["Line"]
            if line.get("LinkedTxn")
        ),
        ZERO,
    )
    return waiting - moved


def applied_to(docs: Docs, payment_entity: str, txn_type: str) -> dict[str, Decimal]:
    """Per document Id of ``txn_type``: the amounts applied by payment lines linking to it
    (an Invoice or Bill it pays, or a CreditMemo / VendorCredit it uses up)."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in docs[payment_entity]:
        for line in payment["Line"]:
            for link in line.get("LinkedTxn", []):
                assert link["TxnType"] in ("Invoice", "CreditMemo", "Bill", "VendorCredit")
                if link["TxnType"] == txn_type:
                    out[link["TxnId"]] += money(line["Amount"])
    return out


def open_by_party(docs: Docs) -> dict[str, Decimal]:
    """Customer: open invoices minus unapplied payments and open credit memos; vendor: open
    bills minus open vendor credits."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for inv in docs["Invoice"]:
        out[inv["CustomerRef"]["value"]] += money(inv["Balance"])
    for p in docs["Payment"]:
        out[p["CustomerRef"]["value"]] -= money(p["UnappliedAmt"])
    for memo in docs.get("CreditMemo", []):
        out[memo["CustomerRef"]["value"]] -= money(memo["Balance"])
    for bill in docs["Bill"]:
        out[bill["VendorRef"]["value"]] += money(bill["Balance"])
    for credit in docs.get("VendorCredit", []):
        out[credit["VendorRef"]["value"]] -= money(credit["Balance"])
    return out


def refs(node: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, Id) reference inside a document: *Ref values and LinkedTxn TxnIds."""
    out: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if (
                k.endswith("Ref")
                and isinstance(v, dict)
                and "value" in v
                and k != "CurrencyRef"
                and k != "TaxCodeRef"
            ):
                out.append((k, v["value"]))
            elif k == "TxnId":
                out.append((k, v))
            else:
                out.extend(refs(v, k))
    elif isinstance(node, list):
        for item in node:
            out.extend(refs(item, key))
    return out


def days_late(docs: Docs, customer_id: str) -> list[int]:
    """Paid date - due date for each fully paid, applied invoice of a customer."""
    paid_on: dict[str, date] = {}
    for p in docs["Payment"]:
        for line in p["Line"]:
            for link in line.get("LinkedTxn", []):
                when = day(p["TxnDate"])
                paid_on[link["TxnId"]] = max(paid_on.get(link["TxnId"], when), when)
    return [
        (paid_on[inv["Id"]] - day(inv["DueDate"])).days
        for inv in docs["Invoice"]
        if inv["CustomerRef"]["value"] == customer_id
        and "DueDate" in inv
        and money(inv["Balance"]) == 0
        and not is_voided(inv)
        and inv["Id"] in paid_on
    ]


def median_days_late(docs: Docs, customer_id: str) -> float:
    return median(days_late(docs, customer_id))


def aging_bucket(due: date, as_of: date) -> str:
    late = (as_of - due).days
    if late <= 0:
        return "Current"
    if late <= 30:
        return "1-30"
    if late <= 60:
        return "31-60"
    if late <= 90:
        return "61-90"
    return "91+"


def payroll_runs(docs: Docs) -> list[tuple[date, Decimal]]:
    """Payroll cash-outs as the domain recognises them: Purchases to Gusto/ADP touching a wages
    account, or journal entries debiting payroll expense and crediting a bank."""
    wages = {
        a["Id"] for a in docs["Account"] if a["Name"] in ("Wages", "Taxes") and a.get("SubAccount")
    }
    banks = {a["Id"] for a in docs["Account"] if a["AccountType"] == "Bank"}
    runs = []
    for pu in docs["Purchase"]:
        accounts = {
            line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] for line in pu["Line"]
        }
        if pu.get("EntityRef", {}).get("name") in ("Gusto", "ADP") and accounts & wages:
            runs.append((day(pu["TxnDate"]), money(pu["TotalAmt"])))
    for je in docs["JournalEntry"]:
        lines = [line["JournalEntryLineDetail"] for line in je["Line"]]
        debits_wages = any(
            d["PostingType"] == "Debit" and d["AccountRef"]["value"] in wages for d in lines
        )
        credit_bank = [
            money(line["Amount"])
            for line in je["Line"]
            if line["JournalEntryLineDetail"]["PostingType"] == "Credit"
            and line["JournalEntryLineDetail"]["AccountRef"]["value"] in banks
        ]
        if debits_wages and credit_bank:
            runs.append((day(je["TxnDate"]), sum(credit_bank, ZERO)))
    return sorted(runs)


def operating_cash(docs: Docs) -> Decimal:
    return sum(
        (
            money(a["CurrentBalance"])
            for a in docs["Account"]
            if a["AccountType"] == "Bank" and a["CurrencyRef"]["value"] == "USD"
        ),
        ZERO,
    )


def by_situation(firm: dict[str, tuple[Any, Docs]], situation: str) -> list[tuple[Any, Docs]]:
    found = [entry for entry in firm.values() if entry[0].situation == situation]
    assert found, f"no company in situation {situation!r}"
    return found
