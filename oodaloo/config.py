"""Typed configuration, read from the environment (prefix ``OODALOO_``) and the command line.

Every field is documented; ``tests/test_config_documented.py`` checks that each one also appears
in ``docs/configuration.md``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_CLIENT_ID = "oodaloo-demo-app"
DEMO_CLIENT_SECRET = "oodaloo-demo-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8501/"


class Settings(BaseSettings):
    """All knobs of the product. Secrets are ``SecretStr`` so they never print."""

    model_config = SettingsConfigDict(env_prefix="OODALOO_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        Path("data"), description="Directory for every generated file (stores, cache, digests)."
    )

    qbo_base_url: str | None = Field(
        None,
        description="QBO API base, e.g. https://quickbooks.api.intuit.com or "
        "http://127.0.0.1:8765 for a sandbox served over HTTP. Unset: the sandbox runs in process "
        "over data_dir/sandbox.sqlite.",
    )
    qbo_token_url: str | None = Field(
        None,
        description="OAuth 2.0 token endpoint. Unset: derived from qbo_base_url (sandbox layout).",
    )
    qbo_authorize_url: str | None = Field(
        None,
        description="OAuth 2.0 authorize endpoint. Unset: derived from qbo_base_url (sandbox "
        "layout).",
    )
    qbo_client_id: str = Field(
        DEMO_CLIENT_ID, description="OAuth client id of our app (the demo app's by default)."
    )
    qbo_client_secret: SecretStr = Field(
        SecretStr(DEMO_CLIENT_SECRET),
        description="OAuth client secret of our app (the demo app's by default).",
    )
    qbo_redirect_uri: str = Field(
        DEFAULT_REDIRECT_URI, description="Redirect URI registered for the connect flow."
    )
    qbo_minor_version: int = Field(
        75, description="The minorversion query parameter sent on every API call."
    )
    qbo_timeout_seconds: float = Field(30.0, description="Per-request timeout for QBO calls.")

    encryption_key: SecretStr | None = Field(
        None,
        description="Fernet key that encrypts OAuth tokens at rest (several keys comma-separated, "
        "newest first, while rotating). Unset: the key file (key_file) is used.",
    )
    key_file: Path | None = Field(
        None,
        description="File holding the Fernet key(s), one per line, newest first; it must lie "
        "OUTSIDE data_dir so the data folder alone decrypts nothing. Unset: "
        "$XDG_CONFIG_HOME/oodaloo/secret.key (~/.config/oodaloo/secret.key), generated once with "
        "mode 0600.",
    )
    webhook_verifier_token: SecretStr | None = Field(
        None,
        description="QuickBooks webhooks verifier token of the app: `oodaloo webhooks serve` "
        "accepts only payloads whose intuit-signature is the HMAC-SHA256 of the body with it.",
    )
    demo_mode: bool = Field(
        False,
        description="Demo only: accept a key file inside data_dir (a warning says so). Never in "
        "production.",
    )

    bind_address: str = Field(
        "127.0.0.1",
        description="Address the console may serve on. Anything but a loopback address must be "
        "named here explicitly, and then every visitor must sign in (no local identity).",
    )
    auth_local_identity: str | None = Field(
        None,
        description="Development and tests only: act as this signed-in e-mail without an OIDC "
        "provider. Honoured only while the console is bound to a loopback address.",
    )
    auth_provider: str | None = Field(
        None,
        description="Name of the [auth.<name>] provider in .streamlit/secrets.toml for st.login; "
        "unset: the single [auth] section.",
    )
    auth_admins: str = Field(
        "",
        description="Comma-separated e-mails that are firm admins whatever state.sqlite says "
        "(bootstrap).",
    )
    second_approver_threshold: Decimal = Field(
        Decimal("5000.00"),
        ge=0,
        description="Default per company: an approval whose payments total more than this needs a "
        "second, different approver. Each company can set its own (oodaloo access threshold).",
    )

    freshness_minutes: int = Field(
        15, description="Data older than this is refreshed before it is shown."
    )
    refresh_wait_seconds: float = Field(
        5.0, description="How long a read waits for a refresh before serving stored data."
    )
    sync_interval_minutes: int = Field(
        15, description="Scheduler interval for incremental sync of each company."
    )
    console_scheduler: bool = Field(
        True,
        description="Run the background scheduler (sync, sync requests, digests) inside the "
        "Streamlit console process. Turn off when a dedicated scheduler process runs, so jobs "
        "never run twice.",
    )
    sync_concurrency: int = Field(16, description="How many companies sync at the same time.")
    qbo_requests_per_minute: float = Field(
        500.0,
        gt=0,
        description="Per-company request ceiling per minute our rate limiter keeps to (QBO allows "
        "500).",
    )
    qbo_requests_per_second: float = Field(
        8.0,
        gt=0,
        description="Per-company request ceiling per second our rate limiter keeps to (QBO allows "
        "10; a margin keeps window edges from tripping 429s).",
    )
    qbo_throttle_pause_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a company's calls pause after QBO answers 429 without a Retry-After "
        "hint.",
    )
    sync_user_reserve: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Share of each company's per-second and per-minute ceilings background sync "
        "leaves free for owners' clicks (the user lane may use everything).",
    )
    sync_daily_request_budget: int = Field(
        5000,
        ge=0,
        description="Requests per company per UTC day background sync may use; when spent, the "
        "sync run ends with outcome 'quota' until the next day.",
    )
    daily_request_hard_cap: int = Field(
        8000,
        ge=0,
        description="Requests per company per UTC day beyond which even owners' actions (user "
        "lane) are refused.",
    )
    sync_cdc_overlap_seconds: float = Field(
        300.0,
        ge=0,
        description="CDC asks for changes from this many seconds before the stored checkpoint.",
    )
    sync_reconcile_interval_days: float = Field(
        7.0,
        gt=0,
        description="A full Id reconciliation (finds hard deletions) runs at least this often per "
        "company.",
    )

    demo_seed: int = Field(20261120, description="Seed of the generated demo firm.")
    demo_today: date = Field(
        date(2026, 11, 20), description="The demo sandbox's 'today' (a Friday)."
    )
    demo_companies: int = Field(12, description="Number of companies in the demo firm.")

    smtp_host: str | None = Field(
        None, description="SMTP server for the digest e-mail; unset disables e-mail."
    )
    smtp_port: int = Field(587, description="SMTP port.")
    smtp_username: str | None = Field(None, description="SMTP user name.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_from: str = Field("digest@oodaloo.local", description="From address of the digest e-mail.")
    smtp_security: Literal["starttls", "tls", "plain"] = Field(
        "starttls",
        description="SMTP transport security: 'starttls' (default; the server must offer "
        "STARTTLS, except a loopback relay used without a password), 'tls' (implicit TLS, port "
        "465), or 'plain' (explicit opt-in: no encryption, the password travels in clear).",
    )

    # ---- derived locations -------------------------------------------------------------
    @property
    def uses_embedded_sandbox(self) -> bool:
        """True when QBO calls go to the in-process sandbox (no base URL configured)."""
        return self.qbo_base_url is None

    @property
    def api_base(self) -> str:
        """Base URL of the QBO API; the embedded sandbox answers at a fixed loopback-looking
        host."""
        return (self.qbo_base_url or "http://sandbox.oodaloo.invalid").rstrip("/")

    @property
    def token_url(self) -> str:
        return self.qbo_token_url or f"{self.api_base}/oauth2/v1/tokens/bearer"

    @property
    def authorize_url(self) -> str:
        return self.qbo_authorize_url or f"{self.api_base}/connect/oauth2"

    @property
    def sandbox_path(self) -> Path:
        return self.data_dir / "sandbox.sqlite"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.sqlite"

    @property
    def actions_path(self) -> Path:
        return self.data_dir / "actions.sqlite"

    @property
    def cache_dir(self) -> Path:
        return private_dir(self.data_dir / "cache")

    @property
    def digests_dir(self) -> Path:
        path = self.data_dir / "digests"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def fernet_key(self) -> bytes:
        """The primary (newest) token encryption key; see ``fernet_keys``."""
        return self.fernet_keys()[0]

    def fernet_keys(self) -> list[bytes]:
        """Every token encryption key, newest first: from ``encryption_key`` or the key file.

        The key never lives beside the ciphertext: a key file inside ``data_dir`` is refused
        (KeyLocationError) unless ``demo_mode`` is on, so a copy of the data folder alone decrypts
        nothing. The default file is created once, atomically (two processes racing both read
        the one key that won)."""
        if self.encryption_key is not None:
            keys = [k.strip().encode() for k in self.encryption_key.get_secret_value().split(",")]
            return [k for k in keys if k]
        key_file = self.resolved_key_file
        if _inside(key_file, self.data_dir) and not self.demo_mode:
            raise KeyLocationError(
                f"the encryption key file {key_file} lies inside the data folder {self.data_dir}: "
                "move it elsewhere (OODALOO_KEY_FILE) or set OODALOO_ENCRYPTION_KEY; "
                "only demo mode (OODALOO_DEMO_MODE=true) accepts it there"
            )
        if not key_file.exists():
            legacy = self.data_dir / ".secret.key"
            if legacy.exists():
                _move_legacy_key(legacy, key_file)
            else:
                _create_key_file(key_file)
        keys = [line.strip().encode() for line in key_file.read_text().splitlines()]
        keys = [k for k in keys if k]
        if not keys:
            raise KeyLocationError(f"the encryption key file {key_file} holds no key")
        return keys

    @property
    def resolved_key_file(self) -> Path:
        """Where the key file is (configured, or the per-user default outside any data folder)."""
        if self.key_file is not None:
            return Path(self.key_file).expanduser()
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(base) / "oodaloo" / "secret.key"

    @property
    def key_inside_data_dir(self) -> bool:
        """True in demo mode with the key beside the data (the console says so)."""
        return self.encryption_key is None and _inside(self.resolved_key_file, self.data_dir)


class KeyLocationError(RuntimeError):
    """The encryption key is missing or kept where it would travel with the data."""


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _move_legacy_key(legacy: Path, key_file: Path) -> None:
    """An older install kept the key in ``data_dir/.secret.key``: move it to the key file (so
    the tokens it encrypted stay readable) and out of the data folder."""
    import logging

    private_dir(key_file.parent)
    temp = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(legacy.read_bytes().strip() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        # another process moved it first: the same key
        with contextlib.suppress(FileExistsError):
            os.link(temp, key_file)
    finally:
        temp.unlink(missing_ok=True)
    legacy.unlink(missing_ok=True)
    logging.getLogger(__name__).warning(
        "moved the token encryption key out of the data folder to %s", key_file
    )


def _create_key_file(key_file: Path) -> None:
    """Write a new key to a private temp file, then hard-link it into place: the link either
    wins (ours is the key) or finds the file there (another process won; we use theirs). A
    reader therefore never sees a half-written key."""
    from cryptography.fernet import Fernet

    private_dir(key_file.parent)
    temp = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temp, key_file)
    finally:
        temp.unlink(missing_ok=True)


def private_umask() -> None:
    """Every file and folder this process creates from now on is its owner's only (0600 files,
    0700 folders): stores, caches, digests, keys. Called by the CLI and the console at start."""
    os.umask(0o077)


def secure_data_dir(settings: Settings) -> None:
    """The data folder 0700 (created if missing): nothing in it is readable by other users,
    whatever mode older files were created with."""
    private_dir(settings.data_dir)


def private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700 (diskcache and secrets live only in such directories)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def new_state_token() -> str:
    """A CSRF ``state`` value for the OAuth connect flow."""
    return secrets.token_urlsafe(32)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. ``data_dir`` from
    ``--data-dir``)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]  # pydantic validates each value
