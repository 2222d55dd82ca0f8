"""A sync in a child process, for kill -9 and cross-process tests.

``python -m tests.sync.child_sync DATA_DIR REALM PAGE_SIZE [KIND] [LOOPS] [DIE_ON]`` prints
"ready" once imported, then syncs (LOOPS times) and prints the results as JSON lines. With
DIE_ON, the process SIGKILLs itself just before sending the first request whose body contains
that text (a kill at an exact point of the run, e.g. as the Id reconciliation starts)."""

from __future__ import annotations

import json
import os
import signal
import sys

import httpx

from oodaloo.config import load_settings
from sandbox.config import RateLimits, SandboxConfig
from sandbox.transport import core_for, embedded_transport
from sync.client import QBOClient
from sync.context import SyncOptions
from sync.engine import sync_company
from sync.retry import FAST


class DieOn(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, needle: str) -> None:
        self.inner, self.needle = inner, needle.encode()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.needle in request.read():
            os.kill(os.getpid(), signal.SIGKILL)
        return self.inner.handle_request(request)


def main() -> None:
    data_dir, realm, page = sys.argv[1:4]
    kind = sys.argv[4] if len(sys.argv) > 4 else "incremental"
    loops = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    die_on = sys.argv[6] if len(sys.argv) > 6 else None
    settings = load_settings(data_dir=data_dir)
    transport = None
    if settings.uses_embedded_sandbox:
        core_for(settings.sandbox_path, SandboxConfig(limits=RateLimits.unlimited()))
        if die_on:
            transport = DieOn(embedded_transport(settings.sandbox_path), die_on)
    options = SyncOptions(page_size=int(page), lag_seconds=0, overlap_seconds=60)
    print("ready", flush=True)
    with QBOClient(settings, retry=FAST, transport=transport) as client:
        for _ in range(loops):
            result = sync_company(settings, realm, kind, client=client, options=options)
            print(json.dumps(result.as_dict()), flush=True)


if __name__ == "__main__":
    main()
