"""Drawing: figures from CompanyView-shaped frames end up, formatted, in the PDF text; the chart
is embedded; page furniture is there; copy gives insights, not advice."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from digest_factories import AS_OF, DATA_AS_OF, fake_view
from pypdf import PdfReader

from digest import fmt
from digest.charts import forecast_png
from digest.figures import build_company_digest
from digest.make import ROLLUP_COLUMNS
from digest.model import CompanyDigest, FirmDigest, Table, to_manifest
from digest.pdf import render_company_pdf, render_firm_pdf

ADVICE = re.compile(r"\byou should\b|\byou must\b|\bwe recommend\b", re.IGNORECASE)


def company_digest(
    variant: str, realm_id: str = "9130001", actions: list | None = None
) -> CompanyDigest:
    view = fake_view(realm_id, variant)
    return build_company_digest(
        view,
        realm_id=realm_id,
        company_name=view.company_name,
        week="2026-W47",
        time_zone="America/New_York",
        as_of=AS_OF,
        data_as_of=DATA_AS_OF,
        freshness={"badge": "Synced 3 min ago", "status": "fresh"},
        actions=actions or [],
    )


def chart_for(variant: str) -> bytes | None:
    view = fake_view("9130001", variant)
    return forecast_png(view.forecast, view.runway["reserve"][0], list(view.payroll["date"]))


def pdf_text(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_tight_company_pdf_shows_its_figures_and_chart() -> None:
    actions = [
        {
            "executed": AS_OF,
            "action": "Paid bill B-77",
            "amount": "1200.00",
            "qbo_id": "BillPayment 5012",
        }
    ]
    digest = company_digest("tight", actions=actions)
    pdf, pages = render_company_pdf(digest, "16–22 Nov 2026", chart_for("tight"))
    reader, text = pdf_text(pdf)
    assert len(reader.pages) == pages and 2 <= pages <= 5
    body = flat(text)
    # header and footer on every page
    for page in reader.pages:
        page_text = flat(page.extract_text())
        assert "Week 2026-W47" in page_text and "Zoë & Søn Creative" in page_text
        assert re.search(rf"Page \d of {pages}", page_text)
    # the figures, formatted as the model says, and equal to the input frames
    view = fake_view("9130001", "tight")
    assert digest.kpi("cash").value == view.runway["cash"][0] == Decimal("180000.00")
    assert fmt.money(digest.kpi("cash").value) in body  # $180,000
    assert "2.6 weeks" in body
    assert digest.kpi("overdue_ar").value == Decimal("103900.25") and "$103,900" in body
    assert "$70,000" in body and "0.83×" in body
    assert "■ Short" in body and not re.search(r"\bred\b", body)  # status as mark + word
    assert "Zoë Café Ltd" in body and "INV-1042" in body and "$90,000" in body
    assert "Landlord LLC" in body and "Figma" in body and "Tue 8 Dec 2026" in body
    assert "BillPayment 5012" in body and "Paid bill B-77" in body
    assert "$108,900" in body and "$1,500" in body  # A/R aging total and 91+
    assert "Likely duplicate bills" in body and "Reserve breach moved 9 days earlier" in body
    # high-severity drift first
    assert body.index("Reserve breach moved") < body.index("New bill of $12,000")
    # the three questions answered in plain words
    for question in ("Can the next payroll be covered?", "Whom to chase?", "What can wait?"):
        assert question in body
    assert "Not on current projections" in body
    assert not ADVICE.search(body)
    # the chart is embedded as an image on the first page
    assert len(reader.pages[0].images) == 1
    # the DejaVu font is embedded
    fonts = {str(f) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert fonts


def test_healthy_and_empty_companies_read_sensibly() -> None:
    healthy = company_digest("healthy")
    pdf, _ = render_company_pdf(healthy, "16–22 Nov 2026", chart_for("healthy"))
    body = flat(pdf_text(pdf)[1])
    assert "Yes. The payroll of $70,000" in body and "3 of the next 3 payrolls are covered" in body
    assert "beyond the horizon" in body and "stays above the reserve" in body
    assert "Nobody this week" in body
    assert healthy.exceptions == []
    empty = company_digest("empty")
    pdf, pages = render_company_pdf(empty, "16–22 Nov 2026", chart_for("empty"))
    reader, text = pdf_text(pdf)
    assert pages >= 1 and "No payroll calendar is known yet" in flat(text)
    assert len(reader.pages[0].images) == 0 and "No forecast could be drawn" in flat(text)


def test_firm_pdf_puts_exceptions_first_and_pages_every_company() -> None:
    tight, healthy = company_digest("tight", "1"), company_digest("healthy", "2")
    rows = [
        {
            "company_name": tight.company_name,
            "cash": Decimal("180000.00"),
            "runway_weeks": 2.6,
            "breach_date": AS_OF,
            "payroll_status": "red",
            "payrolls_covered": 0,
            "overdue_91_share": 0.01,
            "freshness_status": "fresh",
        },
        {
            "company_name": healthy.company_name,
            "cash": Decimal("412500.55"),
            "runway_weeks": None,
            "breach_date": None,
            "payroll_status": "green",
            "payrolls_covered": 3,
            "overdue_91_share": 0.0,
            "freshness_status": "fresh",
        },
    ]
    firm = FirmDigest(
        "2026-W47",
        AS_OF,
        DATA_AS_OF,
        Table("rollup", "Every company", ROLLUP_COLUMNS, rows),
        [tight, healthy],
    )
    charts = {"1": chart_for("tight"), "2": chart_for("healthy")}
    pdf, pages = render_firm_pdf(
        firm, "16–22 Nov 2026", "America/New_York", lambda c: charts[c.realm_id]
    )
    reader, text = pdf_text(pdf)
    first = flat(reader.pages[0].extract_text())
    assert (
        "Firm roll-up" in first and "2 companies" in first and "1 company with exceptions" in first
    )
    assert first.index("Zoë & Søn Creative") < first.index("Northwind Agency")
    assert "next payroll red" in first and "$412,501" in first
    assert pages == len(reader.pages) >= 5
    assert sum(len(p.images) for p in reader.pages) == 2
    manifest = to_manifest(firm)
    assert [c["realm_id"] for c in manifest["companies"]] == ["1", "2"]
    assert manifest["rollup"]["rows"][0]["cash"] == "180000.00"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.5"), "$1,235"),
        (Decimal("-1200"), "−$1,200"),
        (None, "—"),
        (Decimal("0.49"), "$0"),
    ],
)
def test_money_format(value: Decimal | None, text: str) -> None:
    assert fmt.money(value) == text


def test_the_same_digest_draws_the_same_bytes_whatever_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A download must equal the stored file and a re-make from the same snapshot must equal the
    first: fpdf2's own clock (creation date, file /ID) must not leak into the bytes."""
    from datetime import timedelta
    from typing import Any

    from fpdf import FPDF

    wall_clock = [DATA_AS_OF + timedelta(days=400)]
    born = FPDF.__init__

    def born_at_a_moving_wall_clock(self: FPDF, *args: Any, **kwargs: Any) -> None:
        born(self, *args, **kwargs)
        wall_clock[0] += timedelta(seconds=61)
        self.creation_date = wall_clock[0]  # what fpdf2 takes from datetime.now()

    monkeypatch.setattr(FPDF, "__init__", born_at_a_moving_wall_clock)
    digest = company_digest("tight")
    first, _ = render_company_pdf(digest, "16–20 Nov 2026", chart_for("tight"))
    second, _ = render_company_pdf(digest, "16–20 Nov 2026", chart_for("tight"))
    assert wall_clock[0] >= DATA_AS_OF + timedelta(days=400, seconds=122)  # it moved between
    assert first == second
    stamp = DATA_AS_OF.strftime("%Y%m%d%H%M%S").encode()
    assert b"/CreationDate (D:" + stamp in first


def test_an_aging_caption_counts_parties_not_its_all_row() -> None:
    """Eleven customers, the top eight kept: the caption says 8 of 11, not 9 of 12 (the "All"
    row under them sums every customer, it is not one of them)."""
    from digest.figures import TOP_AGING, aging_table

    parties = [
        {"party_name": f"Customer {i:02d}", "current": Decimal(100 * (i + 1)), "total": None}
        for i in range(11)
    ]
    for p in parties:
        p["total"] = p["current"]
    totals = {"current": sum(p["current"] for p in parties), "total": None}
    totals["total"] = totals["current"]
    table = aging_table("aging_ar", "Receivables aging (A/R)", "Customer", totals, parties)
    assert [r["name"] for r in table.rows][-1] == "All" and len(table.rows) == TOP_AGING + 1
    digest = company_digest("tight")
    digest.tables = [t for t in digest.tables if t.key != "aging_ar"] + [table]
    pdf, _ = render_company_pdf(digest, "16–22 Nov 2026", None)
    _, text = pdf_text(pdf)
    assert f"Top {TOP_AGING} of 11 shown." in flat(text)
    assert "Top 9 of 12" not in flat(text)
