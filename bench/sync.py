"""Sync benchmark: backfill of a demo firm, requests vs the minimum, wall time vs the rate-limit
bound, ingest throughput with the network taken out, incremental cost vs number of changes.

    python -m bench.sync                        # 12 companies, scale 8 (a few minutes)
    python -m bench.sync --companies 500 --scale 1
    python -m bench.sync --firm500              # the same, spelled out
    python -m bench.sync --firm500 --firm-cache /tmp/firm500   # build once, reuse on later runs

Ratios are printed against baselines measured in the same run."""

from __future__ import annotations

import argparse
import math
import shutil
import sqlite3
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import orjson

from oodaloo.config import load_settings
from sandbox.demo.build import build_demo_firm
from sandbox.testing import api_client
from sandbox.transport import embedded_transport
from sync import store
from sync.engine import sync_all, sync_company
from sync.oauth import connect_sandbox_companies
from sync.schema import BY_QBO_NAME, ENTITIES
from sync.writer import writer_for

FIRM_FILES = (
    "sandbox.sqlite",
    "state.sqlite",
    ".secret.key",
)  # the built + connected firm, no warehouse

PER_SECOND, PER_MINUTE = 10.0, 500.0


def copy_file(src: Path, dst: Path) -> None:
    """SQLite files through the backup API (their WAL may hold committed pages), others as bytes."""
    if src.suffix != ".sqlite":
        shutil.copy2(src, dst)
        return
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)


def entity_counts(sandbox: Path) -> dict[str, dict[str, int]]:
    con = sqlite3.connect(sandbox)
    rows = con.execute(
        "SELECT realm_id, entity, count(*) FROM docs WHERE deleted = 0 GROUP BY 1, 2"
    ).fetchall()
    con.close()
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for realm, entity, n in rows:
        if entity in BY_QBO_NAME:
            out[realm][entity] = n
    return out


def minimum_requests(counts: dict[str, int]) -> tuple[int, int]:
    """(without batch, with batch) for a first sync: pages per entity (+1 CDC catch-up)."""
    pages = [max(1, math.ceil(counts.get(spec.qbo_name, 0) / 1000)) for spec in ENTITIES]
    return sum(pages) + 1, max(pages) + 1


def rate_bound(requests: int) -> float:
    """Seconds QBO's per-company limits allow for this many requests (10/s, 500/min)."""
    if requests <= PER_MINUTE:
        return requests / PER_SECOND
    return max(requests / PER_SECOND, (requests - PER_MINUTE) / PER_MINUTE * 60.0)


def ingest_throughput(sandbox: Path, work: Path) -> tuple[int, float, float, float]:
    """Rows per CPU-second parsed + stored from 1000-document JSON pages (no network), and an
    executemany baseline on a sample (CPU time: stable on a shared machine).
    Returns (rows, wall seconds, rows per CPU-s, baseline rows per CPU-s)."""
    con = sqlite3.connect(sandbox)
    docs = con.execute(
        "SELECT realm_id, entity, doc FROM docs WHERE deleted = 0 ORDER BY realm_id, entity, id"
    ).fetchall()
    con.close()
    pages: dict[tuple[str, str], list[list[str]]] = defaultdict(lambda: [[]])
    for realm, entity, doc in docs:
        if entity not in BY_QBO_NAME:
            continue
        bucket = pages[(realm, entity)]
        if len(bucket[-1]) == 1000:
            bucket.append([])
        bucket[-1].append(doc)
    blobs = [
        (realm, entity, ("[" + ",".join(page) + "]").encode())
        for (realm, entity), ps in pages.items()
        for page in ps
    ]
    wh = store.Warehouse(work / "ingest.duckdb")
    now = datetime.now(UTC)
    start, cpu = time.perf_counter(), time.process_time()
    rows = 0
    by_realm: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    for realm, entity, blob in blobs:
        by_realm[realm].append((entity, blob))
    for realm, items in by_realm.items():  # one write slice per company round, like the engine
        with wh.write() as w:
            w.begin()
            for entity, blob in items:
                parsed = orjson.loads(blob)
                rows += store.ingest_into(
                    w, realm, entity, parsed, run_id=1, ingested_at=now, source="bench"
                )
            w.commit()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    # baseline: executemany of the same typed rows into a plain table (a sample, it is slow)
    sample = [orjson.loads(d) for r, e, d in docs if e == "Invoice"][:2000]
    spec = BY_QBO_NAME["Invoice"]
    raw = duckdb.connect(str(work / "baseline.duckdb"))
    cols = [c.name for c in spec.columns]
    raw.execute(
        f"CREATE TABLE t (id VARCHAR, {', '.join(f'{c.name} {c.sql_type}' for c in spec.columns)}, raw VARCHAR)"
    )
    t0 = time.process_time()
    values = [[d["Id"], *[spec.row(d)[c] for c in cols], orjson.dumps(d).decode()] for d in sample]
    raw.executemany(
        f"INSERT INTO t VALUES ({', '.join('?' for _ in range(len(cols) + 2))})", values
    )
    baseline = len(sample) / (time.process_time() - t0)
    raw.close()
    return rows, seconds, rows / cpu_seconds, baseline


def incremental_cost(settings, realm: str, changes: int) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    """Edit ``changes`` invoices through the API, then one incremental sync: (requests, rows, seconds)."""
    if changes:
        with api_client(embedded_transport(settings.sandbox_path), realm) as api:
            body = api.post(
                "/query",
                content=b"SELECT * FROM Invoice MAXRESULTS 1000",
                headers={"Content-Type": "application/text"},
            ).json()["QueryResponse"]["Invoice"]
            for i, doc in enumerate(body[:changes]):
                for _ in range(50):
                    answer = api.post(
                        "/invoice",
                        json={
                            "Id": doc["Id"],
                            "SyncToken": doc["SyncToken"],
                            "sparse": True,
                            "PrivateNote": f"bench change {i}",
                        },
                    )
                    if answer.status_code != 429:
                        break
                    time.sleep(0.1)
    start = time.perf_counter()
    result = sync_company(settings, realm)
    return result.requests, result.rows, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=12)
    parser.add_argument("--scale", type=float, default=8.0)
    parser.add_argument("--firm500", action="store_true", help="500 companies at scale 1")
    parser.add_argument(
        "--changes", default="0,10,100", help="incremental sync cost for these numbers of changes"
    )
    parser.add_argument(
        "--firm-cache", type=Path, help="directory keeping the built, connected firm for later runs"
    )
    args = parser.parse_args(argv)
    if args.firm500:
        args.companies, args.scale = 500, 1.0
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    settings = load_settings(data_dir=work / "data", sync_concurrency=16)
    t0 = time.perf_counter()
    cache = args.firm_cache / f"c{args.companies}-s{args.scale:g}" if args.firm_cache else None
    if cache and all((cache / name).exists() for name in FIRM_FILES):
        settings.data_dir.mkdir(parents=True)
        for name in FIRM_FILES:
            copy_file(cache / name, settings.data_dir / name)
        from sync.connections import connected_realm_ids

        realms = connected_realm_ids(settings)
        print(f"firm reused from {cache}")
    else:
        build_demo_firm(
            settings.sandbox_path,
            seed=20261120,
            today=date(2026, 11, 20),
            companies=args.companies,
            scale=args.scale,
        )
        realms = connect_sandbox_companies(settings)
        if cache:
            cache.mkdir(parents=True, exist_ok=True)
            for name in FIRM_FILES:
                copy_file(settings.data_dir / name, cache / name)
    counts = entity_counts(settings.sandbox_path)
    total_rows = sum(sum(c.values()) for c in counts.values())
    print(
        f"firm: {len(realms)} companies, {total_rows:,} documents (built + connected in {time.perf_counter() - t0:.1f} s)"
    )

    start, cpu = time.perf_counter(), time.process_time()
    results = sync_all(settings, realms)
    wall, cpu_used = time.perf_counter() - start, time.process_time() - cpu
    assert all(r.outcome == "ok" for r in results), [r for r in results if r.outcome != "ok"][:3]
    used = sum(r.requests for r in results)
    no_batch = sum(minimum_requests(counts[r])[0] for r in realms)
    with_batch = sum(minimum_requests(counts[r])[1] for r in realms)
    bound = max(rate_bound(r.requests) for r in results)
    bound_firm = bound * math.ceil(len(realms) / settings.sync_concurrency)
    print(
        f"backfill: {used} requests; minimum {with_batch} with batch, {no_batch} one query per page "
        f"(ours / batch-minimum = {used / with_batch:.2f}, ours / no-batch-minimum = {used / no_batch:.2f})"
    )
    print(
        f"backfill wall: {wall:.1f} s for {total_rows:,} rows ({total_rows / wall:,.0f} rows/s); "
        f"rate-limit bound {bound_firm:.1f} s (wall / bound = {wall / max(bound_firm, 1e-9):.1f}); "
        f"CPU {cpu_used:.1f} s (sandbox included, in process)"
    )
    writer = writer_for(store.warehouse_for(settings))
    print(
        f"writer: {writer.units} units in {writer.transactions} transactions and {writer.slices} write slices; "
        f"busy {writer.busy_seconds:.1f} s of the {wall:.1f} s wall"
    )

    rows, seconds, rate, baseline = ingest_throughput(settings.sandbox_path, work)
    print(
        f"ingest without network: {rows:,} rows in {seconds:.2f} s wall; {rate:,.0f} rows per CPU-second parsed + stored "
        f"(executemany baseline {baseline:,.0f} rows per CPU-second; ratio {rate / baseline:.1f}x)"
    )

    realm = realms[0]
    for n in [int(x) for x in args.changes.split(",") if x.strip()]:
        requests, changed_rows, secs = incremental_cost(settings, realm, n)
        print(
            f"incremental after {n:>4} changes: {requests} requests, {changed_rows} new versions, {secs:.2f} s"
        )


if __name__ == "__main__":
    main()
