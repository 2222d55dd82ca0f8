"""Demo-firm build times and sizes: the pure generator (baseline, no database) against the full
build into a sandbox file, for the 12-company demo and optionally a large scale firm.

    python -m bench.demo [--companies 12] [--scale 1]
                         [--big-companies 500 --big-scale 10] [--keep DIR]

Prints documents, file size, seconds, documents per second and the build/generate ratio measured
in the same run. Figures are copied by hand into docs/benchmarks.md under "## demo".
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

SEED = 20261120
TODAY = date(2026, 11, 20)


def generate_only(companies: int, scale: float) -> tuple[int, float]:
    """Baseline: every company generated in memory and dropped (no JSON, no SQLite)."""
    from sandbox.demo import firm_profiles, generate_company

    started = time.perf_counter()
    docs = 0
    for profile in firm_profiles(SEED, companies):
        docs += sum(len(items) for items in generate_company(profile, SEED, TODAY, scale).values())
    return docs, time.perf_counter() - started


def full_build(directory: Path, companies: int, scale: float) -> tuple[int, float, int]:
    """The real thing: build_demo_firm into a fresh sandbox file. Returns (docs, seconds, bytes)."""
    from sandbox.demo import build_demo_firm

    path = directory / f"sandbox-{companies}x{scale:g}.sqlite"
    counted = [0]

    def progress(done: int, total: int, docs: int) -> None:
        counted[0] += docs
        if total >= 50 and done % 50 == 0:
            print(f"  {done}/{total} companies, {counted[0]:,} documents", flush=True)

    started = time.perf_counter()
    build_demo_firm(
        path, seed=SEED, today=TODAY, companies=companies, scale=scale, progress=progress
    )
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in directory.glob(path.name + "*"))
    return counted[0], seconds, size


def report(
    label: str, companies: int, scale: float, directory: Path, baseline: bool = True
) -> None:
    built_docs, build_seconds, size = full_build(directory, companies, scale)
    line = (
        f"{label}: {companies} companies x scale {scale:g}: {built_docs:,} documents, "
        f"file {size / 1e6:,.1f} MB; "
        f"build {build_seconds:.2f} s ({built_docs / build_seconds:,.0f} docs/s)"
    )
    if baseline:
        docs, gen_seconds = generate_only(companies, scale)
        assert built_docs == docs, (built_docs, docs)
        line += (
            f"; generate only {gen_seconds:.2f} s ({docs / gen_seconds:,.0f} docs/s), "
            f"build/generate = {build_seconds / gen_seconds:.2f}x"
        )
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=12)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--big-companies", type=int, default=0, help="also build a scale firm (e.g. 500)"
    )
    parser.add_argument("--big-scale", type=float, default=10.0)
    parser.add_argument(
        "--big-baseline", action="store_true", help="also time generation alone for the big firm"
    )
    parser.add_argument(
        "--keep", type=Path, help="build into this directory instead of a temporary one"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="oodaloo-bench-demo-") as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        report("demo", args.companies, args.scale, directory)
        if args.big_companies:
            report("scale firm", args.big_companies, args.big_scale, directory, args.big_baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
