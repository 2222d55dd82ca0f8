"""The typed shape of every QBO entity we keep: the contract between sync (which writes it) and
runway (which reads it).

For each entity the store has
  * ``log_<name>``: the append-only change log, one row per version, with COMMON_COLUMNS + the
    entity's typed columns + ``raw`` (the document's JSON);
  * ``cur_<name>``: a view of the latest version of each document, deleted ones left out.

Money is DECIMAL(18,2) (Polars ``Decimal(18, 2)``); dates are DATE; timestamps TIMESTAMPTZ in UTC.
Extraction is a pure function of the JSON document so that ``raw`` can always be re-typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

Doc = dict[str, Any]

MONEY = "DECIMAL(18,2)"
RATE = "DECIMAL(18,6)"
LINKS = "STRUCT(txn_id VARCHAR, txn_type VARCHAR, amount DECIMAL(18,2))[]"
JE_LINES = (
    "STRUCT(posting_type VARCHAR, account_id VARCHAR, amount DECIMAL(18,2), entity_type VARCHAR, "
    "entity_id VARCHAR, description VARCHAR)[]"
)
EXPENSE_LINES = "STRUCT(account_id VARCHAR, amount DECIMAL(18,2), description VARCHAR)[]"

# Columns every change-log row carries, in this order, before the entity's own columns.
COMMON_COLUMNS: list[tuple[str, str]] = [
    ("realm_id", "VARCHAR"),
    ("id", "VARCHAR"),
    ("sync_token", "BIGINT"),  # tombstones carry the last known token + 1
    ("op", "VARCHAR"),  # 'upsert' | 'delete'
    ("source_created_at", "TIMESTAMPTZ"),
    ("source_updated_at", "TIMESTAMPTZ"),  # QBO's MetaData.LastUpdatedTime: "what QBO said at T"
    ("ingested_at", "TIMESTAMPTZ"),  # our clock when the row was stored: "what we knew at T"
    ("sync_run_id", "BIGINT"),
]


# ---- small extractors ---------------------------------------------------------------------
def path(*keys: str) -> Callable[[Doc], Any]:
    def get(doc: Doc) -> Any:
        node: Any = doc
        for key in keys:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return None if node == "" else node

    return get


def ref(key: str) -> Callable[[Doc], str | None]:
    return path(key, "value")


def money(*keys: str) -> Callable[[Doc], Decimal | None]:
    get = path(*keys)

    def conv(doc: Doc) -> Decimal | None:
        value = get(doc)
        return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))

    return conv


def as_date(*keys: str) -> Callable[[Doc], date | None]:
    get = path(*keys)

    def conv(doc: Doc) -> date | None:
        value = get(doc)
        return None if not value else date.fromisoformat(str(value)[:10])

    return conv


def parse_ts(value: str | None) -> datetime | None:
    """QBO timestamps carry the company offset; we store UTC."""
    if not value:
        return None
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def as_ts(*keys: str) -> Callable[[Doc], datetime | None]:
    get = path(*keys)
    return lambda doc: parse_ts(get(doc))


def as_bool(*keys: str, default: bool | None = None) -> Callable[[Doc], bool | None]:
    get = path(*keys)

    def conv(doc: Doc) -> bool | None:
        value = get(doc)
        if value is None:
            return default
        return value if isinstance(value, bool) else str(value).lower() == "true"

    return conv


def currency(doc: Doc) -> str | None:
    value: str | None = path("CurrencyRef", "value")(doc)
    return value


def is_voided(doc: Doc) -> bool:
    """QBO voids keep the document with zero amounts and a note starting with 'Voided'."""
    note = str(doc.get("PrivateNote") or "")
    return note.lower().startswith("voided") and Decimal(str(doc.get("TotalAmt", 0) or 0)) == 0


def linked(doc: Doc) -> list[dict[str, Any]]:
    """Payment / BillPayment applications: one entry per LinkedTxn of each line."""
    out: list[dict[str, Any]] = []
    for line in doc.get("Line") or []:
        amount = Decimal(str(line.get("Amount", 0) or 0)).quantize(Decimal("0.01"))
        for link in line.get("LinkedTxn") or []:
            out.append(
                {
                    "txn_id": str(link.get("TxnId")),
                    "txn_type": link.get("TxnType"),
                    "amount": amount,
                }
            )
    return out


def je_lines(doc: Doc) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in doc.get("Line") or []:
        detail = line.get("JournalEntryLineDetail") or {}
        entity = detail.get("Entity") or {}
        out.append(
            {
                "posting_type": detail.get("PostingType"),
                "account_id": (detail.get("AccountRef") or {}).get("value"),
                "amount": Decimal(str(line.get("Amount", 0) or 0)).quantize(Decimal("0.01")),
                "entity_type": entity.get("Type"),
                "entity_id": (entity.get("EntityRef") or {}).get("value"),
                "description": line.get("Description"),
            }
        )
    return out


def expense_lines(doc: Doc) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for line in doc.get("Line") or []:
        detail = line.get("AccountBasedExpenseLineDetail") or {}
        out.append(
            {
                "account_id": (detail.get("AccountRef") or {}).get("value"),
                "amount": Decimal(str(line.get("Amount", 0) or 0)).quantize(Decimal("0.01")),
                "description": line.get("Description"),
            }
        )
    return out


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    extract: Callable[[Doc], Any]


@dataclass(frozen=True)
class EntitySpec:
    qbo_name: str  # as QBO spells it: "BillPayment"
    table: str  # our snake-case name: "bill_payment" -> log_bill_payment / cur_bill_payment
    columns: tuple[Column, ...]
    is_list: bool = (
        False  # list entities are made inactive, never deleted: query with Active IN (true,false)
    )
    # one document per company (CompanyInfo, Preferences): pulled whole, never Id-reconciled
    singleton: bool = False
    # QBO's CDC does not carry it (CompanyInfo, ExchangeRate): refreshed by a windowed query
    in_cdc: bool = True
    # documents without an ``Id`` (ExchangeRate): the store key derived from the document
    natural_key: Callable[[Doc], str] | None = None

    @property
    def log_table(self) -> str:
        return f"log_{self.table}"

    @property
    def current_view(self) -> str:
        return f"cur_{self.table}"

    def keyed(self, doc: Doc) -> Doc:
        """The document with an ``Id`` the store can key on (only ExchangeRate lacks one)."""
        if self.natural_key is None or doc.get("Id") not in (None, ""):
            return doc
        return {**doc, "Id": self.natural_key(doc)}

    def row(self, doc: Doc) -> dict[str, Any]:
        """The typed columns of one document (not the common ones)."""
        return {column.name: column.extract(doc) for column in self.columns}


def col(name: str, sql_type: str, extract: Callable[[Doc], Any]) -> Column:
    return Column(name, sql_type, extract)


ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "CompanyInfo",
        "company_info",
        (
            col("company_name", "VARCHAR", path("CompanyName")),
            col("legal_name", "VARCHAR", path("LegalName")),
            col("country", "VARCHAR", path("Country")),
            col("email", "VARCHAR", path("Email", "Address")),
            col("fiscal_year_start_month", "VARCHAR", path("FiscalYearStartMonth")),
            col("home_currency", "VARCHAR", lambda d: _name_value(d, "HomeCurrency") or "USD"),
            col("time_zone", "VARCHAR", lambda d: _name_value(d, "TimeZone")),
        ),
        singleton=True,
        in_cdc=False,
    ),
    EntitySpec(
        "Preferences",
        "preferences",
        (
            col("home_currency", "VARCHAR", path("CurrencyPrefs", "HomeCurrency", "value")),
            col(
                "multicurrency_enabled",
                "BOOLEAN",
                as_bool("CurrencyPrefs", "MultiCurrencyEnabled", default=False),
            ),
        ),
        singleton=True,
    ),
    EntitySpec(
        "ExchangeRate",
        "exchange_rate",
        (
            col("source_currency", "VARCHAR", path("SourceCurrencyCode")),
            col("target_currency", "VARCHAR", path("TargetCurrencyCode")),
            col("as_of_date", "DATE", as_date("AsOfDate")),
            col("rate", RATE, path("Rate")),
        ),
        in_cdc=False,
        natural_key=lambda d: "{}-{}-{}".format(
            d.get("SourceCurrencyCode"), d.get("TargetCurrencyCode"), str(d.get("AsOfDate"))[:10]
        ),
    ),
    EntitySpec(
        "Account",
        "account",
        (
            col("name", "VARCHAR", path("Name")),
            col("fully_qualified_name", "VARCHAR", path("FullyQualifiedName")),
            col("account_type", "VARCHAR", path("AccountType")),
            col("account_sub_type", "VARCHAR", path("AccountSubType")),
            col("classification", "VARCHAR", path("Classification")),
            col("current_balance", MONEY, money("CurrentBalance")),
            col("currency", "VARCHAR", currency),
            col("description", "VARCHAR", path("Description")),
            col("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Term",
        "term",
        (
            col("name", "VARCHAR", path("Name")),
            col("type", "VARCHAR", path("Type")),
            col("due_days", "INTEGER", path("DueDays")),
            col("day_of_month_due", "INTEGER", path("DayOfMonthDue")),
            col("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Customer",
        "customer",
        (
            col("display_name", "VARCHAR", path("DisplayName")),
            col("company_name", "VARCHAR", path("CompanyName")),
            col("email", "VARCHAR", path("PrimaryEmailAddr", "Address")),
            col("balance", MONEY, money("Balance")),
            col("term_id", "VARCHAR", ref("SalesTermRef")),
            col("currency", "VARCHAR", currency),
            col("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Vendor",
        "vendor",
        (
            col("display_name", "VARCHAR", path("DisplayName")),
            col("company_name", "VARCHAR", path("CompanyName")),
            col("email", "VARCHAR", path("PrimaryEmailAddr", "Address")),
            col("balance", MONEY, money("Balance")),
            col("term_id", "VARCHAR", ref("TermRef")),
            col("currency", "VARCHAR", currency),
            col("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Invoice",
        "invoice",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("customer_id", "VARCHAR", ref("CustomerRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("due_date", "DATE", as_date("DueDate")),
            col("term_id", "VARCHAR", ref("SalesTermRef")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("balance", MONEY, money("Balance")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("home_total_amt", MONEY, money("HomeTotalAmt")),
            col("home_balance", MONEY, money("HomeBalance")),
            col("bill_email", "VARCHAR", path("BillEmail", "Address")),
            col("email_status", "VARCHAR", path("EmailStatus")),
            col("delivered_at", "TIMESTAMPTZ", as_ts("DeliveryInfo", "DeliveryTime")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "Payment",
        "payment",
        (
            col("customer_id", "VARCHAR", ref("CustomerRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("unapplied_amt", MONEY, money("UnappliedAmt")),
            col("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("voided", "BOOLEAN", is_voided),
            col("links", LINKS, linked),
        ),
    ),
    EntitySpec(
        "Bill",
        "bill",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("vendor_id", "VARCHAR", ref("VendorRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("due_date", "DATE", as_date("DueDate")),
            col("term_id", "VARCHAR", ref("SalesTermRef")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("balance", MONEY, money("Balance")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("home_total_amt", MONEY, money("HomeTotalAmt")),
            col("home_balance", MONEY, money("HomeBalance")),
            col("ap_account_id", "VARCHAR", ref("APAccountRef")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("lines", EXPENSE_LINES, expense_lines),
        ),
    ),
    EntitySpec(
        "BillPayment",
        "bill_payment",
        (
            col("vendor_id", "VARCHAR", ref("VendorRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("pay_type", "VARCHAR", path("PayType")),
            col("bank_account_id", "VARCHAR", path("CheckPayment", "BankAccountRef", "value")),
            col("cc_account_id", "VARCHAR", path("CreditCardPayment", "CCAccountRef", "value")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("voided", "BOOLEAN", is_voided),
            col("links", LINKS, linked),
        ),
    ),
    EntitySpec(
        "Purchase",
        "purchase",
        (
            col("payment_type", "VARCHAR", path("PaymentType")),
            col("account_id", "VARCHAR", ref("AccountRef")),
            col("entity_type", "VARCHAR", path("EntityRef", "type")),
            col("entity_id", "VARCHAR", ref("EntityRef")),
            col("entity_name", "VARCHAR", path("EntityRef", "name")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("currency", "VARCHAR", currency),
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("lines", EXPENSE_LINES, expense_lines),
        ),
    ),
    EntitySpec(
        "Deposit",
        "deposit",
        (
            col("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col(
                "links", LINKS, linked
            ),  # the Payments / SalesReceipts moved out of Undeposited Funds
        ),
    ),
    EntitySpec(
        "JournalEntry",
        "journal_entry",
        (
            col("txn_date", "DATE", as_date("TxnDate")),
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("currency", "VARCHAR", currency),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("lines", JE_LINES, je_lines),
        ),
    ),
    EntitySpec(
        "CreditMemo",
        "credit_memo",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("customer_id", "VARCHAR", ref("CustomerRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("balance", MONEY, money("Balance")),  # the credit not yet applied
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("home_total_amt", MONEY, money("HomeTotalAmt")),
            col("home_balance", MONEY, money("HomeBalance")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "VendorCredit",
        "vendor_credit",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("vendor_id", "VARCHAR", ref("VendorRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("balance", MONEY, money("Balance")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("home_balance", MONEY, money("HomeBalance")),
            col("private_note", "VARCHAR", path("PrivateNote")),
        ),
    ),
    EntitySpec(
        "SalesReceipt",
        "sales_receipt",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("customer_id", "VARCHAR", ref("CustomerRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "RefundReceipt",
        "refund_receipt",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("customer_id", "VARCHAR", ref("CustomerRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),  # paid from
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("private_note", "VARCHAR", path("PrivateNote")),
            col("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "Transfer",
        "transfer",
        (
            col("from_account_id", "VARCHAR", ref("FromAccountRef")),
            col("to_account_id", "VARCHAR", ref("ToAccountRef")),
            col("amount", MONEY, money("Amount")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("currency", "VARCHAR", currency),
            col("private_note", "VARCHAR", path("PrivateNote")),
        ),
    ),
    EntitySpec(
        "Estimate",
        "estimate",
        (
            col("doc_number", "VARCHAR", path("DocNumber")),
            col("customer_id", "VARCHAR", ref("CustomerRef")),
            col("txn_date", "DATE", as_date("TxnDate")),
            col("expiration_date", "DATE", as_date("ExpirationDate")),
            col("total_amt", MONEY, money("TotalAmt")),
            col("txn_status", "VARCHAR", path("TxnStatus")),
            col("linked_invoice_id", "VARCHAR", lambda d: _linked_id(d, "Invoice")),
            col("currency", "VARCHAR", currency),
            col("exchange_rate", RATE, path("ExchangeRate")),
            col("private_note", "VARCHAR", path("PrivateNote")),
        ),
    ),
)


def _linked_id(doc: Doc, txn_type: str) -> str | None:
    """The document-level LinkedTxn of one type (an Estimate's Invoice)."""
    for link in doc.get("LinkedTxn") or []:
        if link.get("TxnType") == txn_type and link.get("TxnId") not in (None, ""):
            return str(link["TxnId"])
    return None


def _name_value(doc: Doc, name: str) -> str | None:
    for item in doc.get("NameValue") or []:
        if item.get("Name") == name:
            value: str | None = item.get("Value")
            return value
    return None


BY_QBO_NAME: dict[str, EntitySpec] = {spec.qbo_name: spec for spec in ENTITIES}
BY_TABLE: dict[str, EntitySpec] = {spec.table: spec for spec in ENTITIES}
