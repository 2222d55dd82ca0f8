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


def test_one_default_time_zone_for_the_whole_product() -> None:
    """``DEFAULT_TZ`` is defined once (oodaloo.timezone); the clock re-exports that object."""
    import re
    from pathlib import Path

    from oodaloo import timezone

    assert clock.DEFAULT_TZ is timezone.DEFAULT_TZ
    root = Path(__file__).resolve().parents[1]
    definitions = [
        str(path.relative_to(root))
        for package in ("oodaloo", "sync", "runway", "actions", "digest", "pages")
        for path in (root / package).rglob("*.py")
        if re.search(r"^DEFAULT_TZ\s*=", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert definitions == ["oodaloo/timezone.py"]


def test_end_of_day_honours_the_company_zone() -> None:
    """The last instant of a day is local midnight minus a microsecond, wherever the company is."""
    from datetime import date, timedelta

    from runway.api import end_of_day

    day = date(2026, 11, 20)  # after the US change back to standard time
    la = end_of_day(day, "America/Los_Angeles")
    ny = end_of_day(day, "America/New_York")
    assert la == datetime(2026, 11, 21, 8, tzinfo=UTC) - timedelta(microseconds=1)  # UTC-8
    assert ny == datetime(2026, 11, 21, 5, tzinfo=UTC) - timedelta(microseconds=1)  # UTC-5
    assert end_of_day(day) == ny  # the default zone
