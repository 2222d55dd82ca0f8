"""Benchmark of the action executor against the embedded sandbox.

1. Executor overhead per action: wall time of ``submit_pay_bill`` minus the time spent inside
   the transport (the sandbox answering), so sandbox latency is excluded. Baseline, measured in
   the same run: the bare client doing the same calls (read the bill, create the BillPayment)
   without ledger, guards' bookkeeping, audit or outbox.
2. Throughput of one 100-action approval within the rate limits (the sandbox enforcing QBO's
   limits, our limiter at its defaults), over four companies.

Run: ``.venv/bin/python -m bench.actions``."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from actions.model import PayBill
from actions.service import ActionService
from oodaloo.config import Settings, load_settings

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


class TimedTransport(httpx.BaseTransport):
    """Wraps a transport and adds up the time spent inside it, per thread."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.local = threading.local()

    @property
    def spent(self) -> float:
        return getattr(self.local, "spent", 0.0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        began = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.local.spent = self.spent + time.perf_counter() - began


def build(tmp: Path, companies: int, *, limits_on: bool) -> tuple[Settings, dict[str, Any]]:
    from sandbox.config import RateLimits, SandboxConfig
    from sandbox.state import SandboxDB
    from sandbox.testing import seed_small_company
    from sandbox.transport import core_for
    from sync.oauth import connect_sandbox_companies

    settings = load_settings(data_dir=tmp)
    db = SandboxDB(settings.sandbox_path)
    db.set_clock(START, flowing=True)
    seeded = {
        str(9130000000001 + i): seed_small_company(db, str(9130000000001 + i), f"Bench {i + 1}")
        for i in range(companies)
    }
    core_for(
        settings.sandbox_path,
        SandboxConfig(limits=RateLimits() if limits_on else RateLimits.unlimited()),
    )
    connect_sandbox_companies(settings)
    return settings, seeded


def client(
    settings: Settings, transport: httpx.BaseTransport, *, loose: bool, per_second: float = 10.0
) -> Any:
    from sync.client import QBOClient
    from sync.limiter import LimiterRegistry, Limits
    from sync.retry import FAST

    limits = (
        Limits(per_second=1e6, per_minute=1e9, in_flight=64)
        if loose
        else Limits(per_second=per_second)
    )
    return QBOClient(settings, transport=transport, retry=FAST, limiters=LimiterRegistry(limits))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def overhead(n: int = 200) -> dict[str, float]:
    from sandbox.transport import embedded_transport

    with tempfile.TemporaryDirectory() as tmp:
        settings, seeded = build(Path(tmp), 2, limits_on=False)
        timed = TimedTransport(embedded_transport(settings.sandbox_path))
        realms = list(seeded)
        ours: list[float] = []
        ours_inline: list[float] = []
        bare: list[float] = []
        with client(settings, timed, loose=True) as qbo:
            for label, samples, inline in (
                ("ours", ours, False),
                ("ours+outbox", ours_inline, True),
            ):
                svc = ActionService(settings, client=qbo)
                svc.outbox_inline = inline
                for i in range(n):
                    realm = realms[i % len(realms)]
                    bill = seeded[realm]["open_bills"][i % 3]
                    began, inside = time.perf_counter(), timed.spent
                    result = svc.submit(
                        PayBill(realm, bill, Decimal("0.01"), scope=f"{label}-{i}"), actor="bench"
                    )
                    samples.append((time.perf_counter() - began) - (timed.spent - inside))
                    assert result.outcome == "executed", result.message
                svc.close()
            for i in range(n):  # baseline: the same two calls, no exactly-once machinery
                realm = realms[i % len(realms)]
                bill_id = seeded[realm]["open_bills"][i % 3]
                began, inside = time.perf_counter(), timed.spent
                bill = qbo.read(realm, "Bill", bill_id, lane="user")
                body = {
                    "VendorRef": bill["VendorRef"],
                    "PayType": "Check",
                    "TotalAmt": 0.01,
                    "CheckPayment": {"BankAccountRef": {"value": seeded[realm]["bank_account"]}},
                    "Line": [
                        {"Amount": 0.01, "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]}
                    ],
                }
                qbo.create(realm, "BillPayment", body, requestid=str(uuid.uuid4()), lane="user")
                bare.append((time.perf_counter() - began) - (timed.spent - inside))
    return {
        "ours_p50_ms": 1000 * statistics.median(ours),
        "ours_p95_ms": 1000 * pct(ours, 0.95),
        "inline_p50_ms": 1000 * statistics.median(ours_inline),
        "inline_p95_ms": 1000 * pct(ours_inline, 0.95),
        "bare_p50_ms": 1000 * statistics.median(bare),
        "bare_p95_ms": 1000 * pct(bare, 0.95),
    }


def throughput(n: int = 100, companies: int = 4, per_second: float = 8.0) -> dict[str, float]:
    from sandbox.transport import embedded_transport

    with tempfile.TemporaryDirectory() as tmp:
        settings, seeded = build(Path(tmp), companies, limits_on=True)
        realms = list(seeded)
        selection = [
            PayBill(
                realms[i % companies],
                seeded[realms[i % companies]]["open_bills"][i % 3],
                Decimal("0.05"),
                scope=f"tp-{i}",
            )
            for i in range(n)
        ]
        with client(
            settings, embedded_transport(settings.sandbox_path), loose=False, per_second=per_second
        ) as qbo:
            svc = ActionService(settings, client=qbo)
            began = time.perf_counter()
            results = svc.approve(selection, actor="bench")
            elapsed = time.perf_counter() - began
            requests = qbo.requests_made
            throttled = sum(qbo.limiter(realm).throttled for realm in realms)
            svc.close()
        assert all(r.outcome == "executed" for r in results), [
            r.message for r in results if r.outcome != "executed"
        ]
    return {
        "actions": n,
        "seconds": elapsed,
        "actions_per_s": n / elapsed,
        "requests": requests,
        "throttled": throttled,
    }


def main() -> None:
    o = overhead()
    print("executor overhead per action (time in our code, sandbox time excluded), 200 payments:")
    print(
        f"  ours (ledger+guards+audit, outbox deferred): p50 {o['ours_p50_ms']:.1f} ms  "
        f"p95 {o['ours_p95_ms']:.1f} ms"
    )
    print(
        f"  ours with the outbox applied inline:         p50 {o['inline_p50_ms']:.1f} ms  "
        f"p95 {o['inline_p95_ms']:.1f} ms"
    )
    print(
        f"  baseline bare client (read + create):        p50 {o['bare_p50_ms']:.1f} ms  "
        f"p95 {o['bare_p95_ms']:.1f} ms"
    )
    print(
        f"  ratio ours/bare p50: {o['ours_p50_ms'] / o['bare_p50_ms']:.1f}x; "
        f"inline/bare p50: {o['inline_p50_ms'] / o['bare_p50_ms']:.1f}x"
    )
    for per_second in (8.0, 10.0):
        t = throughput(per_second=per_second)
        print(
            "100-action approval over 4 companies, sandbox enforcing QBO's limits, "
            f"our user lane at {per_second:g}/s: {t['seconds']:.2f} s "
            f"({t['actions_per_s']:.1f} actions/s, {t['requests']} requests, "
            f"{t['throttled']} answered 429)"
        )


if __name__ == "__main__":
    main()
