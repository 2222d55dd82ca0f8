"""Helpers for the console tests: drive the app through AppTest like a browser session."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the page helpers (pages._state ...) import from the repo root
    sys.path.insert(0, str(ROOT))
APP = str(ROOT / "app.py")
DEMO_COMPANIES = 4
PAGES = ["runway", "console", "firm", "data", "settings", "digest"]


def navigation_like_the_server() -> None:
    """AppTest resets ``PagesManager.uses_pages_directory`` before every run, and with a pages/
    folder next to app.py its reruns then execute the page file alone (v1 multipage), skipping
    app.py's frame. The server clears the flag for good once app.py calls st.navigation; make
    AppTest behave the same (the pitfall of libraries.md 1.1, still present in 1.67 on reruns)."""
    original = PagesManager.__init__
    if getattr(original, "_oodaloo_patched", False):
        return

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._oodaloo_patched = True  # type: ignore[attr-defined]
    PagesManager.__init__ = init  # type: ignore[method-assign]


def open_app(page: str | None = None, realm_id: str | None = None, timeout: float = 60) -> AppTest:
    """Run the console like a browser session would, optionally on a page and a company."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if realm_id is not None:
        at.session_state["realm_id"] = realm_id
    if page is not None and page != "runway":
        at.switch_page(f"pages/{page}.py")  # the first run lands there, like opening its URL
    return at.run()


def texts(at: AppTest) -> str:
    """Every visible text of a run, for assertions on copy."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "success",
        "warning",
        "error",
    ):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [f"{label} {value} {note}" for label, (value, note) in static_figures(at).items()]
    return "\n".join(parts)


def qbo_all(settings: Any, realm_id: str, entity: str) -> list[dict[str, Any]]:
    """Every document of ``entity`` as QuickBooks (the sandbox) holds it: the raw source a test
    recomputes page figures from, independently of the runway calculators."""
    from sync.client import QBOClient

    found: list[dict[str, Any]] = []
    with QBOClient(settings) as client:
        while True:
            page = client.query(
                realm_id,
                f"SELECT * FROM {entity} STARTPOSITION {len(found) + 1} MAXRESULTS 1000",
            )
            found += page
            if len(page) < 1000:
                return found


def table_texts(at: AppTest) -> str:
    """Every cell of every table of a run, as text (to look for "None" and raw identifiers); the
    headers are the frames' own names, which the column config relabels, so they are left out.
    The static HTML tables (``_ui.static_table``) count too, headers included (their labels)."""
    frames = [f.value for f in at.dataframe] + [t.value.reset_index() for t in at.table]
    parts = [
        frame.astype(str).to_string(header=False, index=False) for frame in frames if len(frame)
    ]
    for header, rows in static_tables(at).values():
        parts.append("\n".join(" | ".join(row) for row in [header, *rows]))
    return "\n".join(parts)


class _TableReader(HTMLParser):
    """The tables of an ``st.html`` body as the browser shows them: character references
    decoded, so a test sees the text a person reads (and markup that was escaped stays text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self.found = self.tables  # what ``_read_html`` gathers
        self._name = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "div" and dict(attrs).get("data-table") is not None:
            self._name = str(dict(attrs)["data-table"])
            self.tables[self._name] = ([], [])
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._name in self.tables:
            header, rows = self.tables[self._name]
            if self._in_head:
                header.extend(self._row)
            else:
                rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


class _FiguresReader(HTMLParser):
    """The headline figures of an ``st.html`` body (``present.html_figures``): label -> (value,
    note), character references decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[str, tuple[str, str]] = {}
        self.found = self.figures  # what ``_read_html`` gathers
        self._part: str | None = None
        self._texts: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = dict(attrs).get("class") or ""
        if tag == "dt":
            self._texts = {"label": [], "oo-value": [], "oo-note": []}
            self._part = "label"
        elif tag == "dd" and kind in ("oo-value", "oo-note"):
            self._part = kind

    def handle_endtag(self, tag: str) -> None:
        if tag == "dd" and self._part == "oo-note":  # the note closes a figure
            texts = {k: "".join(v) for k, v in self._texts.items()}
            self.figures[texts["label"]] = (texts["oo-value"], texts["oo-note"])
            self._texts = {}
        if tag in ("dt", "dd"):
            self._part = None

    def handle_data(self, data: str) -> None:
        if self._part is not None and self._texts:
            self._texts[self._part].append(data)


def _read_html(at: AppTest, reader: type[_FiguresReader] | type[_TableReader]) -> dict[str, Any]:
    """What ``reader`` finds (its ``found``) in every ``st.html`` body of a run, put together."""
    found: dict[str, Any] = {}
    for element in at.html:
        parser = reader()
        parser.feed(element.value)
        parser.close()
        found.update(parser.found)
    return found


def static_figures(at: AppTest) -> dict[str, tuple[str, str]]:
    """label -> (value, note) of the headline figures (``present.html_figures``) of a run."""
    return _read_html(at, _FiguresReader)


def static_tables(at: AppTest) -> dict[str, tuple[list[str], list[list[str]]]]:
    """name (``data-table``) -> (header labels, rows of cell texts) of every static table."""
    return _read_html(at, _TableReader)


def static_rows(at: AppTest, name: str) -> list[dict[str, str]]:
    """The rows of the static table ``name``, each as {header label: cell text}."""
    tables = static_tables(at)
    assert name in tables, f"no static table {name!r} (found {sorted(tables)})"
    header, rows = tables[name]
    return [dict(zip(header, row, strict=True)) for row in rows]


def table_with(at: AppTest, *columns: str) -> Any:
    """The first plain table (``st.table``, pandas with its row labels as a column) showing all
    these columns."""
    for table in at.table:
        frame = table.value.reset_index()
        if set(columns) <= set(frame.columns):
            return frame
    raise AssertionError(f"no plain table with columns {columns}")
