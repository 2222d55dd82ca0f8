"""Against the real thing: the demo firm in the sandbox, synced by sync.engine into the store.

* our A/R and A/P aging equals the sandbox's AgedReceivables / AgedPayables for every company and
  several as-of dates;
* a snapshot of a past time reproduces the figures computed at that time, after edits were made in
  the sandbox and synced.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from oodaloo.config import Settings, load_settings
from runway import api
from runway.aging import BUCKET_COLUMNS, Aging
from runway.snapshot import load_snapshot

COMPANIES = 3
SCALE = 0.3


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    data_dir = Path(tmp_path_factory.mktemp("runway-demo")) / "data"
    data_dir.mkdir()
    settings = load_settings(data_dir=data_dir)
    build_demo_firm(
        settings.sandbox_path,
        seed=settings.demo_seed,
        today=settings.demo_today,
        companies=COMPANIES,
        scale=SCALE,
    )
    connect_sandbox_companies(settings)
    sync_all(settings)
    return settings


def _client(settings: Settings):
    from oodaloo.wiring import qbo_transport
    from sync.client import QBOClient

    return QBOClient(settings, transport=qbo_transport(settings))


def qbo_aging_totals(settings: Settings, realm_id: str, report: str, as_of: date) -> list[Decimal]:
    """The GrandTotal row of the sandbox's aging report: Current, 1-30, 31-60, 61-90, 91+, Total."""
    body = _client(settings).report(realm_id, report, report_date=as_of.isoformat())
    total = [row for row in body["Rows"]["Row"] if row.get("group") == "GrandTotal"][0]
    return [Decimal(cell["value"] or "0") for cell in total["Summary"]["ColData"][1:]]


def our_totals(side: Aging | pl.DataFrame, realm_id: str) -> list[Decimal]:
    """Bucket totals in the home currency (each document converted with its ExchangeRate, to
    cents), as QuickBooks' own aging reports show them: open documents, and (given the whole
    ``Aging``) open credits and unapplied payments as negative amounts."""
    if isinstance(side, Aging):
        credits = side.credits.select(
            "realm_id", "bucket", (-pl.col("amount")).cast(pl.Decimal(18, 2)).alias("balance")
        )
        detail = pl.concat([side.detail.select("realm_id", "bucket", "balance"), credits])
    else:
        detail = side
    rows = detail.filter(pl.col("realm_id") == realm_id)
    sums = [
        sum(rows.filter(pl.col("bucket") == label)["balance"].to_list(), Decimal(0))
        for label in BUCKET_COLUMNS
    ]
    return [*sums, sum(sums, Decimal(0))]


def test_aging_ties_out_to_the_sandbox_reports(demo: Settings) -> None:
    snap = load_snapshot(demo)
    assert len(snap.realm_ids) == COMPANIES
    today = demo.demo_today
    foreign = 0
    for as_of in (today, today - timedelta(days=17), today - timedelta(days=51), date(2026, 9, 30)):
        view = api.firm_view(demo, as_of, snap, previous=None)
        for realm in snap.realm_ids:
            assert our_totals(view.aging_ar, realm) == qbo_aging_totals(
                demo, realm, "AgedReceivables", as_of
            ), (realm, as_of)
            assert our_totals(view.aging_ap, realm) == qbo_aging_totals(
                demo, realm, "AgedPayables", as_of
            ), (realm, as_of)
        assert view.aging_ar.totals["total"].sum() > 0
        foreign += view.aging_ar.detail.filter(
            pl.col("balance") != pl.col("balance_foreign")
        ).height
    assert foreign > 0  # the CAD client's invoices are among them, so the conversion is exercised


def test_past_snapshot_reproduces_figures_after_edits(demo: Settings) -> None:
    from sandbox.state import SandboxDB
    from sync.engine import sync_company

    sandbox = SandboxDB(demo.sandbox_path)
    today = demo.demo_today
    snap = load_snapshot(demo)
    before_view = api.firm_view(demo, today, snap, previous=None)
    before = before_view.aging_ar.totals.sort("realm_id")
    before_runway = before_view.runway.select("realm_id", "cash", "breach_date").sort("realm_id")
    then = sandbox.advance_clock(3600)

    realm = snap.realm_ids[0]
    invoice = (
        before_view.aging_ar.detail.filter(
            (pl.col("realm_id") == realm) & (pl.col("currency") == "USD")
        )
        .sort("balance")
        .row(-1, named=True)
    )
    client = _client(demo)
    sandbox.advance_clock(3600)
    client.create(
        realm,
        "Payment",
        {
            "CustomerRef": {"value": invoice["party_id"]},
            "TotalAmt": str(invoice["balance"]),
            "TxnDate": today.isoformat(),
            "Line": [
                {
                    "Amount": str(invoice["balance"]),
                    "LinkedTxn": [{"TxnId": invoice["doc_id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    sync_company(demo, realm, "incremental")

    after = api.firm_view(demo, today, load_snapshot(demo), previous=None).aging_ar.totals.sort(
        "realm_id"
    )
    changed = after.filter(pl.col("realm_id") == realm)["total"][0]
    assert changed == before.filter(pl.col("realm_id") == realm)["total"][0] - invoice["balance"]

    past_snap = load_snapshot(demo, at=then)
    past = api.firm_view(demo, today, past_snap, previous=None)
    assert past.aging_ar.totals.sort("realm_id").equals(before)
    assert (
        past.runway.select("realm_id", "cash", "breach_date").sort("realm_id").equals(before_runway)
    )


def _frames(view: object) -> dict[str, pl.DataFrame]:
    """Every frame of a FirmView by name (an aging's frames as ``aging_ar.detail`` …)."""
    from dataclasses import fields, is_dataclass

    out: dict[str, pl.DataFrame] = {}
    for f in fields(view):  # type: ignore[arg-type]  # views and agings are dataclass instances
        value = getattr(view, f.name)
        if isinstance(value, pl.DataFrame):
            out[f.name] = value
        elif is_dataclass(value):
            out.update({f"{f.name}.{k}": v for k, v in _frames(value).items()})
    return out


def test_a_tray_drawn_in_parts_equals_one_piece(demo: Settings) -> None:
    """A large firm's tray is drawn in groups of companies side by side: every frame, in its
    order, equals the one-piece figures (forced here on the demo's few companies)."""
    from runway import pipeline
    from runway.pipeline import CalculatorInputs, compute

    snap = load_snapshot(demo)
    assert len(snap.realm_ids) == COMPANIES
    inputs = CalculatorInputs(snap, demo.demo_today)
    whole = _frames(compute(inputs))
    assert whole["tray"].height and whole["tray_effects"].height
    for parts in (2, COMPANIES):
        with (
            mock.patch.object(pipeline, "TRAY_PART_MIN_COMPANIES", 1),
            mock.patch.object(pipeline, "TRAY_PARTS", parts),
        ):
            split = _frames(compute(inputs))
        assert split.keys() == whole.keys()
        for name, frame in whole.items():
            assert_frame_equal(split[name], frame), name
