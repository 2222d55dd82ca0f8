"""QBO ↔ DuckDB: the QBO client (OAuth, rate limits, retries), bulk sync with change tracking,
freshness-aware reads and the scheduler. Knows QBO and DuckDB; knows nothing about cash.

The public API is ``__all__`` below (imported on first use); every other module of the package
is internal to it. ``sync.store`` and ``sync.schema`` are the store contract runway reads."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from oodaloo.faces import export

if "httpx" not in sys.modules:
    # httpx imports its command-line client (click + pygments: ~35 ms of CPU, a tenth of a
    # no-change ``oodaloo sync``) on every import, inside a try that expects it may be missing;
    # nothing of ours uses it. A None entry is Python's "not importable" mark.
    sys.modules["httpx._main"] = None  # type: ignore[assignment]  # None: refuse the import

if TYPE_CHECKING:  # for type checkers; at run time each name is imported on first use
    from sync.client import QBOClient
    from sync.connections import Company, list_companies
    from sync.engine import SyncResult, sync_all, sync_company
    from sync.errors import (
        PermanentError,
        QBOError,
        QuotaExceeded,
        ReauthRequired,
        ThrottledError,
        TransientError,
    )
    from sync.freshness import Freshness, company_freshness, ensure_fresh
    from sync.ingest import ingest_documents
    from sync.oauth import authorize_url, complete_connect, connect_sandbox_companies
    from sync.queue import request_sync
    from sync.scheduler import build_scheduler
    from sync.store import Warehouse, warehouse_for

__all__ = [
    "QBOClient",
    "Warehouse",
    "ingest_documents",
    "warehouse_for",
    "Freshness",
    "company_freshness",
    "ensure_fresh",
    "sync_company",
    "sync_all",
    "SyncResult",
    "request_sync",
    "Company",
    "list_companies",
    "authorize_url",
    "complete_connect",
    "connect_sandbox_companies",
    "build_scheduler",
    "QBOError",
    "TransientError",
    "ThrottledError",
    "ReauthRequired",
    "PermanentError",
    "QuotaExceeded",
]
_EXPORTS = {
    "QBOClient": "sync.client",
    "Warehouse": "sync.store",
    "ingest_documents": "sync.ingest",
    "warehouse_for": "sync.store",
    "Freshness": "sync.freshness",
    "company_freshness": "sync.freshness",
    "ensure_fresh": "sync.freshness",
    "sync_company": "sync.engine",
    "sync_all": "sync.engine",
    "SyncResult": "sync.engine",
    "request_sync": "sync.queue",
    "Company": "sync.connections",
    "list_companies": "sync.connections",
    "authorize_url": "sync.oauth",
    "complete_connect": "sync.oauth",
    "connect_sandbox_companies": "sync.oauth",
    "build_scheduler": "sync.scheduler",
    "QBOError": "sync.errors",
    "TransientError": "sync.errors",
    "ThrottledError": "sync.errors",
    "ReauthRequired": "sync.errors",
    "PermanentError": "sync.errors",
    "QuotaExceeded": "sync.errors",
}


def __getattr__(name: str) -> object:
    return export(__name__, _EXPORTS, name)
