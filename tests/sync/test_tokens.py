"""Tokens at rest: encrypted, refreshed once under a per-realm lock across processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oodaloo.config import Settings, load_settings
from sync import connections
from sync.errors import ReauthRequired
from sync.tokens import TokenGrant, TokenStore

ROOT = Path(__file__).resolve().parents[2]
SECRET_ACCESS = "access-SECRET-0001"
SECRET_REFRESH = "refresh-SECRET-0001"


def test_tokens_are_encrypted_at_rest_and_never_printed(settings: Settings) -> None:
    store = TokenStore(settings)
    store.save("r1", TokenGrant(SECRET_ACCESS, SECRET_REFRESH))
    wal = Path(str(settings.state_path) + "-wal")
    raw = settings.state_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert SECRET_ACCESS.encode() not in raw and SECRET_REFRESH.encode() not in raw
    token = store.access_token("r1")
    assert token is not None and token.value == SECRET_ACCESS
    assert SECRET_ACCESS not in repr(token) and SECRET_REFRESH not in repr(
        TokenGrant(SECRET_ACCESS, SECRET_REFRESH)
    )
    assert TokenStore(settings).access_token("r1").value == SECRET_ACCESS  # type: ignore[union-attr]


def _refresh_in_child(data_dir: str, calls_file: str, start_at: float) -> None:
    settings = load_settings(data_dir=data_dir)
    store = TokenStore(settings)

    def refresh(old: str) -> TokenGrant:
        with open(calls_file, "a") as fh:
            fh.write(old + "\n")
        time.sleep(0.2)  # a slow token endpoint widens the race
        n = int(old.rsplit("-", 1)[1]) + 1
        return TokenGrant(f"access-{n}", f"refresh-{n}")

    while time.time() < start_at:
        time.sleep(0.001)
    store.refresh_locked("r1", 1, refresh)


def test_concurrent_refresh_in_two_processes_rotates_once(
    settings: Settings, tmp_path: Path
) -> None:
    TokenStore(settings).save("r1", TokenGrant("access-1", "refresh-1"))
    calls = tmp_path / "calls.txt"
    start = time.time() + 2.0  # all three are up and spinning before the race starts
    code = (
        "import sys; from tests.sync.test_tokens import _refresh_in_child; "
        "_refresh_in_child(sys.argv[1], sys.argv[2], float(sys.argv[3]))"
    )
    args = [sys.executable, "-c", code, str(settings.data_dir), str(calls), repr(start)]
    procs = [subprocess.Popen(args, cwd=ROOT) for _ in range(3)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    assert calls.read_text().splitlines() == [
        "refresh-1"
    ]  # one refresh; the others reused its result
    token = TokenStore(settings).access_token("r1")
    assert token is not None and token.value == "access-2" and token.generation == 2


def test_invalid_grant_marks_only_that_company(settings: Settings) -> None:
    store = TokenStore(settings)
    for realm in ("r1", "r2"):
        store.save(realm, TokenGrant("a", "r"))
        connections.mark_connected(settings, realm, f"Co {realm}")

    def refused(_: str) -> TokenGrant:
        raise ReauthRequired("invalid_grant", realm_id="r1")

    with pytest.raises(ReauthRequired):
        store.refresh_locked(
            "r1",
            None,
            refused,
            on_invalid_grant=lambda con: connections.mark_reconnect_needed(
                settings, "r1", "expired", con=con
            ),
        )
    states = {c.realm_id: c.state for c in connections.list_companies(settings)}
    assert states == {"r1": "reconnect_needed", "r2": "connected"}


def test_state_db_is_wal_with_full_sync(settings: Settings) -> None:
    TokenStore(settings).save("r1", TokenGrant("a", "b"))
    con = sqlite3.connect(settings.state_path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
