"""OAuth tokens at rest: Fernet-encrypted in state.sqlite, never logged, never in exception text.

The rotated refresh token is ledger-grade state: ``refresh_locked`` takes a per-realm lock across
threads (a ``threading.Lock``) and processes (SQLite ``BEGIN IMMEDIATE``), re-reads the row (another
worker may have refreshed already), calls the refresh, and commits the new pair durably BEFORE the
new access token is handed to anyone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet

from oodaloo.config import Settings
from sync import statedb
from sync.errors import ReauthRequired

EXPIRY_MARGIN_SECONDS = 120.0


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
        self._fernet = Fernet(settings.fernet_key())

    def _enc(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def _dec(self, value: bytes) -> str:
        return self._fernet.decrypt(value).decode()

    def save(self, realm_id: str, grant: TokenGrant, con=None) -> int:  # type: ignore[no-untyped-def]
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
        sql = """INSERT INTO qbo_tokens(realm_id, access_token, refresh_token, access_expires_at,
                     refresh_expires_at, generation, updated_at) VALUES (?,?,?,?,?,1,?)
                 ON CONFLICT(realm_id) DO UPDATE SET access_token=excluded.access_token,
                     refresh_token=excluded.refresh_token, access_expires_at=excluded.access_expires_at,
                     refresh_expires_at=excluded.refresh_expires_at, generation=qbo_tokens.generation+1,
                     updated_at=excluded.updated_at
                 RETURNING generation"""
        if con is not None:
            return int(con.execute(sql, row).fetchone()[0])
        with statedb.immediate(self.settings) as own:
            return int(own.execute(sql, row).fetchone()[0])

    def access_token(self, realm_id: str) -> AccessToken | None:
        with statedb.connect(self.settings) as con:
            row = con.execute(
                "SELECT access_token, access_expires_at, generation FROM qbo_tokens WHERE realm_id=?",
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

        ``refresh(refresh_token) -> TokenGrant`` performs the HTTP call; it raises ReauthRequired
        on invalid_grant, in which case ``on_invalid_grant(con)`` runs inside the same transaction
        (to mark the company) before the error propagates."""
        lock = _realm_lock(f"{self.settings.state_path}:{realm_id}")
        with lock:
            with statedb.connect(self.settings) as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    row = con.execute(
                        "SELECT access_token, refresh_token, access_expires_at, generation FROM qbo_tokens WHERE realm_id=?",
                        (realm_id,),
                    ).fetchone()
                    if row is None:
                        raise ReauthRequired("QuickBooks is not connected", realm_id=realm_id)
                    current = AccessToken(self._dec(row[0]), float(row[2]), int(row[3]))
                    if (
                        stale_generation is not None
                        and current.generation != stale_generation
                        and not current.expired()
                    ):
                        con.execute("COMMIT")
                        return current  # another thread or process refreshed meanwhile
                    try:
                        grant = refresh(self._dec(row[1]))
                    except ReauthRequired:
                        if on_invalid_grant is not None:
                            on_invalid_grant(con)
                        con.execute("COMMIT")
                        raise
                    generation = self.save(realm_id, grant, con=con)
                    con.execute("COMMIT")  # durable (synchronous=FULL) before first use
                    return AccessToken(
                        grant.access_token, time.time() + grant.expires_in, generation
                    )
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
