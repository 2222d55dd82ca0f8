"""How every SQLite store of the product opens: the state store, the action ledger and the
digest ledger hold what cannot be rebuilt from QBO, so they use the most crash-tested embedded
setup (WAL, ``synchronous=FULL``), wait for each other instead of failing (busy timeout), and
take write locks up front (``BEGIN IMMEDIATE``) so a transaction is also a cross-process lock."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

BUSY_TIMEOUT_S = 30.0


def open_store(
    path: Path,
    *,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    isolation_level: Literal["", "DEFERRED", "EXCLUSIVE", "IMMEDIATE"] | None = None,
) -> sqlite3.Connection:
    """A connection usable from any thread (callers keep one per thread or close it after use)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(
        path,
        timeout=busy_timeout_s,
        isolation_level=isolation_level,  # type: ignore[arg-type]  # "" (implicit transactions) is valid at run time; typeshed omits it
        check_same_thread=False,
    )
    con.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    private_files(path)
    return con


def private_files(path: Path) -> None:
    """Stores (and their -wal/-shm companions) are readable by their owner only (0600)."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if candidate.stat().st_mode & 0o077:
                os.chmod(candidate, 0o600)
        except FileNotFoundError:
            pass


@contextmanager
def immediate(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction taken up front; commits on success, rolls back on any exception."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
