"""The Digest page body: lists stored weeks and scopes, offers the PDF for download, previews the
first page, and reports e-mail failures."""

from __future__ import annotations

from datetime import UTC, datetime

from streamlit.testing.v1 import AppTest
from test_pdf import chart_for, company_digest

from digest import ledger
from digest.make import Produced, store_digest
from digest.model import to_manifest
from digest.pdf import render_company_pdf
from digest.weeks import IsoWeek
from oodaloo.config import Settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def element_types(node: object) -> set[str]:
    """Every element type in a rendered tree (AppTest has no accessor for images)."""
    found = {str(getattr(node, "type", ""))}
    for child in getattr(node, "children", {}).values():
        found |= element_types(child)
    return found


def page_script() -> None:
    from digest.ui import render_digest_page
    from oodaloo.config import load_settings

    render_digest_page(load_settings())


def test_page_lists_downloads_previews_and_reports_email(settings: Settings) -> None:
    digest = company_digest("tight")
    pdf, pages = render_company_pdf(digest, "16–22 Nov 2026", chart_for("tight"))
    week = IsoWeek.parse("2026-W47")
    store_digest(
        settings, Produced(digest.realm_id, week, pdf, to_manifest(digest), NOW, pages, False)
    )
    ledger.mark_made(settings, digest.realm_id, str(week), made_at=NOW, data_as_of=NOW, pages=pages)
    ledger.record_delivery(
        settings,
        digest.realm_id,
        str(week),
        "owner@example.com",
        ok=False,
        attempts=3,
        error="ConnectionRefusedError: [Errno 111] Connection refused",
        at=NOW,
    )

    at = AppTest.from_function(page_script, default_timeout=60)
    at.run()
    assert not at.exception
    assert [s.value for s in at.selectbox if s.key.startswith("digest_week")] == ["2026-W47"]
    scope_box = next(s for s in at.selectbox if s.key.startswith("digest_scope"))
    assert scope_box.options == [digest.company_name]  # a name, never a raw realm id
    assert any(m.label == "Cash" and m.value == "$180,000" for m in at.metric)
    markdown = "\n".join(m.value for m in at.markdown)
    assert (
        "owner@example.com" in markdown and "failed" in markdown and "after 3 attempts" in markdown
    )
    assert "Made" in markdown and f"{pages} pages" in markdown
    assert len(at.get("download_button")) == 1
    assert "image" in element_types(at.main)  # the first page rendered to PNG


def test_page_without_digests_says_when_the_first_comes(settings: Settings) -> None:
    at = AppTest.from_function(page_script, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("No digest yet" in i.value for i in at.info)
