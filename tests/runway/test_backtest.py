"""The backtest: its comparison arithmetic on a hand-computed company (actual balance rebuilt from
today's, naive baseline, error as a share of a month's outflows, P90 calibration, breaches), the
command line, and the same figures for the same generator seed."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import orjson
import polars as pl
import pytest

from oodaloo.config import load_settings
from runway.backtest import backtest_json, backtest_report, daily_bank, fridays_before, run_backtest
from tests.runway.conftest import AS_OF
from tests.runway.factory import Company, snapshot

FRIDAY = AS_OF - timedelta(days=7)  # 2026-11-13, the one Friday with a whole week after it


@dataclass(frozen=True)
class FakeView:
    """Only what the comparison reads from a forecast: weekly lines and the reserve."""

    forecast: pl.DataFrame
    runway: pl.DataFrame


def _company() -> Company:
    """Bank 10,000 today. In the 13 weeks up to the Friday: 13 checks of 1,300 (on the Friday and
    every 7 days before it) and a 3,900 customer payment; after it one 1,000 check on 11-16."""
    c = Company("r-bt")
    bank = c.bank(10000)
    client = c.customer("Client")
    for k in range(13):
        c.put(
            "Purchase",
            {
                "PaymentType": "Check",
                "AccountRef": {"value": bank},
                "TxnDate": (FRIDAY - timedelta(days=7 * k)).isoformat(),
                "TotalAmt": "1300",
            },
        )
    c.payment(
        client, FRIDAY - timedelta(days=45), {}, unapplied=3900, DepositToAccountRef={"value": bank}
    )
    c.put(
        "Purchase",
        {
            "PaymentType": "Check",
            "AccountRef": {"value": bank},
            "TxnDate": date(2026, 11, 16).isoformat(),
            "TotalAmt": "1000",
        },
    )
    return c


def test_comparison_arithmetic_by_hand() -> None:
    """End of the Friday: 10,000 + 1,000 = 11,000; 13 weeks before: 11,000 − (3,900 − 16,900) =
    24,000 → naive week 1 = 11,000 − 13,000 / 13 = 10,000 = the actual at 11-19 (error 0). A
    month's outflows: 16,900 / 3. A P50 line at 12,000 errs by 2,000 → 0.355; the actual 10,000
    is above a 9,000 P90 line. Reserve 10,500: the actual fell to 10,000 on 11-16 (happened) while
    the P50 low of 10,800 did not predict it."""
    snap = snapshot(_company())
    bank = daily_bank(snap, FRIDAY - timedelta(days=91), AS_OF)
    at = dict(zip(bank["day"].to_list(), bank["balance"].to_list(), strict=True))
    assert at[FRIDAY] == 11000 and at[FRIDAY - timedelta(days=91)] == 24000
    assert at[date(2026, 11, 19)] == 10000

    def forecaster(books, as_of):  # type: ignore[no-untyped-def]
        assert as_of == FRIDAY and books["purchase"]["txn_date"].max() <= FRIDAY
        weeks = pl.DataFrame(
            {
                "realm_id": ["r-bt", "r-bt"],
                "line": ["p50", "p90"],
                "week": [0, 0],
                "week_end": [FRIDAY + timedelta(days=6)] * 2,
                "closing": [12000.0, 9000.0],
                "low": [10800.0, 9000.0],
            },
            schema_overrides={"week": pl.Int32},
        )
        return FakeView(weeks, pl.DataFrame({"realm_id": ["r-bt"], "reserve": [10500.0]}))

    result = run_backtest(snap, AS_OF, weeks=1, forecaster=forecaster)
    assert result.fridays == [FRIDAY]
    row = result.weeks.row(0, named=True)
    month = 16900 / 3
    assert row["horizon"] == 1 and row["actual"] == 10000 and row["naive"] == 10000
    assert row["err_p50"] == pytest.approx(2000 / month) and row["err_naive"] == 0
    assert row["above_p90"] and row["breach_happened"] and not row["breach_predicted"]
    overall = result.summary.filter(pl.col("realm_id") == "ALL").row(0, named=True)
    assert overall["p90_calibration"] == 1.0 and overall["weeks_compared"] == 1


def test_fridays_have_a_whole_week_after_them() -> None:
    fridays = fridays_before(AS_OF, 26)
    assert (
        len(fridays) == 26 and fridays[-1] == FRIDAY and fridays[0] == FRIDAY - timedelta(weeks=25)
    )
    assert {f.weekday() for f in fridays} == {4}
    assert fridays_before(date(2026, 11, 23), 1) == [FRIDAY]  # a Monday: last Friday ≥ 7 days back


def _demo(data_dir: Path, seed: int):  # type: ignore[no-untyped-def]
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    data_dir.mkdir(parents=True)
    settings = load_settings(data_dir=data_dir)
    build_demo_firm(
        settings.sandbox_path, seed=seed, today=settings.demo_today, companies=2, scale=0.3
    )
    connect_sandbox_companies(settings)
    sync_all(settings)
    return settings


def test_backtest_is_reproducible_for_a_seed(tmp_path: Path) -> None:
    first, second = _demo(tmp_path / "a", 11), _demo(tmp_path / "b", 11)
    runs = []
    for settings in (first, second):
        result, names = backtest_report(settings, settings.demo_today, weeks=6)
        runs.append(backtest_json(result, names))
    assert runs[0] == runs[1]
    assert len(runs[0]["companies"]) == 3  # two companies and the overall row
    assert runs[0]["companies"][-1]["weeks_compared"] > 0


def test_backtest_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from runway.cli import handle_backtest

    settings = _demo(tmp_path / "c", 11)
    realm = load_snapshot_realm(settings)
    args = argparse.Namespace(company=realm, weeks=4, json=True)
    assert handle_backtest(args, settings) == 0
    payload = orjson.loads(capsys.readouterr().out)
    assert [c["realm_id"] for c in payload["companies"]] == [realm, "ALL"]
    week4 = payload["companies"][-1]["error_share_of_month_outflows"]["week_4"]
    assert set(week4) == {"forecast_p50", "naive", "ratio"}
    args = argparse.Namespace(company="no-such-company", weeks=4, json=False)
    assert handle_backtest(args, settings) == 1
    assert "no-such-company" in capsys.readouterr().err


def load_snapshot_realm(settings) -> str:  # type: ignore[no-untyped-def]
    from runway.snapshot import load_snapshot

    return load_snapshot(settings).realm_ids[0]
