"""A tiny in-memory QBO behind ``QBOPort`` for the ledger/executor unit tests (the end-to-end
tests use the real sandbox). Faults are scripted per call: ``script.append(("create", "lost"))``."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sync.errors import NotFoundError, StaleObjectError, ThrottledError, TransientError

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


class FakeQBO:
    def __init__(self) -> None:
        self.now = START
        self.docs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.requestids: dict[tuple[str, str], dict[str, Any]] = {}
        self.script: list[tuple[str, str]] = []
        self.next_id = 1000
        self.calls: list[str] = []

    # ---- set-up ---------------------------------------------------------------------------
    def add(self, realm: str, entity: str, doc_id: str, **fields: Any) -> None:
        self.docs[(realm, entity, doc_id)] = {
            "Id": doc_id,
            "SyncToken": "0",
            **fields,
            "MetaData": {"LastUpdatedTime": self.now.isoformat()},
        }

    def bill(self, realm: str, doc_id: str, balance: str) -> None:
        self.add(
            realm,
            "Bill",
            doc_id,
            VendorRef={"value": "30"},
            TotalAmt=float(balance),
            Balance=float(balance),
        )

    def invoice(
        self, realm: str, doc_id: str, balance: str, email: str | None = "a@b.example"
    ) -> None:
        extra = {"BillEmail": {"Address": email}} if email else {}
        self.add(realm, "Invoice", doc_id, TotalAmt=float(balance), Balance=float(balance), **extra)

    def payments_for(self, realm: str, bill_id: str) -> list[dict[str, Any]]:
        return [
            d
            for (r, e, _), d in self.docs.items()
            if r == realm
            and e == "BillPayment"
            and any(link["TxnId"] == bill_id for line in d["Line"] for link in line["LinkedTxn"])
        ]

    # ---- faults ---------------------------------------------------------------------------
    def _fault(self, op: str) -> str | None:
        for i, (name, fault) in enumerate(self.script):
            if name == op:
                del self.script[i]
                return fault
        return None

    def _before(self, op: str) -> str | None:
        self.calls.append(op)
        fault = self._fault(op)
        if fault == "throttle":
            raise ThrottledError()
        if fault == "unavailable":
            raise TransientError("503 Service Unavailable")
        return fault

    def _after(self, fault: str | None) -> None:
        if fault == "lost":
            raise TransientError("connection dropped after the write")

    def _tick(self) -> str:
        self.now += timedelta(seconds=1)
        return self.now.isoformat()

    # ---- QBOPort ----------------------------------------------------------------------------
    def read(self, realm_id: str, entity: str, entity_id: str) -> dict[str, Any]:
        self._before("read")
        doc = self.docs.get((realm_id, entity, entity_id))
        if doc is None:
            raise NotFoundError(f"{entity} {entity_id} not found", code="610")
        return copy.deepcopy(doc)

    def create_bill_payment(
        self, realm_id: str, body: dict[str, Any], *, requestid: str
    ) -> dict[str, Any]:
        fault = self._before("create")
        if (realm_id, requestid) in self.requestids:
            return copy.deepcopy(self.requestids[(realm_id, requestid)])
        self.next_id += 1
        doc = {
            **copy.deepcopy(body),
            "Id": str(self.next_id),
            "SyncToken": "0",
            "MetaData": {"LastUpdatedTime": self._tick()},
        }
        self.docs[(realm_id, "BillPayment", doc["Id"])] = doc
        for line in body["Line"]:
            for link in line["LinkedTxn"]:
                bill = self.docs[(realm_id, "Bill", link["TxnId"])]
                bill["Balance"] = float(
                    Decimal(str(bill["Balance"])) - Decimal(str(line["Amount"]))
                )
                bill["SyncToken"] = str(int(bill["SyncToken"]) + 1)
                bill.setdefault("LinkedTxn", []).append(
                    {"TxnId": doc["Id"], "TxnType": "BillPayment"}
                )
        self.requestids[(realm_id, requestid)] = copy.deepcopy(doc)
        self._after(fault)
        return copy.deepcopy(doc)

    def update_sparse(
        self, realm_id: str, entity: str, body: dict[str, Any], *, requestid: str
    ) -> dict[str, Any]:
        fault = self._before("update")
        if (realm_id, requestid) in self.requestids:
            return copy.deepcopy(self.requestids[(realm_id, requestid)])
        doc = self.docs[(realm_id, entity, body["Id"])]
        if str(body["SyncToken"]) != doc["SyncToken"]:
            raise StaleObjectError("Stale Object Error", code="5010")
        if entity == "Payment":
            self._link_payment(realm_id, doc, sign=-1)
        doc.update({k: v for k, v in body.items() if k not in ("Id", "SyncToken", "sparse")})
        if entity == "Payment":
            self._link_payment(realm_id, doc, sign=1)
        doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        self.requestids[(realm_id, requestid)] = copy.deepcopy(doc)
        self._after(fault)
        return copy.deepcopy(doc)

    def send_invoice(
        self, realm_id: str, invoice_id: str, *, send_to: str | None, requestid: str
    ) -> dict[str, Any]:
        fault = self._before("send")
        if (realm_id, requestid) in self.requestids:
            return copy.deepcopy(self.requestids[(realm_id, requestid)])
        doc = self.docs[(realm_id, "Invoice", invoice_id)]
        doc["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": self._tick()}
        doc["EmailStatus"] = "EmailSent"
        doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        self.requestids[(realm_id, requestid)] = copy.deepcopy(doc)
        self._after(fault)
        return copy.deepcopy(doc)

    def bill_payments_since(self, realm_id: str, since: datetime) -> list[dict[str, Any]]:
        self._before("query")
        return [
            copy.deepcopy(d)
            for (r, e, _), d in self.docs.items()
            if r == realm_id and e == "BillPayment"
        ]

    def accounts(self, realm_id: str) -> list[dict[str, Any]]:
        return [{"Id": "1", "AccountType": "Bank", "CurrentBalance": 100.0, "Active": True}]

    def vendor_bills(self, realm_id: str, vendor_id: str) -> list[dict[str, Any]]:
        self._before("query")
        return [
            copy.deepcopy(d)
            for (r, e, _), d in self.docs.items()
            if r == realm_id
            and e == "Bill"
            and (d.get("VendorRef") or {}).get("value") == vendor_id
        ]

    def create_payment(
        self, realm_id: str, body: dict[str, Any], *, requestid: str
    ) -> dict[str, Any]:
        fault = self._before("create")
        if (realm_id, requestid) in self.requestids:
            return copy.deepcopy(self.requestids[(realm_id, requestid)])
        self.next_id += 1
        doc = {
            **copy.deepcopy(body),
            "Id": str(self.next_id),
            "SyncToken": "0",
            "MetaData": {"LastUpdatedTime": self._tick()},
        }
        self.docs[(realm_id, "Payment", doc["Id"])] = doc
        self._link_payment(realm_id, doc, sign=1)
        self.requestids[(realm_id, requestid)] = copy.deepcopy(doc)
        self._after(fault)
        return copy.deepcopy(doc)

    def _link_payment(self, realm_id: str, payment: dict[str, Any], sign: int) -> None:
        """A Payment's lines lower the balances of the invoices and credit memos they link."""
        applied = Decimal(0)
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                target = self.docs[(realm_id, link["TxnType"], link["TxnId"])]
                amount = Decimal(str(line["Amount"])) * sign
                target["Balance"] = float(Decimal(str(target["Balance"])) - amount)
                target["SyncToken"] = str(int(target["SyncToken"]) + 1)
                entry = {"TxnId": payment["Id"], "TxnType": "Payment"}
                links = target.setdefault("LinkedTxn", [])
                if sign > 0 and entry not in links:
                    links.append(entry)
                if link["TxnType"] == "Invoice":
                    applied += Decimal(str(line["Amount"]))
        payment["UnappliedAmt"] = float(Decimal(str(payment.get("TotalAmt") or 0)) - applied)
