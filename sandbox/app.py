"""The sandbox as an ASGI app (Starlette): ``create_app(db_path, config)``.

Requests are answered by the synchronous ``SandboxCore`` on a worker thread. A "lost response"
fault starts the answer and then drops the connection (the client never gets a complete
response although the write committed); a "slow" fault answers late.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from sandbox.config import SandboxConfig
from sandbox.core import CoreRequest, SandboxCore


class DroppedConnection(Exception):
    """Raised after a lost-response fault so the server closes the socket mid-answer."""


class _SandboxASGI:
    def __init__(self, core: SandboxCore) -> None:
        self.core = core

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        host = headers.get("host") or "127.0.0.1"
        request = CoreRequest(
            method=scope["method"].upper(),
            path=scope.get("root_path", "") + scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=b"".join(chunks),
            base_url=f"{scope.get('scheme', 'http')}://{host}",
        )
        response = await anyio.to_thread.run_sync(self.core.handle, request)
        if response.delivery == "slow":
            await anyio.sleep(response.delay)
        out_headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
        if response.delivery == "lost":
            out_headers.append((b"content-length", str(len(response.body) + 1024).encode()))
            await send(
                {"type": "http.response.start", "status": response.status, "headers": out_headers}
            )
            raise DroppedConnection("lost-response fault: the connection is dropped on purpose")
        out_headers.append((b"content-length", str(len(response.body)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status, "headers": out_headers}
        )
        await send({"type": "http.response.body", "body": response.body})


def create_app(db_path: Path, config: SandboxConfig | None = None) -> Starlette:
    """The ASGI app serving one sandbox file (``app.state.core`` is its SandboxCore)."""
    core = SandboxCore(db_path, config)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        core.close()

    from sandbox.oidc import PREFIX, create_oidc_app  # the demo users' sign-in (st.login)

    app = Starlette(
        routes=[Mount(PREFIX, app=create_oidc_app()), Mount("/", app=_SandboxASGI(core))],
        lifespan=lifespan,
    )
    app.state.core = core
    return app
