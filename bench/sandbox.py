"""Sandbox benchmark: bulk load, query latency at scale, and request throughput in process.

Run ``python -m bench.sandbox [--docs N]``. Figures are printed as ratios against a baseline
measured in the same run (a raw ``executemany`` of the same rows, a read by id), never asserted.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sandbox.config import RateLimits, SandboxConfig
from sandbox.core import SandboxCore
from sandbox.state import SandboxDB, dumps
from sandbox.testing import api_client, seed_small_company
from sandbox.transport import EmbeddedTransport

STAMP = "2026-11-01T10:00:00-07:00"


def bill(doc_id: int, day: int) -> dict:
    return {
        "Id": str(doc_id),
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": {"CreateTime": STAMP, "LastUpdatedTime": f"2026-11-{day:02d}T10:00:00-07:00"},
        "VendorRef": {"value": "30", "name": "V"},
        "TxnDate": f"2026-10-{day:02d}",
        "DueDate": "2026-11-30",
        "TotalAmt": 120.0,
        "Balance": 120.0 if doc_id % 3 else 0.0,
        "Line": [
            {
                "Id": "1",
                "Amount": 120.0,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "5"}},
            }
        ],
    }


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--docs", type=int, default=1_000_000, help="documents in total (over --realms)"
    )
    parser.add_argument("--realms", type=int, default=500)
    args = parser.parse_args()
    per_realm = args.docs // args.realms
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sandbox.sqlite"
        db = SandboxDB(path)
        realms = [str(9130000000001 + i) for i in range(args.realms)]
        for realm in realms:
            seed_small_company(db, realm, f"Company {realm}")

        docs = [bill(1000 + i, 1 + i % 28) for i in range(per_realm)]  # generation is not timed

        def load() -> None:
            for realm in realms:
                db.bulk_insert(realm, "Bill", docs)

        load_s = timed(load)
        baseline_path = Path(tmp) / "raw.sqlite"
        raw = sqlite3.connect(baseline_path)
        raw.execute("CREATE TABLE t (realm TEXT, id INTEGER, doc TEXT)")
        rows = [
            (realms[0], i, dumps(bill(i, 1))) for i in range(min(per_realm * args.realms, 200_000))
        ]

        def raw_insert() -> None:
            raw.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
            raw.commit()

        raw_s = timed(raw_insert)
        raw.close()
        total = per_realm * args.realms
        print(
            f"bulk_insert: {total} docs in {load_s:.1f} s = {total / load_s:,.0f} docs/s "
            f"(raw executemany without indexes: {len(rows) / raw_s:,.0f} rows/s, "
            f"ratio {len(rows) / raw_s / (total / load_s):.1f}x)"
        )

        core = SandboxCore(path, SandboxConfig(limits=RateLimits.unlimited()))
        with api_client(EmbeddedTransport(core), realms[len(realms) // 2]) as qbo:
            read_s = timed(lambda: qbo.get("/bill/1005"), 200)
            page_s = timed(
                lambda: qbo.get(
                    "/query",
                    params={
                        "query": "select * from Bill where Balance > '0' "
                        "orderby MetaData.LastUpdatedTime startposition 101 maxresults 100"
                    },
                ),
                20,
            )
            window_s = timed(
                lambda: qbo.get(
                    "/query",
                    params={
                        "query": "select * from Bill where "
                        "MetaData.LastUpdatedTime >= '2026-11-27T00:00:00-07:00' maxresults 1000"
                    },
                ),
                20,
            )
            count_s = timed(
                lambda: qbo.get(
                    "/query", params={"query": "select count(*) from Bill where Balance > '0'"}
                ),
                20,
            )
            cdc_s = timed(
                lambda: qbo.get(
                    "/cdc", params={"entities": "Bill,Invoice", "changedSince": "2026-11-28"}
                ),
                20,
            )
            payment = {
                "VendorRef": {"value": "30"},
                "PayType": "Check",
                "TotalAmt": 1,
                "CheckPayment": {"BankAccountRef": {"value": "1"}},
                "Line": [{"Amount": 1, "LinkedTxn": [{"TxnId": "60", "TxnType": "Bill"}]}],
            }
            write_s = timed(lambda: qbo.post("/billpayment", json=payment), 100)
        core.close()
        db.close()
        print(f"read by id: {read_s * 1000:.2f} ms (baseline)")
        for name, value in (
            ("query page (json filter + order, 100 rows)", page_s),
            ("LastUpdatedTime window (indexed)", window_s),
            ("count(*) with json filter", count_s),
            ("CDC 2 entities", cdc_s),
            ("BillPayment create (4 docs written)", write_s),
        ):
            print(f"{name}: {value * 1000:.2f} ms = {value / read_s:.1f}x read by id")
        print(f"realm size: {per_realm + 30} docs; file {path.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
