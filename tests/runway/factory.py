"""Fixture factory: QBO-like documents -> change-log rows through ``EntitySpec.row`` (the store
contract), as in-memory snapshots or real DuckDB warehouse files with log_* tables and cur_* views."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from runway.snapshot import Snapshot, snapshot_from_frames
from runway.tables import TABLES, table_schema
from sync.schema import BY_QBO_NAME, BY_TABLE, COMMON_COLUMNS, ENTITIES

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
    def log_rows(self) -> dict[str, list[dict[str, Any]]]:
        rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
        for i, version in enumerate(self.versions):
            spec = BY_QBO_NAME[version["entity"]]
            doc = version["doc"]
            rows[spec.table].append(
                {
                    "realm_id": self.realm_id,
                    "id": str(doc["Id"]),
                    "sync_token": int(doc["SyncToken"]),
                    "op": version["op"],
                    "source_created_at": version["at"],
                    "source_updated_at": version["at"],
                    "ingested_at": version["at"] + timedelta(minutes=5),
                    "sync_run_id": i,
                    **_typed(spec.table, spec.row(doc)),
                    "raw": json.dumps(doc),
                }
            )
        return rows


def _typed(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """What DuckDB does on insert: numeric strings in DECIMAL columns become numbers."""
    schema = table_schema(table)
    return {
        k: Decimal(str(v)) if v is not None and isinstance(schema[k], pl.Decimal) else v
        for k, v in row.items()
    }


def log_frames(companies: list[Company]) -> dict[str, pl.DataFrame]:
    merged: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for company in companies:
        for table, rows in company.log_rows().items():
            merged[table] += rows
    schema = lambda t: pl.Schema({**table_schema(t), "raw": pl.String})
    return {t: pl.DataFrame(rows, schema=schema(t)) for t, rows in merged.items()}


def current(frame: pl.DataFrame) -> pl.DataFrame:
    latest = (
        frame.sort("realm_id", "id", "source_updated_at", "sync_token")
        .group_by("realm_id", "id")
        .last()
    )
    return latest.filter(pl.col("op") != "delete")


def snapshot(*companies: Company) -> Snapshot:
    """An in-memory current snapshot of the companies (what cur_* views would show)."""
    frames = log_frames(list(companies))
    return snapshot_from_frames({t: current(f) for t, f in frames.items()})


def write_warehouse(
    path: Path, companies: list[Company], sync_status: datetime | None = None
) -> Path:
    """A real DuckDB file shaped like the store: log_<table> + cur_<table> views (+ sync_status)."""
    frames = log_frames(companies)
    con = duckdb.connect(str(path))
    try:
        for spec in ENTITIES:
            cols = ", ".join(
                f'"{n}" {t}'
                for n, t in [
                    *COMMON_COLUMNS,
                    *[(c.name, c.sql_type) for c in spec.columns],
                    ("raw", "JSON"),
                ]
            )
            con.execute(f"CREATE TABLE {spec.log_table} ({cols})")
            con.register("batch", frames[spec.table].to_arrow())
            con.execute(f"INSERT INTO {spec.log_table} BY NAME SELECT * FROM batch")
            con.unregister("batch")
            con.execute(
                f"CREATE VIEW {spec.current_view} AS SELECT * EXCLUDE (rn) FROM (SELECT *, row_number() OVER "
                f"(PARTITION BY realm_id, id ORDER BY source_updated_at DESC, sync_token DESC) AS rn FROM {spec.log_table}) "
                "WHERE rn = 1 AND op <> 'delete'"
            )
        if sync_status is not None:
            con.execute(
                "CREATE TABLE sync_status (realm_id VARCHAR, entity VARCHAR, last_success_at TIMESTAMPTZ)"
            )
            for company in companies:
                con.execute(
                    "INSERT INTO sync_status VALUES (?, 'Invoice', ?)",
                    [company.realm_id, sync_status],
                )
    finally:
        con.close()
    return path


assert set(BY_TABLE) == set(TABLES)
