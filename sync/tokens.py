"""OAuth tokens at rest: Fernet-encrypted in state.sqlite, never logged, never in exception text.

The key lives outside the data folder (``Settings.fernet_keys``); ``MultiFernet`` reads tokens
under any listed key and writes under the newest, which is what ``rotate_keys`` relies on.

The rotated refresh token is ledger-grade state: ``refresh_locked`` takes a per-realm lock across
threads (a ``threading.Lock``) and processes (a per-company LEASE row in state.sqlite, taken and
released in short transactions), re-reads the row (another worker may have refreshed already),
calls the token endpoint with NO transaction open — a slow or failing endpoint holds up only
that company, never the database — and writes the new pair in one short transaction BEFORE the
new access token is handed to anyone."""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet

from oodaloo.config import Settings
from sync import statedb
from sync.errors import ReauthRequired, TransientError

EXPIRY_MARGIN_SECONDS = 120.0
# Longer than a refresh can take (token call retries stop after 30 s, each try times out): a
# holder that died frees the company after this; a waiter gives up a little later.
LEASE_SECONDS = 90.0
LEASE_POLL_SECONDS = 0.05

_LEASE_SCHEMA = """CREATE TABLE IF NOT EXISTS token_leases (
    realm_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
)"""


@dataclass(frozen=True)
class TokenGrant:
    """What a token endpoint answered (secrets: never print this)."""

    access_token: str
    refresh_token: str
    expires_in: float = 3600.0
    refresh_expires_in: float | None = None

    def __repr__(self) -> str:  # keep secrets out of tracebacks and logs
        return "TokenGrant(<redacted>)"


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float
    generation: int

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, generation={self.generation})"

    def expired(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at - EXPIRY_MARGIN_SECONDS


_realm_locks: dict[str, threading.Lock] = {}
_realm_locks_guard = threading.Lock()


def _realm_lock(key: str) -> threading.Lock:
    with _realm_locks_guard:
        return _realm_locks.setdefault(key, threading.Lock())


class TokenStore:
    """Encrypted token rows per realm in state.sqlite."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fernet = MultiFernet([Fernet(k) for k in settings.fernet_keys()])

    def _enc(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def _dec(self, value: bytes) -> str:
        return self._fernet.decrypt(value).decode()

    def save(self, realm_id: str, grant: TokenGrant, con: sqlite3.Connection | None = None) -> int:
        """Store a fresh grant (connect flow or refresh); returns the new generation."""
        now = time.time()
        refresh_at = now + grant.refresh_expires_in if grant.refresh_expires_in else None
        row = (
            realm_id,
            self._enc(grant.access_token),
            self._enc(grant.refresh_token),
            now + grant.expires_in,
            refresh_at,
            now,
        )
        sql = (
            "INSERT INTO qbo_tokens(realm_id, access_token, refresh_token, access_expires_at,\n"
            "                     refresh_expires_at, generation, updated_at) "
            "VALUES (?,?,?,?,?,1,?)\n"
            "                 ON CONFLICT(realm_id) DO UPDATE SET "
            "access_token=excluded.access_token,\n"
            "                     refresh_token=excluded.refresh_token, "
            "access_expires_at=excluded.access_expires_at,\n"
            "                     refresh_expires_at=excluded.refresh_expires_at, "
            "generation=qbo_tokens.generation+1,\n"
            "                     updated_at=excluded.updated_at\n"
            "                 RETURNING generation"
        )
        if con is not None:
            return int(con.execute(sql, row).fetchone()[0])
        with statedb.immediate(self.settings) as own:
            return int(own.execute(sql, row).fetchone()[0])

    def access_token(self, realm_id: str) -> AccessToken | None:
        with statedb.connect(self.settings) as con:
            row = con.execute(
                "SELECT access_token, access_expires_at, generation FROM qbo_tokens "
                "WHERE realm_id=?",
                (realm_id,),
            ).fetchone()
        if row is None:
            return None
        return AccessToken(self._dec(row[0]), float(row[1]), int(row[2]))

    def has_tokens(self, realm_id: str) -> bool:
        with statedb.connect(self.settings) as con:
            return (
                con.execute("SELECT 1 FROM qbo_tokens WHERE realm_id=?", (realm_id,)).fetchone()
                is not None
            )

    def realms(self) -> list[str]:
        with statedb.connect(self.settings) as con:
            return [r[0] for r in con.execute("SELECT realm_id FROM qbo_tokens ORDER BY realm_id")]

    def delete(self, realm_id: str) -> None:
        with statedb.immediate(self.settings) as con:
            con.execute("DELETE FROM qbo_tokens WHERE realm_id=?", (realm_id,))

    def refresh_locked(
        self,
        realm_id: str,
        stale_generation: int | None,
        refresh: Callable[[str], TokenGrant],
        on_invalid_grant: Callable[[object], None] | None = None,
    ) -> AccessToken:
        """Refresh the realm's tokens unless someone already did since ``stale_generation``.

        ``refresh(refresh_token) -> TokenGrant`` performs the HTTP call (outside any
        transaction, under this company's lease); it raises ReauthRequired on invalid_grant, in
        which case ``on_invalid_grant(con)`` runs inside the short transaction that also
        releases the lease (to mark the company) before the error propagates."""
        lock = _realm_lock(f"{self.settings.state_path}:{realm_id}")
        with lock:
            owner = f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(4)}"
            self._take_lease(realm_id, owner)
            try:
                current, refresh_token = self._read_pair(realm_id)
                if (
                    stale_generation is not None
                    and current.generation != stale_generation
                    and not current.expired()
                ):
                    return current  # another thread or process refreshed meanwhile
                try:
                    grant = refresh(refresh_token)  # the HTTP call: no transaction is open
                except ReauthRequired:
                    with statedb.immediate(self.settings) as con:
                        if on_invalid_grant is not None:
                            on_invalid_grant(con)
                        self._release(con, realm_id, owner)
                    owner = ""
                    raise
                with statedb.immediate(self.settings) as con:  # one short transaction
                    generation = self.save(realm_id, grant, con=con)
                    self._release(con, realm_id, owner)
                owner = ""
                return AccessToken(grant.access_token, time.time() + grant.expires_in, generation)
            finally:
                if owner:
                    with statedb.immediate(self.settings) as con:
                        self._release(con, realm_id, owner)

    def _read_pair(self, realm_id: str) -> tuple[AccessToken, str]:
        with statedb.connect(self.settings) as con:
            row = con.execute(
                "SELECT access_token, refresh_token, access_expires_at, generation "
                "FROM qbo_tokens WHERE realm_id=?",
                (realm_id,),
            ).fetchone()
        if row is None:
            raise ReauthRequired("QuickBooks is not connected", realm_id=realm_id)
        return AccessToken(self._dec(row[0]), float(row[2]), int(row[3])), self._dec(row[1])

    def _take_lease(self, realm_id: str, owner: str) -> None:
        """Wait for this company's refresh lease (other companies are not involved); each try
        is one short transaction. A lease whose holder died expires after LEASE_SECONDS."""
        deadline = time.monotonic() + LEASE_SECONDS + 5.0
        while True:
            now = time.time()
            with statedb.immediate(self.settings) as con:
                con.execute(_LEASE_SCHEMA)
                taken = con.execute(
                    "INSERT INTO token_leases(realm_id, owner, expires_at) VALUES (?,?,?) "
                    "ON CONFLICT(realm_id) DO UPDATE SET owner=excluded.owner, "
                    "expires_at=excluded.expires_at WHERE token_leases.expires_at < ?",
                    (realm_id, owner, now + LEASE_SECONDS, now),
                ).rowcount
            if taken:
                return
            if time.monotonic() > deadline:
                raise TransientError(
                    "another worker is still refreshing this company's tokens", realm_id=realm_id
                )
            time.sleep(LEASE_POLL_SECONDS)

    @staticmethod
    def _release(con: sqlite3.Connection, realm_id: str, owner: str) -> None:
        con.execute(_LEASE_SCHEMA)
        con.execute("DELETE FROM token_leases WHERE realm_id=? AND owner=?", (realm_id, owner))


def rotate_keys(settings: Settings) -> int:
    """``oodaloo keys rotate``: a new key first in the key file, every token re-encrypted under
    it in one transaction, then the old key dropped. A crash in between leaves both keys listed,
    so nothing becomes unreadable. Returns how many token rows were re-encrypted."""
    if settings.encryption_key is not None:
        raise ValueError(
            "the key comes from OODALOO_ENCRYPTION_KEY: put a new key first in that variable "
            "(comma-separated, old key second), run `oodaloo keys rotate`, then drop the old one"
        )
    old_keys = settings.fernet_keys()
    key_file = settings.resolved_key_file
    new_key = Fernet.generate_key()
    _write_key_file(key_file, [new_key, *old_keys])
    both = MultiFernet([Fernet(k) for k in [new_key, *old_keys]])
    count = _reencrypt(settings, both)
    _write_key_file(key_file, [new_key])
    return count


def reencrypt_with_configured_keys(settings: Settings) -> int:
    """Re-encrypt every token under the first configured key (env-var rotation)."""
    return _reencrypt(settings, MultiFernet([Fernet(k) for k in settings.fernet_keys()]))


def _reencrypt(settings: Settings, fernet: MultiFernet) -> int:
    with statedb.immediate(settings) as con:
        rows = con.execute(
            "SELECT realm_id, access_token, refresh_token FROM qbo_tokens"
        ).fetchall()
        for realm_id, access, refresh in rows:
            con.execute(
                "UPDATE qbo_tokens SET access_token=?, refresh_token=? WHERE realm_id=?",
                (fernet.rotate(access), fernet.rotate(refresh), realm_id),
            )
    return len(rows)


def _write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file atomically (temp file 0600, fsync, rename)."""
    from oodaloo.config import private_dir

    private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(b"\n".join(keys) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
