"""A fast path against double clicks across Streamlit reruns, tabs and processes: an atomic
``Cache.add`` with an expiry in diskcache (plain ``Cache``, ``JSONDisk``, the 0700 cache dir).

It only spares a duplicate the network work of a submission; the ledger's UNIQUE dedupe key stays
the source of truth (a busy or lost cache can never cause a second effect). Values hold no
secrets: the dedupe key (a hash) and a timestamp."""

from __future__ import annotations

import time
from pathlib import Path

import diskcache


class ClickGuard:
    def __init__(self, cache_dir: Path, ttl_seconds: float = 10.0) -> None:
        self.ttl = ttl_seconds
        self.cache = diskcache.Cache(
            str(cache_dir / "actions-clicks"),
            disk=diskcache.JSONDisk,
            eviction_policy="none",
            timeout=5.0,
        )

    def first(self, dedupe_key: str) -> bool:
        """True for the first click on this key within the ttl; False for a repeat."""
        try:
            return bool(
                self.cache.add(
                    f"click:{dedupe_key}", {"at": time.time()}, expire=self.ttl, retry=True
                )
            )
        except diskcache.Timeout:
            return True  # cannot tell: fall through to the ledger, which decides

    def close(self) -> None:
        self.cache.close()
