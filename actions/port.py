"""The few QBO calls the executor needs, as a small interface (``QBOPort``), and its adapter over
``sync.client.QBOClient``. Every call goes through the *user* lane of the rate limiter: these are
an owner's clicks, so they may spend the last tokens and background sync yields to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

Doc = dict[str, Any]
USER_LANE = "user"


class QBOPort(Protocol):
    def read(self, realm_id: str, entity: str, entity_id: str) -> Doc: ...

    def create_bill_payment(self, realm_id: str, body: Doc, *, requestid: str) -> Doc: ...

    def update_sparse(self, realm_id: str, entity: str, body: Doc, *, requestid: str) -> Doc: ...

    def send_invoice(
        self, realm_id: str, invoice_id: str, *, send_to: str | None, requestid: str
    ) -> Doc: ...

    def bill_payments_since(self, realm_id: str, since: datetime) -> list[Doc]: ...

    def accounts(self, realm_id: str) -> list[Doc]: ...

    def vendor_bills(self, realm_id: str, vendor_id: str) -> list[Doc]: ...

    def create_payment(self, realm_id: str, body: Doc, *, requestid: str) -> Doc: ...


def _unwrap(answer: Any, entity: str) -> Doc:
    """Accept either the bare entity or QBO's ``{"Entity": {...}, "time": ...}`` wrapper."""
    if isinstance(answer, dict) and isinstance(answer.get(entity), dict):
        return answer[entity]
    return answer


def _rows(answer: Any, entity: str) -> list[Doc]:
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict):
        inner = answer.get("QueryResponse", answer)
        return list(inner.get(entity) or [])
    return []


def qbo_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


class ClientPort:
    """``QBOPort`` over the real client (which owns OAuth, the limiter and the retry policy)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def read(self, realm_id: str, entity: str, entity_id: str) -> Doc:
        return _unwrap(self.client.read(realm_id, entity, entity_id, lane=USER_LANE), entity)

    def create_bill_payment(self, realm_id: str, body: Doc, *, requestid: str) -> Doc:
        return _unwrap(
            self.client.create(realm_id, "BillPayment", body, requestid=requestid, lane=USER_LANE),
            "BillPayment",
        )

    def update_sparse(self, realm_id: str, entity: str, body: Doc, *, requestid: str) -> Doc:
        answer = self.client.update(
            realm_id, entity, body, requestid=requestid, sparse=True, lane=USER_LANE
        )
        return _unwrap(answer, entity)

    def send_invoice(
        self, realm_id: str, invoice_id: str, *, send_to: str | None, requestid: str
    ) -> Doc:
        answer = self.client.send_invoice(
            realm_id, invoice_id, send_to=send_to, requestid=requestid, lane=USER_LANE
        )
        return _unwrap(answer, "Invoice")

    def _query_all(self, realm_id: str, entity: str, where: str) -> list[Doc]:
        out: list[Doc] = []
        start = 1
        while True:
            statement = f"SELECT * FROM {entity}{where} STARTPOSITION {start} MAXRESULTS 1000"
            rows = _rows(self.client.query(realm_id, statement, lane=USER_LANE), entity)
            out += rows
            if len(rows) < 1000:
                return out
            start += len(rows)

    def bill_payments_since(self, realm_id: str, since: datetime) -> list[Doc]:
        return self._query_all(
            realm_id, "BillPayment", f" WHERE MetaData.LastUpdatedTime >= '{qbo_ts(since)}'"
        )

    def accounts(self, realm_id: str) -> list[Doc]:
        return self._query_all(realm_id, "Account", " WHERE AccountType = 'Bank'")

    def home_currency(self, realm_id: str) -> str | None:
        """The company's home currency (Preferences.CurrencyPrefs), None when QBO does not say."""
        rows = self._query_all(realm_id, "Preferences", "")
        prefs = (rows[0].get("CurrencyPrefs") or {}) if rows else {}
        ref = prefs.get("HomeCurrency") or {}
        return str(ref["value"]) if isinstance(ref, dict) and ref.get("value") else None

    def vendor_bills(self, realm_id: str, vendor_id: str) -> list[Doc]:
        """Every bill of one vendor, paid ones too: the duplicate check compares against them."""
        if not str(vendor_id).isdigit():  # QBO ids are numeric; nothing else goes into a query
            raise ValueError(f"not a QuickBooks vendor id: {vendor_id!r}")
        return self._query_all(realm_id, "Bill", f" WHERE VendorRef = '{vendor_id}'")

    def create_payment(self, realm_id: str, body: Doc, *, requestid: str) -> Doc:
        return _unwrap(
            self.client.create(realm_id, "Payment", body, requestid=requestid, lane=USER_LANE),
            "Payment",
        )


def marker_window(since_iso: str, margin: timedelta = timedelta(days=1)) -> datetime:
    """Where to start looking for our marker: the intent's creation (QBO clock) minus a margin."""
    return datetime.fromisoformat(since_iso) - margin


PortFactory = Callable[[], QBOPort]
