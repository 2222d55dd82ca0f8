"""A sync in a child process, for kill -9 and cross-process tests.

``python -m tests.sync.child_sync DATA_DIR REALM PAGE_SIZE [KIND] [LOOPS]`` prints "ready" once
imported, then syncs (LOOPS times) and prints the results as JSON lines."""

from __future__ import annotations

import json
import sys

from oodaloo.config import load_settings
from sandbox.config import RateLimits, SandboxConfig
from sandbox.transport import core_for
from sync.client import QBOClient
from sync.context import SyncOptions
from sync.engine import sync_company
from sync.retry import FAST


def main() -> None:
    data_dir, realm, page = sys.argv[1:4]
    kind = sys.argv[4] if len(sys.argv) > 4 else "incremental"
    loops = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    settings = load_settings(data_dir=data_dir)
    if settings.uses_embedded_sandbox:
        core_for(settings.sandbox_path, SandboxConfig(limits=RateLimits.unlimited()))
    options = SyncOptions(page_size=int(page), lag_seconds=0, overlap_seconds=60)
    print("ready", flush=True)
    with QBOClient(settings, retry=FAST) as client:
        for _ in range(loops):
            result = sync_company(settings, realm, kind, client=client, options=options)
            print(json.dumps(result.as_dict()), flush=True)


if __name__ == "__main__":
    main()
