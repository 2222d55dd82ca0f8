"""End to end over the real demo firm: sandbox -> OAuth -> sync -> runway -> digest. Figures in
the PDF equal the calculators' for that week; charts are embedded; page counts are sane; a past
week regenerates with the same numbers after the books changed and were synced again."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader

from digest import fmt, ledger
from digest.make import FIRM, company_directory, digest_paths, latest_known, make_digest
from digest.weeks import IsoWeek
from oodaloo import clock
from oodaloo.config import Settings, load_settings

COMPANIES = 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    data_dir = tmp_path_factory.mktemp("digest-demo")
    settings = load_settings(data_dir=data_dir)
    build_demo_firm(
        settings.sandbox_path,
        seed=settings.demo_seed,
        today=settings.demo_today,
        companies=COMPANIES,
    )
    connect_sandbox_companies(settings)
    sync_all(settings)
    yield settings


@pytest.fixture(autouse=True)
def demo_env(demo: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OODALOO_DATA_DIR", str(demo.data_dir))


def flat(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


def calculators(settings: Settings, realm_id: str, week: IsoWeek, data_as_of) -> object:
    """The runway results for the digest's snapshot, computed independently of the digest."""
    from runway.api import firm_view
    from runway.settings import get_company_settings
    from runway.snapshot import load_snapshot

    snapshot = load_snapshot(settings, [realm_id], at=data_as_of, basis="ingest")
    previous = load_snapshot(
        settings, [realm_id], at=data_as_of - timedelta(days=7), basis="ingest"
    )
    return firm_view(settings, week.friday, snapshot, previous=previous).company(
        realm_id, get_company_settings(settings, realm_id)
    )


def test_company_digests_show_the_calculators_figures(demo: Settings) -> None:
    now = clock.now(demo)
    week = IsoWeek.of(clock.today(demo))
    directory = company_directory(demo)
    assert len(directory) == COMPANIES
    for realm_id in directory:
        produced = make_digest(demo, realm_id, week, now=now)
        reader, text = flat(produced.pdf)
        assert 2 <= len(reader.pages) == produced.pages <= 6
        assert len(reader.pages[0].images) == 1  # the 13-week chart
        view = calculators(demo, realm_id, week, produced.data_as_of)
        runway = view.runway.row(0, named=True)
        kpis = {k["key"]: k for k in produced.manifest["kpis"]}
        assert Decimal(kpis["cash"]["value"]) == runway["cash"]
        assert fmt.money(runway["cash"]) in text
        assert fmt.weeks(kpis["runway_weeks"]["value"]) in text
        totals = view.aging_ar.totals.row(0, named=True)
        assert Decimal(kpis["overdue_ar"]["value"]) == totals["total"] - totals["current"]
        assert fmt.money(totals["total"]) in text  # the A/R aging "All" row
        chase = view.tray.filter(pl.col("section") == "chase").sort("rank")
        for row in chase.head(3).iter_rows(named=True):
            assert row["party_name"] in text and fmt.money(row["amount"]) in text
        if not view.payroll.is_empty():
            first = view.payroll.sort("seq").row(0, named=True)
            assert fmt.money(first["amount"]) in text and fmt.day(first["date"]) in text
        assert directory[realm_id]["name"] in text and f"Week {week}" in text
        pdf_path, json_path = digest_paths(demo, week, realm_id)
        assert pdf_path.read_bytes() == produced.pdf and json_path.exists()


def test_firm_digest_rolls_up_every_company_exceptions_first(demo: Settings) -> None:
    from runway.api import firm_table

    now = clock.now(demo)
    week = IsoWeek.of(clock.today(demo))
    produced = make_digest(demo, FIRM, week, now=now)
    reader, text = flat(produced.pdf)
    names = [c["company_name"] for c in produced.manifest["companies"]]
    assert len(names) == COMPANIES and len(reader.pages) == produced.pages >= 1 + 2 * COMPANIES
    first_page = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert all(name in first_page for name in names)
    assert sum(len(p.images) for p in reader.pages) == COMPANIES
    from runway.snapshot import load_snapshot

    expected = firm_table(
        demo, week.friday, load_snapshot(demo, at=produced.data_as_of, basis="ingest")
    )
    assert names == expected["company_name"].to_list()
    assert [r["cash"] for r in produced.manifest["rollup"]["rows"]] == [
        str(c) for c in expected["cash"].to_list()
    ]


def test_past_week_regenerates_with_the_same_numbers_after_the_books_change(demo: Settings) -> None:
    from sandbox.state import SandboxDB
    from sync.client import QBOClient
    from sync.engine import sync_all

    realm_id = next(
        r for r, info in company_directory(demo).items() if info["time_zone"] == "America/New_York"
    )
    now = clock.now(demo)
    week = IsoWeek.of(clock.today(demo))
    first = make_digest(demo, realm_id, week, now=now)
    assert ledger.record(demo, realm_id, str(week)).status == ledger.MADE
    # the books change a day later: the biggest open invoice is recorded as paid on Friday; we sync
    view = calculators(demo, realm_id, week, first.data_as_of)
    invoice = view.aging_ar.detail.sort("balance", descending=True).row(0, named=True)
    db = SandboxDB(demo.sandbox_path)
    db.advance_clock(24 * 3600)
    with QBOClient(demo) as client:
        client.create(
            realm_id,
            "Payment",
            {
                "CustomerRef": {"value": invoice["party_id"]},
                "TotalAmt": str(invoice["balance"]),
                # dated in the digest's week: it would change its figures
                "TxnDate": week.friday.isoformat(),
                "Line": [
                    {
                        "Amount": str(invoice["balance"]),
                        "LinkedTxn": [{"TxnId": invoice["doc_id"], "TxnType": "Invoice"}],
                    }
                ],
            },
            requestid=uuid.uuid4().hex,
        )
    sync_all(demo, [realm_id])
    later = clock.now(demo)
    current = calculators(
        demo, realm_id, week, latest_known(demo, [realm_id], later)
    ).aging_ar.totals.row(0, named=True)
    assert (
        current["total"] != view.aging_ar.totals.row(0, named=True)["total"]
    )  # the change is visible now
    again = make_digest(demo, realm_id, week, now=later)
    assert again.data_as_of == first.data_as_of
    assert again.manifest == first.manifest
    assert again.pdf == first.pdf  # byte for byte: nothing of the wall clock is drawn


def test_cli_writes_the_pdf_and_its_manifest(
    demo: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oodaloo.cli import main

    realm_id = sorted(company_directory(demo))[0]
    out = tmp_path / "out" / "digest.pdf"
    assert (
        main(["--data-dir", str(demo.data_dir), "digest", "--company", realm_id, "--out", str(out)])
        == 0
    )
    assert out.read_bytes().startswith(b"%PDF") and out.with_suffix(".json").exists()
    assert "Wrote" in capsys.readouterr().out
    assert (
        main(
            [
                "--data-dir",
                str(demo.data_dir),
                "digest",
                "--firm",
                "--week",
                "2026-47",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "2026-W47" in capsys.readouterr().err
    assert (
        main(
            [
                "--data-dir",
                str(demo.data_dir),
                "digest",
                "--company",
                realm_id,
                "--out",
                str(out),
                "--email",
            ]
        )
        == 1
    )
    assert "OODALOO_SMTP_HOST" in capsys.readouterr().err


def test_a_foreign_bank_account_is_converted_and_said_so_in_the_pdf(demo: Settings) -> None:
    """Brightline's CAD account: the PDF names it, its native balance and the rate, and the cash
    figure includes it — recomputed here from QuickBooks' own Account and ExchangeRate answers,
    not from the calculators."""
    from sync.client import QBOClient

    now = clock.now(demo)
    week = IsoWeek.of(clock.today(demo))
    seen_foreign = 0
    with QBOClient(demo) as client:
        for realm_id in company_directory(demo):
            home = "USD"
            banks = client.query(realm_id, "SELECT * FROM Account WHERE AccountType = 'Bank'")
            foreign = [b for b in banks if (b.get("CurrencyRef") or {}).get("value", home) != home]
            if not foreign:
                continue
            seen_foreign += 1
            expected_cash = sum(
                (Decimal(str(b["CurrentBalance"])) for b in banks if b not in foreign),
                Decimal(0),
            )
            _, text = flat(make_digest(demo, realm_id, week, now=now).pdf)
            for account in foreign:
                currency = account["CurrencyRef"]["value"]
                known = [
                    r
                    for r in client.query(
                        realm_id,
                        f"SELECT * FROM ExchangeRate WHERE SourceCurrencyCode = '{currency}'",
                    )
                    if r["AsOfDate"] <= clock.today(demo).isoformat()
                ]
                rate = Decimal(str(max(known, key=lambda r: r["AsOfDate"])["Rate"]))
                native = Decimal(str(account["CurrentBalance"]))
                assert account["Name"] in text
                assert f"{currency} {native:,.2f}" in text
                assert f"converted at {rate.normalize()}" in text or f"converted at {rate}" in text
                expected_cash += (native * rate).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
            assert fmt.money(expected_cash) in text  # the cash tile includes the converted account
    assert seen_foreign >= 1  # Brightline Studio, the first demo company, holds CAD


def make_now_page() -> None:
    from digest.ui import render_digest_page
    from oodaloo.config import load_settings

    render_digest_page(load_settings())


def test_make_now_makes_the_company_picked_in_the_same_click(demo: Settings) -> None:
    """A click that reaches the server with a new choice in the picker (before the picker's own
    rerun drew the page again) makes the digest of that choice, not of the one shown before."""
    from streamlit.testing.v1 import AppTest

    directory = company_directory(demo)
    realm_id = sorted(directory, key=lambda r: directory[r]["name"])[-1]
    at = AppTest.from_function(make_now_page, default_timeout=120)
    at.run()
    assert at.selectbox(key="digest_make_scope").value == FIRM  # the page opens on the firm
    at.selectbox(key="digest_make_scope").select(realm_id)
    at.button(key="digest_make_now").click().run()  # one round trip carries both
    assert not at.exception
    name = directory[realm_id]["name"]
    assert any(f"digest — {name} (" in s.value for s in at.success), [s.value for s in at.success]
    week = IsoWeek.of(clock.today(demo))
    assert ledger.record(demo, realm_id, str(week)) is not None
    scope_box = next(s for s in at.selectbox if s.key.startswith("digest_scope"))
    assert scope_box.value == realm_id  # the preview below shows what was just made
