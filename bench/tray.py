"""Prep tray benchmark: ``runway.tray.prep_tray`` alone on the inputs the whole-firm recompute
hands it (the synthetic firm of ``bench.runway``: 500 companies, ~160k tray rows, ~50k re-runs),
timed apart from the other calculators, with the per-section share of rows carrying an effect.

    .venv/bin/python -m bench.tray [companies] [docs_per_company] [repeats]

CPU seconds (``process_time``) are printed beside wall time: steadier on a shared machine. Run
with ``POLARS_MAX_THREADS=1`` to compare single-threaded CPU cost between two versions."""

from __future__ import annotations

import sys
import time
from typing import Any
from unittest import mock

import polars as pl

import runway.pipeline as pipeline
from bench.runway import AS_OF, synthetic_firm
from runway.pipeline import CalculatorInputs, compute
from runway.snapshot import snapshot_from_frames
from runway.tray import prep_tray


def tray_inputs(companies: int, docs: int) -> tuple[Any, dict[str, Any]]:
    """The (tables, keyword arguments) the pipeline passes to ``prep_tray`` for the firm."""
    seen: list[tuple[Any, dict[str, Any]]] = []

    def keep(tables: Any, **kw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
        seen.append((tables, kw))
        return prep_tray(tables, **kw)

    snap = snapshot_from_frames(synthetic_firm(companies, docs))
    with mock.patch.object(pipeline, "prep_tray", keep):  # the pipeline's own call, recorded
        compute(CalculatorInputs(snap, AS_OF))
    return seen[0]


def main(argv: list[str] | None = None) -> dict[str, float]:
    argv = sys.argv[1:] if argv is None else argv
    companies = int(argv[0]) if argv else 500
    docs = int(argv[1]) if len(argv) > 1 else 2000
    repeats = int(argv[2]) if len(argv) > 2 else 3
    tables, kw = tray_inputs(companies, docs)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        tray, fx = prep_tray(tables, **kw)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(f"tray: {tray.height:,} rows, {fx.height:,} re-runs (base included)")
    shares = (
        tray.group_by("section")
        .agg(pl.len().alias("rows"), pl.col("effect_text").is_not_null().sum().alias("effect"))
        .sort("section")
    )
    for section, rows, effect in shares.iter_rows():
        print(f"  {section:<13} {rows:>7,} rows, {effect:>7,} with an effect")
    figures = {"prep_tray_s": min(walls), "prep_tray_cpu_s": min(cpus)}
    for key, value in figures.items():
        print(f"{key}: {value:.3f}")
    return figures


if __name__ == "__main__":
    main()
