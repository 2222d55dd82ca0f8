"""The product's clock: the sandbox's when there is one, the system's against Intuit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from oodaloo import clock
from oodaloo.config import Settings, load_settings
from sandbox.state import SandboxDB

FROZEN = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def test_embedded_sandbox_clock_is_the_products(settings: Settings) -> None:
    SandboxDB(settings.sandbox_path).set_clock(FROZEN)
    assert clock.now(settings) == FROZEN
    assert clock.today(settings, "America/Los_Angeles").isoformat() == "2026-11-20"


def test_a_real_qbo_is_asked_once_then_the_system_clock_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OODALOO_QBO_BASE_URL", "http://127.0.0.1:9/intuit-like")
    remote = load_settings()
    asked: list[str] = []

    def intuit(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(404)

    def client(_settings: Settings, **kwargs: Any) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(intuit), timeout=kwargs.get("timeout"))

    monkeypatch.setattr(clock, "http_client", client)
    monkeypatch.setattr(clock, "_not_a_sandbox", set())
    before = datetime.now(UTC)
    for _ in range(3):
        assert clock.now(remote) >= before
    assert asked == ["/intuit-like/admin/clock"]
