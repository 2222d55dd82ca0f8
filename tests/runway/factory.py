"""Fixture factory: QBO-like documents with their version history, stored through the product's
own write path (``sync.ingest.ingest_into`` inside ``Warehouse.transact``) and read back through
its own snapshot reader — as in-memory snapshots or real warehouse files."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from runway.snapshot import Snapshot, read_snapshot
from runway.tables import TABLES
from sync.ingest import ingest_into
from sync.schema import BY_TABLE
from sync.store import Warehouse, create_schema, mark_success

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ts(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Company:
    """One company's documents; every change appends a version (like QBO's SyncToken)."""

    realm_id: str
    name: str = "Acme Agency"
    home: str = "USD"
    stamp: datetime = T0
    versions: list[dict[str, Any]] = field(default_factory=list)
    _next: int = 100
    _tokens: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.put(
            "CompanyInfo",
            {
                "Id": "1",
                "CompanyName": self.name,
                "NameValue": [{"Name": "HomeCurrency", "Value": self.home}],
            },
        )

    def new_id(self) -> str:
        self._next += 1
        return str(self._next)

    def put(
        self, entity: str, doc: dict[str, Any], at: datetime | None = None, op: str = "upsert"
    ) -> dict[str, Any]:
        doc = dict(doc)
        doc.setdefault("Id", self.new_id())
        key = (entity, str(doc["Id"]))
        token = self._tokens.get(key, -1) + 1
        self._tokens[key] = token
        when = at or self.stamp
        doc["SyncToken"] = str(token)
        doc["MetaData"] = {"CreateTime": when.isoformat(), "LastUpdatedTime": when.isoformat()}
        self.versions.append({"entity": entity, "doc": doc, "op": op, "at": when})
        return doc

    def latest(self, entity: str, doc_id: str) -> dict[str, Any]:
        for version in reversed(self.versions):
            if version["entity"] == entity and version["doc"]["Id"] == doc_id:
                return version["doc"]
        raise KeyError(doc_id)

    def edit(self, entity: str, doc_id: str, at: datetime, **changes: Any) -> dict[str, Any]:
        doc = {
            k: v
            for k, v in self.latest(entity, doc_id).items()
            if k not in ("SyncToken", "MetaData")
        }
        doc.update(changes)
        return self.put(entity, doc, at=at)

    def delete(self, entity: str, doc_id: str, at: datetime) -> None:
        doc = {
            k: v
            for k, v in self.latest(entity, doc_id).items()
            if k not in ("SyncToken", "MetaData")
        }
        self.put(entity, doc, at=at, op="delete")

    # ---- named document makers ----------------------------------------------------------
    def bank(
        self, balance: str | int, name: str = "Checking", currency: str | None = None, **kw: Any
    ) -> str:
        doc = {"Name": name, "AccountType": "Bank", "CurrentBalance": str(balance), "Active": True}
        if currency:
            doc["CurrencyRef"] = {"value": currency}
        return self.put("Account", {**doc, **kw})["Id"]

    def account(self, name: str, account_type: str = "Expense") -> str:
        return self.put("Account", {"Name": name, "AccountType": account_type, "Active": True})[
            "Id"
        ]

    def customer(self, name: str, email: str | None = "ap@client.test", active: bool = True) -> str:
        doc: dict[str, Any] = {"DisplayName": name, "Active": active}
        if email:
            doc["PrimaryEmailAddr"] = {"Address": email}
        return self.put("Customer", doc)["Id"]

    def vendor(self, name: str) -> str:
        return self.put("Vendor", {"DisplayName": name, "Active": True})["Id"]

    def invoice(
        self,
        customer: str,
        txn: date,
        due: date | None,
        total: str | int,
        balance: str | int | None = None,
        currency: str | None = None,
        rate: str | None = None,
        **kw: Any,
    ) -> str:
        doc: dict[str, Any] = {
            "CustomerRef": {"value": customer},
            "TxnDate": txn.isoformat(),
            "TotalAmt": str(total),
            "Balance": str(total if balance is None else balance),
        }
        if due:
            doc["DueDate"] = due.isoformat()
        if currency:
            doc["CurrencyRef"] = {"value": currency}
        if rate:
            doc["ExchangeRate"] = rate
        return self.put("Invoice", {**doc, **kw})["Id"]

    def payment(
        self,
        customer: str,
        day: date,
        applied: dict[str, str | int],
        unapplied: str | int = 0,
        **kw: Any,
    ) -> str:
        lines = [
            {"Amount": str(a), "LinkedTxn": [{"TxnId": inv, "TxnType": "Invoice"}]}
            for inv, a in applied.items()
        ]
        total = sum(Decimal(str(a)) for a in applied.values()) + Decimal(str(unapplied))
        doc = {
            "CustomerRef": {"value": customer},
            "TxnDate": day.isoformat(),
            "TotalAmt": str(total),
            "UnappliedAmt": str(unapplied),
            "Line": lines,
        }
        return self.put("Payment", {**doc, **kw})["Id"]

    def pay_invoice(self, invoice_id: str, day: date) -> str:
        """Pay an invoice in full on ``day`` (payment + the invoice's balance drops to 0)."""
        inv = self.latest("Invoice", invoice_id)
        pid = self.payment(inv["CustomerRef"]["value"], day, {invoice_id: inv["Balance"]})
        self.edit("Invoice", invoice_id, ts(day), Balance="0")
        return pid

    def bill(
        self,
        vendor: str,
        txn: date,
        due: date | None,
        total: str | int,
        balance: str | int | None = None,
        account: str | None = None,
        **kw: Any,
    ) -> str:
        doc: dict[str, Any] = {
            "VendorRef": {"value": vendor},
            "TxnDate": txn.isoformat(),
            "TotalAmt": str(total),
            "Balance": str(total if balance is None else balance),
        }
        if due:
            doc["DueDate"] = due.isoformat()
        if account:
            doc["Line"] = [
                {
                    "Amount": str(total),
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}},
                }
            ]
        return self.put("Bill", {**doc, **kw})["Id"]

    def purchase(
        self, vendor: str | None, name: str, day: date, total: str | int, account: str | None = None
    ) -> str:
        doc: dict[str, Any] = {
            "PaymentType": "Check",
            "TxnDate": day.isoformat(),
            "TotalAmt": str(total),
            "EntityRef": {"value": vendor, "name": name, "type": "Vendor"},
        }
        if account:
            doc["Line"] = [
                {
                    "Amount": str(total),
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}},
                }
            ]
        return self.put("Purchase", doc)["Id"]

    def payroll_runs(
        self, dates: list[date], amount: str | int, provider: str = "Gusto Payroll"
    ) -> None:
        vendor = self.vendor(provider)
        for day in dates:
            self.purchase(vendor, provider, day, amount)

    # ---- outputs ----------------------------------------------------------------------------
    def ingest(self, con: duckdb.DuckDBPyConnection) -> None:
        """Append every version through the product's own path (``sync.ingest.ingest_into``, as a
        sync would): each stored ``ingest_lag`` after QBO wrote it; a delete as QBO's stub."""
        groups: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
        for version in self.versions:
            doc = version["doc"]
            if version["op"] == "delete":
                doc = {"Id": doc["Id"], "status": "Deleted", "MetaData": doc["MetaData"]}
            groups.setdefault((version["entity"], version["at"]), []).append(doc)
        for run_id, ((entity, at), docs) in enumerate(groups.items(), start=1):
            ingest_into(
                con,
                self.realm_id,
                entity,
                docs,
                run_id=run_id,
                ingested_at=at + INGEST_LAG,
                source="factory",
            )


INGEST_LAG = timedelta(minutes=5)  # a version reaches the store this long after QBO wrote it


def fill_store(
    con: duckdb.DuckDBPyConnection, companies: list[Company], sync_status: datetime | None
) -> None:
    """The store's schema and every company's history, written the way sync writes them."""
    create_schema(con)
    con.begin()
    fill_store_in_transaction(con, companies, sync_status)
    con.commit()


def snapshot(*companies: Company) -> Snapshot:
    """An in-memory current snapshot of the companies: their history ingested into an in-memory
    DuckDB by the product's writer functions and read back by the product's snapshot reader."""
    con = duckdb.connect()
    try:
        fill_store(con, list(companies), None)
        return read_snapshot(con)
    finally:
        con.close()


def write_warehouse(
    path: Path, companies: list[Company], sync_status: datetime | None = None
) -> Path:
    """A real warehouse file at ``path``, written through ``Warehouse.transact`` (the one write
    path) with the companies' history, and their last successful sync when given."""
    Warehouse(path).transact(lambda con: fill_store_in_transaction(con, companies, sync_status))
    return path


def fill_store_in_transaction(
    con: duckdb.DuckDBPyConnection, companies: list[Company], sync_status: datetime | None
) -> None:
    """``fill_store`` inside the writer's transaction (the writer has begun and will commit)."""
    for company in companies:
        company.ingest(con)
        if sync_status is not None:
            mark_success(con, company.realm_id, [], at=sync_status, run_id=0, kind="full")


assert set(BY_TABLE) == set(TABLES)
