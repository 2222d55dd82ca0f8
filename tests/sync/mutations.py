"""Random changes made through the sandbox's public HTTP API (not through our client), the way
an accountant working in QuickBooks would: creates, edits, payments, voids, deletes."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

NAMES = ["O'Brien Design", "Zoë & Søn", "東京デザイン", 'Café "Noir"', "Smith\\Jones"]


def _send(api: httpx.Client, path: str, **kw: Any) -> httpx.Response:
    """POST, waiting out the sandbox's own rate limit (429) like any polite client."""
    for _ in range(100):
        answer = api.post(path, **kw)
        if answer.status_code != 429:
            return answer
        time.sleep(0.2)
    return answer


def _rows(api: httpx.Client, statement: str) -> list[dict[str, Any]]:
    body = _send(
        api, "/query", content=statement.encode(), headers={"Content-Type": "application/text"}
    ).json()
    qr = body.get("QueryResponse") or {}
    return next((v for v in qr.values() if isinstance(v, list)), [])


def _post(
    api: httpx.Client, path: str, body: dict[str, Any], **params: str
) -> dict[str, Any] | None:
    answer = _send(api, path, json=body, params=params or None)
    return answer.json() if answer.status_code == 200 else None


class Mutator:
    def __init__(self, api: httpx.Client, seed: int) -> None:
        self.api = api
        self.rng = random.Random(seed)
        self.done: list[str] = []

    def pick(self, entity: str, where: str = "") -> dict[str, Any] | None:
        rows = _rows(self.api, f"SELECT * FROM {entity} {where} MAXRESULTS 1000")
        return self.rng.choice(rows) if rows else None

    def account(self, account_type: str) -> dict[str, Any] | None:
        return self.pick("Account", f"WHERE AccountType = '{account_type}'")

    # ---- operations ---------------------------------------------------------------------------
    def create_invoice(self) -> bool:
        customer = self.pick("Customer")
        if not customer:
            return False
        amount = self.rng.choice([125.5, 9_999_999.99, 0.01, 2400.0])
        line = {
            "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
        }
        body = {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [line],
            "PrivateNote": self.rng.choice(NAMES),
        }
        return _post(self.api, "/invoice", body) is not None

    def create_bill(self) -> bool:
        vendor, expense = self.pick("Vendor"), self.account("Expense")
        if not vendor or not expense:
            return False
        line = {
            "Amount": self.rng.choice([80.0, 1234.56]),
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense["Id"]}},
            "Description": self.rng.choice(NAMES),
        }
        return (
            _post(self.api, "/bill", {"VendorRef": {"value": vendor["Id"]}, "Line": [line]})
            is not None
        )

    def pay_invoice(self) -> bool:
        invoice = self.pick("Invoice", "WHERE Balance > '0'")
        if not invoice:
            return False
        amount = min(float(invoice["Balance"]), self.rng.choice([50.0, 1e9]))
        body = {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": amount,
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        }
        return _post(self.api, "/payment", body) is not None

    def pay_bill(self) -> bool:
        bill, bank = self.pick("Bill", "WHERE Balance > '0'"), self.account("Bank")
        if not bill or not bank:
            return False
        amount = float(bill["Balance"])
        body = {
            "VendorRef": bill["VendorRef"],
            "PayType": "Check",
            "TotalAmt": amount,
            "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}},
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        }
        return _post(self.api, "/billpayment", body) is not None

    def void_invoice(self) -> bool:
        invoice = self.pick("Invoice")
        if not invoice:
            return False
        return (
            _post(
                self.api,
                "/invoice",
                {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
                operation="void",
            )
            is not None
        )

    def delete_one(self) -> bool:
        entity = self.rng.choice(["Purchase", "Deposit", "Bill", "Invoice", "JournalEntry"])
        doc = self.pick(entity)
        if not doc:
            return False
        return (
            _post(
                self.api,
                f"/{entity.lower()}",
                {"Id": doc["Id"], "SyncToken": doc["SyncToken"]},
                operation="delete",
            )
            is not None
        )

    def rename_customer(self) -> bool:
        customer = self.pick("Customer")
        if not customer:
            return False
        name = f"{self.rng.choice(NAMES)} {self.rng.randrange(10**6)}"
        body = {
            "Id": customer["Id"],
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "DisplayName": name,
        }
        return _post(self.api, "/customer", body) is not None

    def deactivate_vendor(self) -> bool:
        vendors = _rows(self.api, "SELECT * FROM Vendor")
        if len(vendors) < 2:
            return False  # keep one active vendor so bills can still be entered
        vendor = self.rng.choice(vendors)
        body = {
            "Id": vendor["Id"],
            "SyncToken": vendor["SyncToken"],
            "sparse": True,
            "Active": False,
        }
        return _post(self.api, "/vendor", body) is not None

    OPERATIONS = (
        "create_invoice",
        "create_bill",
        "pay_invoice",
        "pay_bill",
        "void_invoice",
        "delete_one",
        "rename_customer",
        "deactivate_vendor",
    )

    def run(self, n: int) -> list[str]:
        """``n`` random operations; returns the ones QBO accepted."""
        for _ in range(n):
            name = self.rng.choice(self.OPERATIONS)
            if getattr(self, name)():
                self.done.append(name)
        return self.done
