"""What the coalescing writer needs of a warehouse: its own module so ``sync.writer`` does not
import ``sync.store`` (which hands its writes to the writer) — no import cycle between them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import duckdb


class WriteTarget(Protocol):
    """A file the writer commits to: ``sync.store.Warehouse`` is the one implementation."""

    @property
    def path(self) -> Path: ...

    def write(
        self, timeout: float | None = None
    ) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-write connection under the file's exclusive lock (one write slice)."""
        ...

    def others_waiting(self) -> bool:
        """Someone (a reader or another writer, in any process) waits for the lock."""
        ...
