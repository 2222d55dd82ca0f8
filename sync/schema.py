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
        return {col.name: col.extract(doc) for col in self.columns}


def C(name: str, sql_type: str, extract: Callable[[Doc], Any]) -> Column:
    return Column(name, sql_type, extract)


ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec(
        "CompanyInfo",
        "company_info",
        (
            C("company_name", "VARCHAR", path("CompanyName")),
            C("legal_name", "VARCHAR", path("LegalName")),
            C("country", "VARCHAR", path("Country")),
            C("email", "VARCHAR", path("Email", "Address")),
            C("fiscal_year_start_month", "VARCHAR", path("FiscalYearStartMonth")),
            C("home_currency", "VARCHAR", lambda d: _name_value(d, "HomeCurrency") or "USD"),
            C("time_zone", "VARCHAR", lambda d: _name_value(d, "TimeZone")),
        ),
        singleton=True,
        in_cdc=False,
    ),
    EntitySpec(
        "Preferences",
        "preferences",
        (
            C("home_currency", "VARCHAR", path("CurrencyPrefs", "HomeCurrency", "value")),
            C(
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
            C("source_currency", "VARCHAR", path("SourceCurrencyCode")),
            C("target_currency", "VARCHAR", path("TargetCurrencyCode")),
            C("as_of_date", "DATE", as_date("AsOfDate")),
            C("rate", RATE, path("Rate")),
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
            C("name", "VARCHAR", path("Name")),
            C("fully_qualified_name", "VARCHAR", path("FullyQualifiedName")),
            C("account_type", "VARCHAR", path("AccountType")),
            C("account_sub_type", "VARCHAR", path("AccountSubType")),
            C("classification", "VARCHAR", path("Classification")),
            C("current_balance", MONEY, money("CurrentBalance")),
            C("currency", "VARCHAR", currency),
            C("description", "VARCHAR", path("Description")),
            C("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Term",
        "term",
        (
            C("name", "VARCHAR", path("Name")),
            C("type", "VARCHAR", path("Type")),
            C("due_days", "INTEGER", path("DueDays")),
            C("day_of_month_due", "INTEGER", path("DayOfMonthDue")),
            C("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Customer",
        "customer",
        (
            C("display_name", "VARCHAR", path("DisplayName")),
            C("company_name", "VARCHAR", path("CompanyName")),
            C("email", "VARCHAR", path("PrimaryEmailAddr", "Address")),
            C("balance", MONEY, money("Balance")),
            C("term_id", "VARCHAR", ref("SalesTermRef")),
            C("currency", "VARCHAR", currency),
            C("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Vendor",
        "vendor",
        (
            C("display_name", "VARCHAR", path("DisplayName")),
            C("company_name", "VARCHAR", path("CompanyName")),
            C("email", "VARCHAR", path("PrimaryEmailAddr", "Address")),
            C("balance", MONEY, money("Balance")),
            C("term_id", "VARCHAR", ref("TermRef")),
            C("currency", "VARCHAR", currency),
            C("active", "BOOLEAN", as_bool("Active", default=True)),
        ),
        is_list=True,
    ),
    EntitySpec(
        "Invoice",
        "invoice",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("customer_id", "VARCHAR", ref("CustomerRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("due_date", "DATE", as_date("DueDate")),
            C("term_id", "VARCHAR", ref("SalesTermRef")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("balance", MONEY, money("Balance")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("home_total_amt", MONEY, money("HomeTotalAmt")),
            C("home_balance", MONEY, money("HomeBalance")),
            C("bill_email", "VARCHAR", path("BillEmail", "Address")),
            C("email_status", "VARCHAR", path("EmailStatus")),
            C("delivered_at", "TIMESTAMPTZ", as_ts("DeliveryInfo", "DeliveryTime")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "Payment",
        "payment",
        (
            C("customer_id", "VARCHAR", ref("CustomerRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("unapplied_amt", MONEY, money("UnappliedAmt")),
            C("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("voided", "BOOLEAN", is_voided),
            C("links", LINKS, linked),
        ),
    ),
    EntitySpec(
        "Bill",
        "bill",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("vendor_id", "VARCHAR", ref("VendorRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("due_date", "DATE", as_date("DueDate")),
            C("term_id", "VARCHAR", ref("SalesTermRef")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("balance", MONEY, money("Balance")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("home_total_amt", MONEY, money("HomeTotalAmt")),
            C("home_balance", MONEY, money("HomeBalance")),
            C("ap_account_id", "VARCHAR", ref("APAccountRef")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("lines", EXPENSE_LINES, expense_lines),
        ),
    ),
    EntitySpec(
        "BillPayment",
        "bill_payment",
        (
            C("vendor_id", "VARCHAR", ref("VendorRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("pay_type", "VARCHAR", path("PayType")),
            C("bank_account_id", "VARCHAR", path("CheckPayment", "BankAccountRef", "value")),
            C("cc_account_id", "VARCHAR", path("CreditCardPayment", "CCAccountRef", "value")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("voided", "BOOLEAN", is_voided),
            C("links", LINKS, linked),
        ),
    ),
    EntitySpec(
        "Purchase",
        "purchase",
        (
            C("payment_type", "VARCHAR", path("PaymentType")),
            C("account_id", "VARCHAR", ref("AccountRef")),
            C("entity_type", "VARCHAR", path("EntityRef", "type")),
            C("entity_id", "VARCHAR", ref("EntityRef")),
            C("entity_name", "VARCHAR", path("EntityRef", "name")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("currency", "VARCHAR", currency),
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("lines", EXPENSE_LINES, expense_lines),
        ),
    ),
    EntitySpec(
        "Deposit",
        "deposit",
        (
            C("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C(
                "links", LINKS, linked
            ),  # the Payments / SalesReceipts moved out of Undeposited Funds
        ),
    ),
    EntitySpec(
        "JournalEntry",
        "journal_entry",
        (
            C("txn_date", "DATE", as_date("TxnDate")),
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("currency", "VARCHAR", currency),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("lines", JE_LINES, je_lines),
        ),
    ),
    EntitySpec(
        "CreditMemo",
        "credit_memo",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("customer_id", "VARCHAR", ref("CustomerRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("balance", MONEY, money("Balance")),  # the credit not yet applied
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("home_total_amt", MONEY, money("HomeTotalAmt")),
            C("home_balance", MONEY, money("HomeBalance")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "VendorCredit",
        "vendor_credit",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("vendor_id", "VARCHAR", ref("VendorRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("balance", MONEY, money("Balance")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("home_balance", MONEY, money("HomeBalance")),
            C("private_note", "VARCHAR", path("PrivateNote")),
        ),
    ),
    EntitySpec(
        "SalesReceipt",
        "sales_receipt",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("customer_id", "VARCHAR", ref("CustomerRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "RefundReceipt",
        "refund_receipt",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("customer_id", "VARCHAR", ref("CustomerRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("deposit_account_id", "VARCHAR", ref("DepositToAccountRef")),  # paid from
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("private_note", "VARCHAR", path("PrivateNote")),
            C("voided", "BOOLEAN", is_voided),
        ),
    ),
    EntitySpec(
        "Transfer",
        "transfer",
        (
            C("from_account_id", "VARCHAR", ref("FromAccountRef")),
            C("to_account_id", "VARCHAR", ref("ToAccountRef")),
            C("amount", MONEY, money("Amount")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("currency", "VARCHAR", currency),
            C("private_note", "VARCHAR", path("PrivateNote")),
        ),
    ),
    EntitySpec(
        "Estimate",
        "estimate",
        (
            C("doc_number", "VARCHAR", path("DocNumber")),
            C("customer_id", "VARCHAR", ref("CustomerRef")),
            C("txn_date", "DATE", as_date("TxnDate")),
            C("expiration_date", "DATE", as_date("ExpirationDate")),
            C("total_amt", MONEY, money("TotalAmt")),
            C("txn_status", "VARCHAR", path("TxnStatus")),
            C("linked_invoice_id", "VARCHAR", lambda d: _linked_id(d, "Invoice")),
            C("currency", "VARCHAR", currency),
            C("exchange_rate", RATE, path("ExchangeRate")),
            C("private_note", "VARCHAR", path("PrivateNote")),
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
