"""The in-process sandbox as a SYNCHRONOUS httpx transport (httpx's ASGITransport is async-only).

It calls the synchronous ``SandboxCore`` directly in the caller's thread, so many client threads
can use it at once. One core per sandbox file per process. Faults surface exactly as httpx would
report them over a network: a lost response raises ``httpx.RemoteProtocolError`` after the write
committed; a slow answer longer than the request's read timeout raises ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from sandbox.config import SandboxConfig
from sandbox.core import CoreRequest, SandboxCore

_CORES: dict[Path, SandboxCore] = {}
_LOCK = threading.Lock()


def core_for(db_path: Path | str, config: SandboxConfig | None = None) -> SandboxCore:
    """The process-wide core for a sandbox file (``config`` applies only when it is first made)."""
    key = Path(db_path).resolve()
    with _LOCK:
        core = _CORES.get(key)
        if core is None:
            core = _CORES[key] = SandboxCore(key, config)
        return core


def forget(db_path: Path | str) -> None:
    """Drop (and close) the process-wide core of a file (tests that delete the file use this)."""
    with _LOCK:
        core = _CORES.pop(Path(db_path).resolve(), None)
    if core is not None:
        core.close()


class EmbeddedTransport(httpx.BaseTransport):
    def __init__(self, core: SandboxCore) -> None:
        self.core = core

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        url = request.url
        core_request = CoreRequest(
            method=request.method.upper(),
            path=url.path,
            query=url.query.decode("latin-1"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            base_url=f"{url.scheme}://{url.netloc.decode('latin-1')}",
        )
        response = self.core.handle(core_request)
        if response.delivery == "lost":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if response.delivery == "slow":
            timeout = (request.extensions.get("timeout") or {}).get("read")
            if timeout is not None and response.delay >= timeout:
                time.sleep(timeout)
                raise httpx.ReadTimeout("The read operation timed out", request=request)
            time.sleep(response.delay)
        return httpx.Response(
            response.status, headers=response.headers, content=response.body, request=request
        )


def embedded_transport(db_path: Path, config: SandboxConfig | None = None) -> httpx.BaseTransport:
    """A synchronous transport answering from the sandbox file at ``db_path``."""
    return EmbeddedTransport(core_for(db_path, config))


def transport_for_app(app: Any) -> httpx.BaseTransport:
    """A synchronous transport over the core of an app made by ``create_app``."""
    return EmbeddedTransport(app.state.core)
