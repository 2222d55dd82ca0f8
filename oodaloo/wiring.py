"""Which QBO answers our calls: the embedded sandbox (default) or a real endpoint over HTTP.

This is the only module of the product side that imports the sandbox package.
"""

from __future__ import annotations

import httpx

from oodaloo.config import Settings


def qbo_transport(settings: Settings) -> httpx.BaseTransport | None:
    """The in-process sandbox transport when no base URL is configured; ``None`` means real HTTP."""
    if not settings.uses_embedded_sandbox:
        return None
    from sandbox.transport import embedded_transport

    return embedded_transport(settings.sandbox_path)


def http_client(settings: Settings, **kwargs: object) -> httpx.Client:
    """An httpx client wired to the configured QBO (sandbox or Intuit)."""
    transport = qbo_transport(settings)
    if transport is not None:
        kwargs.setdefault("transport", transport)
    kwargs.setdefault("timeout", settings.qbo_timeout_seconds)
    return httpx.Client(**kwargs)  # type: ignore[arg-type]  # options pass through as given
