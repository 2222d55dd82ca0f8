"""Drawing a digest with fpdf2: header (company, ISO week), footer (freshness, page X of Y), KPI
boxes, plain-words answers, the 13-week chart, tables. DejaVu Sans is embedded (subset), so any
name or symbol prints the same everywhere."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from digest import fmt
from digest.model import CompanyDigest, FirmDigest, Kpi, Table

FONT_DIR = Path(__file__).parent / "fonts"
FAMILY = "DejaVu"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
HEAD_FILL = (241, 243, 245)
TONES = {"good": (43, 138, 62), "warn": (230, 119, 0), "bad": (201, 42, 42), "neutral": INK}
RIGHT_KINDS = {"money", "int", "ratio", "days", "weeks", "percent"}

ChartRenderer = Callable[[CompanyDigest], bytes | None]


class DigestPDF(FPDF):
    """Letter pages with a running header naming the company (or the firm) and the ISO week."""

    def __init__(self, week: str, week_span: str, footer_text: str, made_from: datetime) -> None:
        super().__init__(orientation="P", unit="mm", format="Letter")
        # fpdf2 stamps the wall clock into /CreationDate and the file /ID; the data's own time
        # keeps the same books drawing the same bytes (a download equals the stored file).
        self.set_creation_date(made_from)
        self.week = week
        self.week_span = week_span
        self.footer_text = footer_text
        self.header_title = ""
        self.set_margins(16, 18, 16)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_font(FAMILY, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_font(FAMILY, size=9)
        self.set_text_color(*INK)
        self.alias_nb_pages()

    # ---- page furniture -----------------------------------------------------------------
    def header(self) -> None:
        self.set_y(8)
        self.set_font(FAMILY, "B", 9)
        self.set_text_color(*INK)
        self.cell(self.epw * 0.6, 5, self.header_title)
        self.set_font(FAMILY, "", 9)
        self.set_text_color(*MUTED)
        self.cell(
            self.epw * 0.4,
            5,
            f"Week {self.week} · {self.week_span}",
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 14, self.w - self.r_margin, 14)
        self.set_y(18)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(self.epw * 0.8, 5, self.footer_text)
        self.cell(self.epw * 0.2, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(*INK)

    # ---- building blocks ----------------------------------------------------------------
    def title_block(self, title: str, subtitle: str) -> None:
        self.set_font(FAMILY, "B", 16)
        self.multi_cell(0, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, "", 9)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 5, subtitle, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(3)

    def section(self, title: str, space_needed: float = 30) -> None:
        if self.get_y() + space_needed > self.page_break_trigger:
            self.add_page()
        self.ln(2)
        self.set_font(FAMILY, "B", 11.5)
        self.cell(0, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.l_margin + 40, self.get_y())
        self.ln(2)
        self.set_font(FAMILY, "", 9)

    def paragraph(self, text: str, size: float = 9, color: tuple[int, int, int] = INK) -> None:
        self.set_font(FAMILY, "", size)
        self.set_text_color(*color)
        self.multi_cell(0, 4.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def bullets(self, items: Sequence[str], empty: str) -> None:
        if not items:
            self.paragraph(empty, color=MUTED)
            return
        for item in items:
            self.set_x(self.l_margin)
            self.cell(5, 4.6, "•")
            self.multi_cell(0, 4.6, item, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.6)

    def fitting_size(
        self, text: str, width: float, largest: float, smallest: float, style: str = ""
    ) -> float:
        """The largest font size (down to ``smallest``) at which ``text`` fits ``width``: a tile
        never cuts its figure ("beyond the horiz…")."""
        size = largest
        while size > smallest:
            self.set_font(FAMILY, style, size)
            if self.get_string_width(text) <= width:
                break
            size -= 0.5
        return size

    def kpi_row(self, kpis: Sequence[Kpi]) -> None:
        if not kpis:
            return
        gap = 3.0
        width = (self.epw - gap * (len(kpis) - 1)) / len(kpis)
        top = self.get_y()
        for index, kpi in enumerate(kpis):
            x = self.l_margin + index * (width + gap)
            self.set_fill_color(*HEAD_FILL)
            self.rect(x, top, width, 21, style="F")
            self.set_xy(x + 2.5, top + 2)
            self.set_font(FAMILY, "", 7.5)
            self.set_text_color(*MUTED)
            self.cell(width - 5, 4, kpi.label.upper())
            self.set_xy(x + 2.5, top + 6.5)
            self.set_text_color(*TONES[kpi.tone])
            value = fmt.kpi_value(kpi.value, kpi.kind)
            self.set_font(FAMILY, "B", self.fitting_size(value, width - 5, 13, 7, "B"))
            self.cell(width - 5, 7, value)
            self.set_xy(x + 2.5, top + 14.5)
            self.set_font(FAMILY, "", self.fitting_size(kpi.detail, width - 5, 7, 5))
            self.set_text_color(*MUTED)
            self.cell(width - 5, 4, kpi.detail)
        self.set_text_color(*INK)
        self.set_font(FAMILY, "", 9)
        self.set_xy(self.l_margin, top + 25)

    def answers(self, answers: Sequence[tuple[str, str]]) -> None:
        for question, answer in answers:
            self.set_font(FAMILY, "B", 9.5)
            self.multi_cell(0, 5, question, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.paragraph(answer)
            self.ln(1.5)

    def image_png(self, png: bytes, width: float, title: str) -> None:
        self.image(io.BytesIO(png), x=self.l_margin, w=width, title=title, alt_text=title)
        self.ln(2)

    def data_table(self, table: Table) -> None:
        self.section(table.title, space_needed=22 + 6 * min(len(table.rows), 3))
        if not table.rows:
            self.paragraph(table.empty_text, color=MUTED)
            return
        aligns = tuple("RIGHT" if col.kind in RIGHT_KINDS else "LEFT" for col in table.columns)
        self.set_font(FAMILY, "", 8.5)
        self.set_draw_color(*RULE)
        self.set_fill_color(255, 255, 255)
        with self.table(
            col_widths=tuple(col.width for col in table.columns),
            text_align=aligns,
            borders_layout="HORIZONTAL_LINES",
            headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
            line_height=5,
            padding=(1, 1.5),
        ) as pdf_table:
            heading = pdf_table.row()
            for col in table.columns:
                heading.cell(col.title)
            for row in table.rows:
                pdf_row = pdf_table.row()
                for col in table.columns:
                    pdf_row.cell(fmt.cell(row.get(col.key), col.kind))
        if table.total_rows > table.shown_rows:
            self.paragraph(
                f"Top {table.shown_rows} of {table.total_rows} shown.", size=7.5, color=MUTED
            )
        if table.note:
            self.paragraph(table.note, size=7.5, color=MUTED)
        self.set_font(FAMILY, "", 9)


def _local_time(moment: datetime, tz: str) -> str:
    """The one date format, with the local time and its zone: 'Fri 20 Nov 2026, 07:00 PST'."""
    return fmt.moment(moment.astimezone(ZoneInfo(tz)))


def draw_company(pdf: DigestPDF, digest: CompanyDigest, chart_png: bytes | None) -> None:
    """The company's pages: answers first, then the figures behind them."""
    pdf.header_title = f"{digest.company_name} — Friday digest"
    pdf.add_page()
    pdf.title_block(
        digest.company_name,
        f"As of {fmt.day(digest.as_of)} · data as we knew it at "
        f"{_local_time(digest.data_as_of, digest.time_zone)} · {digest.freshness}",
    )
    pdf.kpi_row(digest.kpis)
    if digest.currency:
        pdf.bullets(digest.currency, "")
    pdf.section("This week in three questions")
    pdf.answers(digest.answers)
    pdf.section("13-week cash forecast", space_needed=80)
    if chart_png is not None:
        pdf.image_png(chart_png, pdf.epw, "13-week cash forecast")
    else:
        pdf.paragraph(
            "No forecast could be drawn: no cash data was known at the cut-off.", color=MUTED
        )
    pdf.section("What changed since last week")
    pdf.bullets(digest.drift, "No notable change since last week.")
    for table in digest.tables:
        pdf.data_table(table)
    pdf.section("Data hygiene")
    pdf.bullets(digest.hygiene, "No hygiene issues found.")


def _footer(data_as_of: datetime, tz: str) -> str:
    return (
        f"Oodaloo digest · figures as known at {_local_time(data_as_of, tz)} · insights, not advice"
    )


def render_company_pdf(
    digest: CompanyDigest, week_span: str, chart_png: bytes | None
) -> tuple[bytes, int]:
    pdf = DigestPDF(
        digest.week, week_span, _footer(digest.data_as_of, digest.time_zone), digest.data_as_of
    )
    pdf.set_title(f"{digest.company_name} — digest {digest.week}")
    pdf.set_creator("Oodaloo")
    draw_company(pdf, digest, chart_png)
    return bytes(pdf.output()), pdf.pages_count


def render_firm_pdf(
    digest: FirmDigest, week_span: str, tz: str, charts: ChartRenderer
) -> tuple[bytes, int]:
    """Roll-up page (exceptions first), then every company's pages in the same order."""
    pdf = DigestPDF(digest.week, week_span, _footer(digest.data_as_of, tz), digest.data_as_of)
    pdf.set_title(f"Firm digest {digest.week}")
    pdf.set_creator("Oodaloo")
    pdf.header_title = "Firm roll-up — Friday digest"
    pdf.add_page()
    flagged = sum(1 for company in digest.companies if company.exceptions)
    pdf.title_block(
        f"Firm roll-up · {len(digest.companies)} companies",
        f"As of {fmt.day(digest.as_of)} · data as we knew it at "
        f"{_local_time(digest.data_as_of, tz)} · "
        f"{fmt.plural(flagged, 'company', 'companies')} with exceptions, listed first",
    )
    exceptions = [
        f"{c.company_name}: {'; '.join(c.exceptions)}" for c in digest.companies if c.exceptions
    ]
    pdf.section("Exceptions")
    pdf.bullets(exceptions, "No company has an exception this week.")
    pdf.data_table(digest.rollup)
    for company in digest.companies:
        draw_company(pdf, company, charts(company))
    return bytes(pdf.output()), pdf.pages_count
