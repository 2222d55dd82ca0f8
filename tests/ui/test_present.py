"""The presentation layer (oodaloo.present): one rounding rule, one date format, no "None",
human labels, statuses in colour and word, and typed input refused in words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from digest import fmt
from oodaloo import present
from runway.money import as_money


@pytest.mark.parametrize(
    ("value", "whole", "exact"),
    [
        ("12344.50", "$12,345", "$12,344.50"),
        ("12344.49", "$12,344", "$12,344.49"),
        ("-1200.50", "−$1,201", "−$1,200.50"),
        ("0.125", "$0", "$0.13"),
        (0.005, "$0", "$0.01"),
    ],
)
def test_money_rounds_half_up_everywhere(value: object, whole: str, exact: str) -> None:
    assert present.money(value) == whole
    assert present.money_exact(value) == exact
    assert fmt.money(value) == whole  # the PDF says what the console says


def test_store_rounding_is_half_up_too() -> None:
    frame = pl.DataFrame(
        {"a": [Decimal("0.125"), Decimal("-2.345"), Decimal("0.135")]},
        schema={"a": pl.Decimal(20, 3)},
    )
    got = frame.select(as_money(pl.col("a")))["a"].to_list()
    assert got == [Decimal(v).quantize(Decimal("0.01"), "ROUND_HALF_UP") for v in frame["a"]]


def test_unknowns_read_as_a_dash_never_none() -> None:
    for fn in (present.money, present.money_exact, present.day, present.ratio, present.percent):
        assert fn(None) == present.DASH
    assert present.money(float("inf")) == present.DASH
    assert present.cell(None, "text") == present.DASH
    assert present.text_or_dash(None) == present.DASH


def test_one_date_format_and_due_in_words() -> None:
    assert present.day(date(2026, 11, 20)) == "Fri 20 Nov 2026"
    assert present.day("2026-11-20T14:00:00+00:00") == "Fri 20 Nov 2026"
    assert present.due_phrase(date(2026, 11, 27), date(2026, 11, 20)) == "due in 7 days"
    assert present.due_phrase(date(2026, 11, 19), date(2026, 11, 20)) == "1 day late"
    assert present.due_phrase(date(2026, 11, 20), date(2026, 11, 20)) == "due today"
    assert present.days(-7) == "in 7 days"


def test_labels_and_statuses_are_words() -> None:
    assert present.label("party_id") == "Party id"
    assert present.label("d91_plus") == "91+ days late"
    assert present.label("source_id") == "Document"
    assert present.label("some_new_column") == "Some new column"
    red = present.status("red")
    assert red.startswith("■") and "Short" in red  # mark AND word
    assert present.phrase("open_91_plus") == "Open 91+"


def test_payroll_answer_grammar_and_never_covered_when_short() -> None:
    row = {
        "date": date(2026, 12, 4),
        "amount": Decimal("70000"),
        "coverage": 1.5,
        "status": "green",
        "payrolls_covered": 1,
    }
    one = present.answer_payroll([row, {**row, "status": "red"}, {**row, "status": "red"}])
    assert one.endswith("1 of the next 3 payrolls is covered.")
    short = {
        **row,
        "status": "red",
        "coverage": 0.8,
        "cash_before_p90": Decimal("60000"),
        "must_pay_before": Decimal("4000"),
        "payrolls_covered": 0,
    }
    text = present.answer_payroll([short])
    assert "is covered" not in text.split(".")[1]  # the sentence about this payroll
    assert "$14,000 short" in text  # 70,000 − (60,000 − 4,000)


@pytest.mark.parametrize("typed", ["1e400", "lots", "-5", "12.345", "9" * 30])
def test_amounts_typed_are_refused_in_words(typed: str) -> None:
    with pytest.raises(present.InputError, match="Cash reserve"):
        present.parse_amount(typed, "Cash reserve")


def test_amounts_dates_days_and_emails_parse() -> None:
    assert present.parse_amount("$12,500.50", "x") == Decimal("12500.50")
    assert present.parse_amount("  ", "x") is None
    assert present.parse_day("2026/11/20", "d") == date(2026, 11, 20)
    for bad in ("2026/13/45", "2026-02-30", "20/11/2026", "soon"):
        with pytest.raises(present.InputError, match="Payroll date"):
            present.parse_day(bad, "Payroll date")
    assert present.parse_whole("14", "Delay", 0, 180) == 14
    for bad in ("181", "-1", "2.5", "1e400", "x"):
        with pytest.raises(present.InputError, match="Delay"):
            present.parse_whole(bad, "Delay", 0, 180)
    assert present.parse_emails("a@b.co\nc@d.org", "R") == ["a@b.co", "c@d.org"]
    with pytest.raises(present.InputError, match="not an e-mail"):
        present.parse_emails("owner at example", "Digest recipients")


def test_foreign_accounts_are_said_converted_or_left_out() -> None:
    from datetime import date
    from decimal import Decimal

    from oodaloo.present import currency_notes

    rows = [
        {
            "kind": "bank",
            "account_name": "CAD Operating",
            "currency": "CAD",
            "balance_foreign": Decimal("270950"),
            "balance": Decimal("270950") * Decimal("0.7146"),
            "rate": Decimal("0.7146"),
            "rate_date": date(2026, 11, 20),
            "unconverted": False,
        },
        {
            "kind": "bank",
            "account_name": "Euro float",
            "currency": "EUR",
            "balance_foreign": Decimal("1200.5"),
            "balance": None,
            "rate": None,
            "unconverted": True,
        },
        {"kind": "bank", "account_name": "Checking", "currency": "USD", "rate": None},
        {"kind": "credit_card", "account_name": "Card", "currency": "CAD", "rate": Decimal("1")},
    ]
    converted, left_out = currency_notes(rows)
    # 270,950 × 0.7146 = 193,620.87 → $193,621 (half-up to the dollar on headlines)
    assert "CAD Operating (CAD 270,950.00)" in converted and "$193,621" in converted
    assert "0.7146 per CAD" in converted and "Fri 20 Nov 2026" in converted
    assert left_out.startswith("Euro float (EUR 1,200.50) has no EUR exchange rate")
    assert "not in the cash figure" in left_out


def test_status_marks_are_glyphs_of_the_pdf_font_and_tell_tones_apart() -> None:
    """Emoji dots drew as empty boxes in a browser without an emoji font (and in the PDF's
    DejaVu Sans): every mark must be a glyph the font has, one distinct mark per tone, so the
    mark still means something without its colour."""
    from pathlib import Path

    from fontTools.ttLib import TTFont

    font = Path(__file__).resolve().parents[2] / "digest" / "fonts" / "DejaVuSans.ttf"
    glyphs = TTFont(font).getBestCmap()
    marks = {key: present.status(key).split(" ", 1)[0] for key in present.STATUS}
    assert all(len(mark) == 1 and ord(mark) in glyphs for mark in marks.values()), marks
    by_tone = {present.status_tone(key): mark for key, mark in marks.items()}
    assert len(set(by_tone.values())) == len(by_tone) == 4  # good, warn, bad, neutral
    assert present.status_mark("failed") == marks["red"]  # one mark per tone, whatever the word
    assert present.cell("amber", "status") == present.status("amber")
    assert present.status_markdown("red") == ":red[■] Short"
    assert present.status_color("green") != present.status_color("red")


def test_static_tables_keep_quickbooks_text_as_text() -> None:
    """The static HTML tables: every header and cell escaped (a payee named like markup is read,
    never run), numbers aligned, a status coloured by a known tone only, a long table scrolling
    in a focusable box; read back by a parser the cells are the texts that went in."""
    from ui_support import _TableReader

    hostile = '<img src=x onerror="alert(1)"> & Co <b>'
    html = present.html_table(
        ["Who", "Amount", "Status <i>"],
        [[hostile, "$1,200.50", ("■ Short", "bad")], ["Café", "$0.00", ("x", "evil onclick")]],
        name="t<1>",
        label="2 rows shown",
        right={1},
        helps={1: 'Owed "today"'},
        scroll=True,
    )
    assert "<img" not in html and "<b>" not in html and "<i>" not in html and "onclick" not in html
    assert '<td class="oo-bad">■ Short</td>' in html and '<td class="oo-neutral">x</td>' in html
    assert '<th scope="col" class="oo-num" title="Owed &quot;today&quot;">Amount</th>' in html
    assert 'tabindex="0"' in html and 'aria-label="2 rows shown"' in html
    reader = _TableReader()
    reader.feed(html)
    header, rows = reader.tables["t<1>"]
    assert header == ["Who", "Amount", "Status <i>"]
    assert rows == [[hostile, "$1,200.50", "■ Short"], ["Café", "$0.00", "x"]]
    short = present.html_table(["A"], [["1"]], name="s")
    assert "tabindex" not in short and "role=" not in short  # a short table is not a region


def test_static_table_cells_read_as_the_grid_does() -> None:
    """``_ui.text_cells``: human labels, internal ids hidden, "—" for unknowns, the one date
    format, money to the cent (half-up), codes as words, statuses as mark, word and tone."""
    from datetime import UTC, datetime

    from pages import _ui

    frame = pl.DataFrame(
        {
            "realm_id": ["9130", "9130"],
            "party_name": ["Acme", None],
            "amount": [Decimal("1200.505"), None],
            "due_date": [date(2026, 11, 20), None],
            "finished_at": [datetime(2026, 11, 20, 14, 5, tzinfo=UTC), None],
            "payroll_status": ["red", None],
            "kind": ["open_91_plus", "bill"],
            "week": [1, 12],
        },
        schema_overrides={"amount": pl.Decimal(18, 3)},
    )
    header, rows, right = _ui.text_cells(frame, {"party_name": "Customer"})
    assert header == ["Customer", "Amount", "Due", "Finished", "Next payroll", "Kind", "Week"]
    assert right == {1, 6}  # amount and week: numbers, aligned right
    assert rows[0] == [
        "Acme",
        "$1,200.51",
        "Fri 20 Nov 2026",
        "Fri 20 Nov 2026, 14:05 UTC",
        ("■ Short", "bad"),
        "Open 91+",
        "1",
    ]
    assert rows[1][:4] == [present.DASH] * 4 and rows[1][5:] == ["Bill", "12"]
    assert rows[1][4] == (present.status(None), "neutral")  # a status never reads "—"


def test_headline_figures_are_escaped_and_read_back() -> None:
    """``present.html_figures``: label, value and note per figure, QuickBooks text escaped."""
    from ui_support import _FiguresReader

    html = present.html_figures(
        [("Cash", "$1,200", 'in 1 account <script>alert("x")</script>'), ("Runway", "4.1 wk", "")],
        name="key_figures",
    )
    assert "<script>" not in html and 'data-figures="key_figures"' in html
    reader = _FiguresReader()
    reader.feed(html)
    assert reader.figures == {
        "Cash": ("$1,200", 'in 1 account <script>alert("x")</script>'),
        "Runway": ("4.1 wk", ""),
    }


def test_a_negative_coverage_ratio_signs_like_money() -> None:
    """A payroll the cash cannot reach reads '−0.05×', with money's minus sign, never '-0.05×'."""
    assert present.ratio(Decimal("-0.054")) == present.MINUS + "0.05×"
    assert present.ratio(Decimal("1.355")) == "1.36×"
    assert present.money(-5).startswith(present.MINUS) and present.ratio(-1).startswith(
        present.MINUS
    )
