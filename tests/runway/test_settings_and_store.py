"""Company settings and bill plans in state.sqlite; snapshots from a real DuckDB store; the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from oodaloo.cli import main
from runway import api
from runway.settings import (
    SettingsError,
    get_company_settings,
    planned_pay_dates,
    save_company_settings,
    set_planned_pay_date,
)
from runway.snapshot import load_snapshot
from tests.runway.conftest import AS_OF, agency_example
from tests.runway.factory import ts, write_warehouse

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)


def test_settings_round_trip_partial_update_and_clear_errors(settings) -> None:
    assert get_company_settings(settings, "r1").reminder_cooldown_days == 7
    save_company_settings(
        settings, "r1", {"reserve": "40000", "digest_recipients": ["owner@agency.test"]}
    )
    saved = save_company_settings(settings, "r1", delay_tolerance_days=21)
    assert saved.reserve == Decimal("40000") and saved.delay_tolerance_days == 21
    assert get_company_settings(settings, "r1").digest_recipients == ["owner@agency.test"]
    with pytest.raises(SettingsError, match="digest_recipients.*not e-mail"):
        save_company_settings(settings, "r1", digest_recipients=["nope"])
    with pytest.raises(SettingsError, match="time_zone"):
        save_company_settings(settings, "r1", time_zone="Mars/Base")
    with pytest.raises(SettingsError, match="payroll_cadence"):
        save_company_settings(settings, "r1", payroll_cadence="fortnightly")
    with pytest.raises(SettingsError, match="reserve"):
        save_company_settings(settings, "r1", reserve="-1")


def test_bill_plans(settings) -> None:
    set_planned_pay_date(settings, "r1", "55", date(2026, 12, 4), "waiting for client payment")
    set_planned_pay_date(settings, "r1", "55", date(2026, 12, 11), "moved again")
    frame = planned_pay_dates(settings)
    assert frame.to_dicts() == [
        {
            "realm_id": "r1",
            "bill_id": "55",
            "planned_date": date(2026, 12, 11),
            "note": "moved again",
        }
    ]
    with pytest.raises(SettingsError, match="planned_date"):
        set_planned_pay_date(settings, "r1", "55", "someday", "")  # type: ignore[arg-type]


def _edited_store(settings):
    """A store whose history changes after AS_OF: the big invoice gets paid and a bill is
    deleted."""
    c = agency_example()
    vendor = c.vendor("Printer Co")
    doomed = c.bill(vendor, AS_OF - timedelta(days=5), AS_OF + timedelta(days=5), 2500)
    big = [
        v["doc"]["Id"]
        for v in c.versions
        if v["entity"] == "Invoice" and v["doc"]["TotalAmt"] == "90000"
    ][0]
    later = AS_OF + timedelta(days=3)
    c.pay_invoice(big, later)
    c.delete("Bill", doomed, ts(later))
    write_warehouse(settings.warehouse_path, [c], sync_status=NOW)
    return c, big, doomed


def test_historical_snapshot_reproduces_the_figures_of_that_date(settings) -> None:
    c, big, doomed = _edited_store(settings)
    then = load_snapshot(settings, at=api.end_of_day(AS_OF))
    current = load_snapshot(settings)
    assert big in then["invoice"].filter(pl.col("balance") > 0)["id"].to_list()
    assert big not in current["invoice"].filter(pl.col("balance") > 0)["id"].to_list()
    assert doomed in then["bill"]["id"].to_list() and doomed not in current["bill"]["id"].to_list()
    assert current.deleted.filter(pl.col("entity") == "bill")["id"].to_list() == [doomed]
    ingest = load_snapshot(settings, at=api.end_of_day(AS_OF), basis="ingest")
    assert then["invoice"].sort("id").equals(ingest["invoice"].sort("id"))
    past = api.firm_view(settings, AS_OF, then, previous=None)
    ar = past.aging_ar.totals.row(0, named=True)
    ap = past.aging_ap.totals.row(0, named=True)
    assert ar["total"] == Decimal("90000.00") and ap["total"] == Decimal("14500.00")


def test_cli_reports_json(settings, capsys) -> None:
    """A past --as-of reads the historical snapshot: the invoice paid on 11-23 is still open on
    11-20."""
    from sandbox.state import SandboxDB

    SandboxDB(settings.sandbox_path).set_clock(
        datetime(2026, 11, 27, 14, tzinfo=UTC)
    )  # the product's "now"
    _edited_store(settings)
    save_company_settings(settings, "r-agency", reserve="40000")
    assert (
        main(
            [
                "--data-dir",
                str(settings.data_dir),
                "report",
                "runway",
                "--company",
                "r-agency",
                "--as-of",
                "2026-11-20",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert (
        out["as_of"] == "2026-11-20"
        and out["reserve"] == "40000.00"
        and out["breach_date"] == "2026-12-15"
    )
    assert {"cash", "runway_weeks", "simple_runway_weeks"} <= set(out)
    assert (
        main(
            [
                "--data-dir",
                str(settings.data_dir),
                "report",
                "aging-ar",
                "--company",
                "r-agency",
                "--as-of",
                "2026-11-20",
                "--json",
            ]
        )
        == 0
    )
    aging = json.loads(capsys.readouterr().out)
    assert aging["buckets"] == {
        "current": "90000.00",
        "1-30": "0.00",
        "31-60": "0.00",
        "61-90": "0.00",
        "91+": "0.00",
    }
    assert aging["total"] == "90000.00" and aging["unapplied"] == "0.00"
    assert (
        main(
            [
                "--data-dir",
                str(settings.data_dir),
                "report",
                "payroll",
                "--company",
                "r-agency",
                "--as-of",
                "2026-11-20",
                "--json",
            ]
        )
        == 0
    )
    pay = json.loads(capsys.readouterr().out)
    assert [p["status"] for p in pay["payrolls"]] == ["green", "amber", "green"] and pay[
        "payrolls_covered"
    ] == 3
    assert (
        main(
            [
                "--data-dir",
                str(settings.data_dir),
                "report",
                "firm",
                "--as-of",
                "2026-11-20",
                "--json",
            ]
        )
        == 0
    )
    firm = json.loads(capsys.readouterr().out)
    assert firm[0]["realm_id"] == "r-agency" and firm[0]["payroll_status"] == "green"
    for kind in api.REPORT_KINDS:
        assert (
            main(
                [
                    "--data-dir",
                    str(settings.data_dir),
                    "report",
                    kind,
                    "--company",
                    "r-agency",
                    "--as-of",
                    "2026-11-20",
                ]
            )
            == 0
        )
    capsys.readouterr()
    assert (
        main(
            [
                "--data-dir",
                str(settings.data_dir),
                "report",
                "cash",
                "--company",
                "nope",
                "--as-of",
                "2026-11-20",
            ]
        )
        == 1
    )
    assert "not in the store" in capsys.readouterr().err
