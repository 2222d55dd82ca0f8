"""``make bench``: run every area's benchmark in turn (each prints its own figures)."""

from __future__ import annotations

import importlib
import sys
import time

AREAS = ("demo", "sandbox", "sync", "runway", "tray", "actions", "ui", "digest", "backtest")


def main(argv: list[str]) -> int:
    chosen = argv or list(AREAS)
    unknown = [area for area in chosen if area not in AREAS]
    if unknown:
        print(f"unknown benchmark area(s): {', '.join(unknown)}; choose from {', '.join(AREAS)}")
        return 2
    for area in chosen:
        module = importlib.import_module(f"bench.{area}")
        print(f"\n=== bench {area} ===", flush=True)
        started = time.perf_counter()
        # each area runs with its own defaults: this command's arguments name areas, not options
        sys.argv = [f"bench.{area}"]
        module.main()
        print(f"=== {area} done in {time.perf_counter() - started:.1f} s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
