"""A small world for the security tests: an embedded sandbox with two companies, connected
through the real OAuth flow, under the test's own data directory and key file."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oodaloo.config import Settings, load_settings


@dataclass
class World:
    settings: Settings
    db: Any
    realms: list[str]
    seeded: dict[str, dict[str, Any]]

    def balance(self, realm: str, bill_id: str) -> Decimal:
        """A bill's open balance as the sandbox holds it (read with a fresh client)."""
        from sync.client import QBOClient

        with QBOClient(self.settings) as client:
            return Decimal(str(client.read(realm, "Bill", bill_id, lane="user")["Balance"]))


@pytest.fixture
def world(isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    from sandbox.state import SandboxDB
    from sandbox.testing import seed_small_company
    from sync.oauth import connect_sandbox_companies

    monkeypatch.setenv("OODALOO_KEY_FILE", str(tmp_path / "keys" / "oodaloo.key"))
    settings = load_settings(data_dir=isolated_env)
    db = SandboxDB(settings.sandbox_path)
    realms = ["9130000000001", "9130000000002"]
    seeded = {r: seed_small_company(db, r, f"Company {i + 1}") for i, r in enumerate(realms)}
    connect_sandbox_companies(settings)
    yield World(settings, db, realms, seeded)
    db.close()
