"""state.sqlite: the irreplaceable product state (tokens, connections, request counters, sync
requests, OAuth `state` values). SQLite in WAL mode with synchronous=FULL, the most crash-tested
embedded store; every connection is short-lived so threads and processes can share the file."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oodaloo.config import Settings
from oodaloo.sqlite import immediate as write_transaction
from oodaloo.sqlite import open_store

BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS qbo_tokens (
    realm_id TEXT PRIMARY KEY,
    access_token BLOB NOT NULL,          -- Fernet ciphertext
    refresh_token BLOB NOT NULL,         -- Fernet ciphertext
    access_expires_at REAL NOT NULL,     -- unix seconds (system clock)
    refresh_expires_at REAL,
    generation INTEGER NOT NULL DEFAULT 1,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS qbo_connections (
    realm_id TEXT PRIMARY KEY,
    name TEXT,
    state TEXT NOT NULL,                 -- connected | reconnect_needed
    last_error TEXT,
    last_error_kind TEXT,                -- transient | reauth | permanent
    last_attempt_at TEXT,
    connected_at TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS oauth_states (
    state TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS qbo_request_counts (
    realm_id TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (realm_id, day)
);
CREATE TABLE IF NOT EXISTS sync_requests (
    request_id INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id TEXT NOT NULL,
    reason TEXT,
    requested_at TEXT NOT NULL,
    taken_at TEXT,
    done_at TEXT,
    outcome TEXT
);
"""

_initialised: set[Path] = set()
_init_lock = threading.Lock()


def _connect(path: Path) -> sqlite3.Connection:
    return open_store(path, busy_timeout_s=BUSY_TIMEOUT_MS / 1000)


@contextmanager
def connect(settings: Settings | Path) -> Iterator[sqlite3.Connection]:
    """A short-lived autocommit connection to state.sqlite with our tables created."""
    path = settings if isinstance(settings, Path) else settings.state_path
    con = _connect(path)
    try:
        resolved = path.resolve()
        if resolved not in _initialised:
            with _init_lock:
                con.executescript(_SCHEMA)
                _initialised.add(resolved)
        yield con
    finally:
        con.close()


@contextmanager
def immediate(settings: Settings | Path) -> Iterator[sqlite3.Connection]:
    """A write transaction taken up front (BEGIN IMMEDIATE): a cross-process lock as well as
    atomicity. Commits on success, rolls back on any exception."""
    with connect(settings) as con, write_transaction(con):
        yield con
