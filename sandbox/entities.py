"""Which QBO entities the sandbox serves, and what kind each one is."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EntityKind:
    name: str  # canonical QBO name, e.g. "BillPayment"
    is_list: bool = False  # list entities are made inactive, never deleted
    required: tuple[str, ...] = ()  # dotted paths that must be present on create/full update
    read_only: tuple[str, ...] = field(default=("MetaData", "domain"))

    @property
    def url_name(self) -> str:
        return self.name.lower()


_COMMON_RO = ("MetaData", "domain")
ENTITIES: dict[str, EntityKind] = {
    kind.name: kind
    for kind in (
        EntityKind("CompanyInfo", read_only=_COMMON_RO),
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
                "HomeBalance",
            ),
        ),
        EntityKind(
            "Payment", required=("CustomerRef", "TotalAmt"), read_only=(*_COMMON_RO, "UnappliedAmt")
        ),
        EntityKind(
            "Bill",
            required=("VendorRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", "Balance", "HomeBalance"),
        ),
        EntityKind("BillPayment", required=("VendorRef", "PayType", "TotalAmt", "Line")),
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
            read_only=(*_COMMON_RO, "TotalAmt", "Balance"),
        ),
        EntityKind(
            "VendorCredit",
            required=("VendorRef", "Line"),
            read_only=(*_COMMON_RO, "TotalAmt", "Balance"),
        ),
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
