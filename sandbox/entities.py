"""Which QBO entities the sandbox serves, and what kind each one is."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EntityKind:
    name: str  # canonical QBO name, e.g. "BillPayment"
    is_list: bool = False  # list entities are made inactive, never deleted
    required: tuple[str, ...] = ()  # dotted paths that must be present on create/full update
    read_only: tuple[str, ...] = field(default=("MetaData", "domain"))
    singleton: bool = False  # one per company (Preferences): read and updated, never created
    cdc: bool = True  # QBO's CDC lists it (ExchangeRate is not: asking for it is an error)

    @property
    def url_name(self) -> str:
        return self.name.lower()


_COMMON_RO = ("MetaData", "domain")
_HOME = ("HomeTotalAmt", "HomeBalance")  # a foreign document's amounts in the home currency
ENTITIES: dict[str, EntityKind] = {
    kind.name: kind
    for kind in (
        EntityKind("CompanyInfo", read_only=_COMMON_RO, singleton=True, cdc=False),
        EntityKind(
            "Account",
            is_list=True,
            required=("Name",),
            read_only=(*_COMMON_RO, "CurrentBalance", "CurrentBalanceWithSubAccounts"),
        ),
        EntityKind("Term", is_list=True, required=("Name",)),
        EntityKind("Item", is_list=True, required=("Name",)),
        EntityKind(
            "Customer",
            is_list=True,
            required=("DisplayName",),
            read_only=(*_COMMON_RO, "Balance", "BalanceWithJobs"),
        ),
        EntityKind(
            "Vendor", is_list=True, required=("DisplayName",), read_only=(*_COMMON_RO, "Balance")
        ),
        EntityKind("Employee", is_list=True, required=("DisplayName",)),
        EntityKind(
            "Invoice",
            required=("CustomerRef", "Line"),
            read_only=(
                *_COMMON_RO,
                "TotalAmt",
                "Balance",
                "EmailStatus",
                "DeliveryInfo",
                *_HOME,
            ),
        ),
        EntityKind(
            "Payment",
            required=("CustomerRef", "TotalAmt"),
            read_only=(*_COMMON_RO, "UnappliedAmt", *_HOME),
        ),
        EntityKind(
            "Bill",
            required=("VendorRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", "Balance", *_HOME),
        ),
        EntityKind(
            "BillPayment",
            required=("VendorRef", "PayType", "TotalAmt", "Line"),
            read_only=(*_COMMON_RO, *_HOME),
        ),
        EntityKind(
            "Purchase",
            required=("AccountRef", "PaymentType", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt"),
        ),
        EntityKind(
            "Deposit", required=("DepositToAccountRef", "Line"), read_only=(*_COMMON_RO, "TotalAmt")
        ),
        EntityKind("JournalEntry", required=("Line",), read_only=(*_COMMON_RO, "TotalAmt")),
        EntityKind(
            "CreditMemo",
            required=("CustomerRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", "Balance", "RemainingCredit", *_HOME),
        ),
        EntityKind(
            "VendorCredit",
            required=("VendorRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", "Balance", *_HOME),
        ),
        EntityKind(
            "SalesReceipt",
            required=("CustomerRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", *_HOME),
        ),
        EntityKind(
            "RefundReceipt",
            required=("CustomerRef", "Line", "DepositToAccountRef"),
            read_only=(*_COMMON_RO, "TotalAmt", *_HOME),
        ),
        EntityKind("Transfer", required=("FromAccountRef", "ToAccountRef", "Amount")),
        EntityKind(
            "Estimate",
            required=("CustomerRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", *_HOME),
        ),
        EntityKind("Preferences", singleton=True),
        EntityKind(
            "ExchangeRate",
            required=("SourceCurrencyCode", "Rate", "AsOfDate"),
            cdc=False,
        ),
        # Entities QBO lists for CDC that the product does not use: queryable, usually empty.
        *(
            EntityKind(name, is_list=True, required=("Name",))
            for name in ("Budget", "Class", "Department", "PaymentMethod", "TaxAgency")
        ),
        *(EntityKind(name) for name in ("JournalCode", "PurchaseOrder", "TimeActivity")),
    )
}
_BY_LOWER = {name.lower(): name for name in ENTITIES}
LIST_ENTITIES = frozenset(name for name, kind in ENTITIES.items() if kind.is_list)
NAMED_ENTITIES = ("Customer", "Vendor", "Employee")  # DisplayName unique across these (6240)


def canonical(name: str) -> str | None:
    """Case-insensitive entity name -> canonical name (``billpayment`` -> ``BillPayment``)."""
    return _BY_LOWER.get(name.strip().lower())


def require(name: str) -> str:
    found = canonical(name)
    if found is None:
        raise ValueError(f"unknown QBO entity {name!r}; known: {', '.join(sorted(ENTITIES))}")
    return found


CDC_ENTITIES = frozenset(name for name, kind in ENTITIES.items() if kind.cdc)
