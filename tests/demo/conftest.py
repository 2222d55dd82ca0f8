"""The demo firm generated once per session (pure generator, no database), by profile name."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.demo import Profile, firm_profiles, generate_company
from tests.demo.demo_ledger import SEED, TODAY


@pytest.fixture(scope="session")
def profiles() -> list[Profile]:
    return firm_profiles(SEED, 12)


@pytest.fixture(scope="session")
def firm(profiles: list[Profile]) -> dict[str, tuple[Profile, dict[str, list[dict[str, Any]]]]]:
    """Company name -> (profile, documents per entity)."""
    return {p.name: (p, generate_company(p, SEED, TODAY)) for p in profiles}
