"""Configuration: every knob is documented, secrets never print, the data dir is honoured."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from oodaloo.config import Settings, load_settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in DOCS.read_text(), f"{name} missing from docs/configuration.md"
    assert Settings.model_fields[name].description, f"{name} has no description"


def test_environment_sets_data_dir(isolated_env: Path) -> None:
    assert load_settings().data_dir == isolated_env


def test_cli_override_wins(isolated_env: Path, tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path / "other").data_dir == tmp_path / "other"


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OODALOO_QBO_CLIENT_SECRET", "s3cr3t-value")
    monkeypatch.setenv("OODALOO_SMTP_PASSWORD", "hunter2")
    settings = load_settings()
    assert "s3cr3t-value" not in repr(settings) and "hunter2" not in repr(settings)
    assert settings.qbo_client_secret.get_secret_value() == "s3cr3t-value"


def test_bad_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OODALOO_FRESHNESS_MINUTES", "soon")
    with pytest.raises(ValidationError, match="freshness_minutes"):
        load_settings()


def test_generated_key_and_cache_dir_are_private(settings: Settings) -> None:
    key = settings.fernet_key()
    assert key == settings.fernet_key()  # stable once generated
    key_file = settings.resolved_key_file  # outside the data folder (tests/security covers why)
    assert settings.data_dir.resolve() not in key_file.resolve().parents
    assert not (settings.data_dir / ".secret.key").exists()
    mode = stat.S_IMODE(key_file.stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(settings.cache_dir.stat().st_mode) == 0o700


def test_embedded_sandbox_is_default(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.uses_embedded_sandbox
    monkeypatch.setenv("OODALOO_QBO_BASE_URL", "http://127.0.0.1:8765/")
    remote = load_settings()
    assert not remote.uses_embedded_sandbox
    assert remote.token_url == "http://127.0.0.1:8765/oauth2/v1/tokens/bearer"
