"""Digest benchmark: time to make the firm digest of a demo firm, and one company's digest (the
baseline measured in the same run). Usage: ``python -m bench.digest [--companies 20]``."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from oodaloo.config import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--companies", type=int, default=20)
    args = parser.parse_args(argv)

    from digest.make import FIRM, company_directory, make_digest
    from digest.weeks import IsoWeek
    from oodaloo import clock
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp))
        started = time.perf_counter()
        build_demo_firm(
            settings.sandbox_path,
            seed=settings.demo_seed,
            today=settings.demo_today,
            companies=args.companies,
        )
        connect_sandbox_companies(settings)
        sync_all(settings)
        print(
            f"setup: {args.companies} companies built and synced in "
            f"{time.perf_counter() - started:.1f} s"
        )
        now, week = clock.now(settings), IsoWeek.of(clock.today(settings))
        realms = sorted(company_directory(settings))
        make_digest(
            settings, realms[0], week, now=now, store=False
        )  # warm-up (vl-convert, imports)
        timings = []
        for realm in realms[:5]:
            t0 = time.perf_counter()
            produced = make_digest(settings, realm, week, now=now, store=False)
            timings.append(time.perf_counter() - t0)
        per_company = sorted(timings)[len(timings) // 2]
        print(
            f"company digest: median {per_company:.2f} s over {len(timings)} companies "
            f"({produced.pages} pages)"
        )
        t0 = time.perf_counter()
        firm = make_digest(settings, FIRM, week, now=now, store=False)
        firm_seconds = time.perf_counter() - t0
        print(
            f"firm digest: {firm_seconds:.2f} s for {len(realms)} companies, {firm.pages} pages, "
            f"{len(firm.pdf) / 1e6:.1f} MB; {firm_seconds / len(realms):.2f} s per company "
            f"= {firm_seconds / len(realms) / per_company:.2f}x the single-company baseline"
        )


if __name__ == "__main__":
    main()
