"""A real executor process for the crash tests: ``python actions_child.py DATA_DIR MODE ...``.

MODE
  pause-after-send REALM BILL SIGNAL   pay the bill; once QBO answered, touch SIGNAL and hang
  pause-after-claim REALM BILL SIGNAL  claim the intent, touch SIGNAL and hang before any request
  credit-pause-after-send REALM INVOICE PAYMENT SIGNAL
                                       apply the unapplied payment to the invoice; once QBO
                                       answered, touch SIGNAL and hang
  run-pending BARRIER_DIR N            wait until N children are ready, then recover and run every
                                       pending intent and exit
The parent SIGKILLs the hanging ones: no cleanup code runs, exactly like a crash."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from actions.executor import ExecutorConfig, ExecutorHooks, fast_backoff
from actions.service import ActionService
from oodaloo.config import load_settings
from sync.retry import FAST


def hang(signal_file: Path):
    def hook(intent) -> None:
        signal_file.write_text(intent.id)
        while True:
            time.sleep(1)

    return hook


def main(argv: list[str]) -> int:
    data_dir, mode, *rest = argv
    settings = load_settings(data_dir=data_dir)
    hooks = ExecutorHooks()
    lease = 60.0
    credit = None
    if mode == "credit-pause-after-send":
        realm, bill, credit, signal = rest
        lease = 0.5
        hooks.after_send = hang(Path(signal))
    elif mode in ("pause-after-send", "pause-after-claim"):
        realm, bill, signal = rest
        lease = 0.5  # the parent waits this long after the kill, as if the lease timed out
        setattr(
            hooks, "after_send" if mode == "pause-after-send" else "after_claim", hang(Path(signal))
        )
    from sync.client import QBOClient

    config = ExecutorConfig(lease_seconds=lease, backoff=fast_backoff, hooks=hooks)
    with (
        QBOClient(settings, retry=FAST) as client,
        ActionService(settings, client=client, executor_config=config) as svc,
    ):
        if mode == "run-pending":
            barrier, parties = Path(rest[0]), int(rest[1])
            (barrier / f"ready-{os.getpid()}").touch()
            while len(list(barrier.glob("ready-*"))) < parties:
                time.sleep(0.01)
            svc.reconcile(drain_seconds=5.0)
            return 0
        if credit is not None:
            svc.submit_apply_credit(
                realm, bill, credit_type="Payment", credit_id=credit, actor="child"
            )
            return 0
        svc.submit_pay_bill(realm, bill, actor="child")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
