"""Small document factories for store tests (named variants, no server)."""

from __future__ import annotations

from typing import Any


def stamp(day: int, hour: int = 9) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00-08:00"


def invoice(
    id: str = "1",
    token: int = 0,
    *,
    day: int = 1,
    total: Any = 100,
    balance: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "Id": id,
        "SyncToken": str(token),
        "domain": "QBO",
        "MetaData": {"CreateTime": stamp(1), "LastUpdatedTime": stamp(day)},
        "CustomerRef": {"value": "20", "name": "O'Brien Design"},
        "TxnDate": "2026-11-01",
        "DueDate": "2026-12-01",
        "TotalAmt": total,
        "Balance": total if balance is None else balance,
        **extra,
    }


def customer(
    id: str = "20",
    token: int = 0,
    *,
    active: bool = True,
    name: str = "O'Brien Design",
    day: int = 1,
) -> dict[str, Any]:
    return {
        "Id": id,
        "SyncToken": str(token),
        "MetaData": {"CreateTime": stamp(1), "LastUpdatedTime": stamp(day)},
        "DisplayName": name,
        "Active": active,
    }


def deleted(id: str, day: int) -> dict[str, Any]:
    return {
        "domain": "QBO",
        "status": "Deleted",
        "Id": id,
        "MetaData": {"LastUpdatedTime": stamp(day)},
    }
