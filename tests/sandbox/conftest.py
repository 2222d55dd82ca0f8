"""Fixtures for the sandbox's own tests: a small two-company sandbox and authorised clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.config import RateLimits, SandboxConfig
from sandbox.core import SandboxCore
from sandbox.state import SandboxDB
from sandbox.testing import EMBEDDED_BASE, api_client, make_sandbox
from sandbox.transport import EmbeddedTransport, core_for, forget

REALM_A = "9130000000001"
REALM_B = "9130000000002"


@pytest.fixture
def sandbox_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sandbox.sqlite"
    yield path
    forget(path)


@pytest.fixture
def sandbox_db(sandbox_path: Path) -> Iterator[SandboxDB]:
    db = make_sandbox(sandbox_path, companies=2)
    yield db
    db.close()


@pytest.fixture
def core(sandbox_db: SandboxDB, sandbox_path: Path) -> SandboxCore:
    """The process-wide core for the file, with throttling off (tests of limits make their own)."""
    return core_for(sandbox_path, SandboxConfig(limits=RateLimits.unlimited()))


@pytest.fixture
def transport(core: SandboxCore) -> EmbeddedTransport:
    return EmbeddedTransport(core)


@pytest.fixture
def raw(transport: EmbeddedTransport) -> Iterator[httpx.Client]:
    """A client at the sandbox root without credentials."""
    with httpx.Client(base_url=EMBEDDED_BASE, transport=transport) as client:
        yield client


@pytest.fixture
def qbo(transport: EmbeddedTransport) -> Iterator[httpx.Client]:
    """An authorised client for company A at ``/v3/company/{REALM_A}``."""
    with api_client(transport, REALM_A) as client:
        yield client


def query(client: httpx.Client, statement: str) -> dict[str, Any]:
    response = client.get("/query", params={"query": statement, "minorversion": "75"})
    assert response.status_code == 200, response.text
    return dict(response.json()["QueryResponse"])


def fault_code(response: httpx.Response) -> str:
    body = response.json()
    if "Fault" in body:
        return str(body["Fault"]["Error"][0]["code"])
    return str(body["fault"]["error"][0]["code"])
