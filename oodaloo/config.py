"""Typed configuration, read from the environment (prefix ``OODALOO_``) and the command line.

Every field is documented; ``tests/test_config_documented.py`` checks that each one also appears
in ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path

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
        description="QBO API base, e.g. https://quickbooks.api.intuit.com or http://127.0.0.1:8765 for a "
        "sandbox served over HTTP. Unset: the sandbox runs in process over data_dir/sandbox.sqlite.",
    )
    qbo_token_url: str | None = Field(
        None,
        description="OAuth 2.0 token endpoint. Unset: derived from qbo_base_url (sandbox layout).",
    )
    qbo_authorize_url: str | None = Field(
        None,
        description="OAuth 2.0 authorize endpoint. Unset: derived from qbo_base_url (sandbox layout).",
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
        description="Fernet key that encrypts OAuth tokens at rest. Unset: a key is generated once into "
        "data_dir/.secret.key with mode 0600.",
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
        description="Run the background scheduler (sync, sync requests, digests) inside the Streamlit console "
        "process. Turn off when a dedicated scheduler process runs, so jobs never run twice.",
    )
    sync_concurrency: int = Field(16, description="How many companies sync at the same time.")
    qbo_requests_per_minute: float = Field(
        500.0,
        gt=0,
        description="Per-company request ceiling per minute our rate limiter keeps to (QBO allows 500).",
    )
    qbo_requests_per_second: float = Field(
        8.0,
        gt=0,
        description="Per-company request ceiling per second our rate limiter keeps to (QBO allows 10; a margin keeps window edges from tripping 429s).",
    )
    qbo_throttle_pause_seconds: float = Field(
        60.0,
        gt=0,
        description="How long a company's calls pause after QBO answers 429 without a Retry-After hint.",
    )
    sync_user_reserve: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Share of each company's per-second and per-minute ceilings background sync leaves free for "
        "owners' clicks (the user lane may use everything).",
    )
    sync_daily_request_budget: int = Field(
        5000,
        ge=0,
        description="Requests per company per UTC day background sync may use; when spent, the sync run ends "
        "with outcome 'quota' until the next day.",
    )
    daily_request_hard_cap: int = Field(
        8000,
        ge=0,
        description="Requests per company per UTC day beyond which even owners' actions (user lane) are refused.",
    )
    sync_cdc_overlap_seconds: float = Field(
        300.0,
        ge=0,
        description="CDC asks for changes from this many seconds before the stored checkpoint.",
    )
    sync_reconcile_interval_days: float = Field(
        7.0,
        gt=0,
        description="A full Id reconciliation (finds hard deletions) runs at least this often per company.",
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
    smtp_starttls: bool = Field(False, description="Use STARTTLS on the SMTP connection.")

    # ---- derived locations -------------------------------------------------------------
    @property
    def uses_embedded_sandbox(self) -> bool:
        """True when QBO calls go to the in-process sandbox (no base URL configured)."""
        return self.qbo_base_url is None

    @property
    def api_base(self) -> str:
        """Base URL of the QBO API; the embedded sandbox answers at a fixed loopback-looking host."""
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
        """The token encryption key: configured, or generated once into a private file."""
        if self.encryption_key is not None:
            return self.encryption_key.get_secret_value().encode()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / ".secret.key"
        if not key_file.exists():
            from cryptography.fernet import Fernet

            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return key_file.read_bytes().strip()


def private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700 (diskcache and secrets live only in such directories)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def new_state_token() -> str:
    """A CSRF ``state`` value for the OAuth connect flow."""
    return secrets.token_urlsafe(32)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. ``data_dir`` from ``--data-dir``)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
