"""Forecast backtest on the demo firm for several generator seeds: forecasts as of every Friday of
the last 26 weeks, from the point-in-time books of a firm synced once today, against the real
bank balance and a naive baseline measured in the same run (see runway/backtest.py).

    .venv/bin/python -m bench.backtest [seed ...]      (default: three seeds)

Aims (issue 12): week-4 median error ≤ 0.5 × the naive baseline's, week 12 ≤ 0.7 ×, the actual
balance at or above the P90 line in ≥ 85% of weeks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from runway.backtest import HORIZONS, backtest_json, backtest_report, backtest_text

if TYPE_CHECKING:
    from oodaloo.config import Settings

SEEDS = (20261120, 7, 42)
WEEKS = 26


def synced_demo_firm(data_dir: Path, seed: int) -> Settings:
    """The 12-company demo firm built in ``data_dir`` and synced once, as a new user would."""
    from oodaloo.config import load_settings
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    settings = load_settings(data_dir=data_dir)
    build_demo_firm(settings.sandbox_path, seed=seed, today=settings.demo_today, companies=12)
    connect_sandbox_companies(settings)
    sync_all(settings)
    return settings


def main(argv: list[str] | None = None) -> None:
    seeds = [int(a) for a in argv or []] or list(SEEDS)
    overall = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix=f"oodaloo-backtest-{seed}-") as tmp:
            started = time.perf_counter()
            settings = synced_demo_firm(Path(tmp), seed)
            built = time.perf_counter() - started
            result, names = backtest_report(settings, settings.demo_today, WEEKS)
            payload = backtest_json(result, names)
            ran = time.perf_counter() - started - built
        print(
            f"\n--- seed {seed} (demo firm built and synced in {built:.1f} s, backtest {ran:.1f} s)"
        )
        print(backtest_text(payload))
        overall.append((seed, payload["companies"][-1]))
    print("\nSummary (all companies of each seed; median error as a share of a month's outflows):")
    print(
        f"{'seed':>10} "
        + " ".join(f"{'w' + str(h) + ' ratio':>9}" for h in HORIZONS)
        + "  P90 calib"
    )
    for seed, row in overall:
        errs = row["error_share_of_month_outflows"]
        ratios = " ".join(f"{errs[f'week_{h}']['ratio']:>9.2f}" for h in HORIZONS)
        print(f"{seed:>10} {ratios}  {row['p90_calibration']:>9.0%}")
    ok = all(
        r["error_share_of_month_outflows"]["week_4"]["ratio"] <= 0.5
        and r["error_share_of_month_outflows"]["week_12"]["ratio"] <= 0.7
        and r["p90_calibration"] >= 0.85
        for _, r in overall
    )
    print(f"aims (w4 ≤ 0.5, w12 ≤ 0.7, P90 ≥ 85%): {'met' if ok else 'NOT met'} for every seed")


if __name__ == "__main__":
    main(sys.argv[1:])
