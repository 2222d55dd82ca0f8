"""The pipeline's calculator threads at interpreter shutdown: it computes serially instead of
raising "cannot schedule new futures after interpreter shutdown" (a digest job running while a
console or scheduler process exits)."""

from __future__ import annotations

import concurrent.futures.thread as cf_thread

import pytest

from runway.pipeline import CalculatorPool
from tests.runway.conftest import agency_example
from tests.runway.test_forecast import run


def test_compute_at_interpreter_shutdown_runs_serially_with_the_same_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    normal = run(agency_example(), reserve={"r-agency": "40000"})
    monkeypatch.setattr(cf_thread, "_shutdown", True)  # what threading's atexit hook sets on exit
    with pytest.raises(RuntimeError, match="interpreter shutdown"):
        cf_thread.ThreadPoolExecutor(1).submit(int)
    late = run(agency_example(), reserve={"r-agency": "40000"})
    for name in ("forecast", "runway", "payroll", "tray", "firm"):
        assert getattr(late, name).equals(getattr(normal, name)), name


def test_pool_delivers_errors_through_result_when_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cf_thread, "_shutdown", True)
    with CalculatorPool(2) as pool:
        assert pool.submit(sum, [1, 2]).result() == 3
        failing = pool.submit(int, "x")
        with pytest.raises(ValueError, match="invalid literal"):
            failing.result()
