"""Helpers for the console tests: drive the app through AppTest like a browser session."""

from __future__ import annotations

import sys
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


def frame_with(at: AppTest, *columns: str) -> Any:
    """The first table (pandas) showing all these columns (read-only tables carry no key)."""
    for frame in at.dataframe:
        if set(columns) <= set(frame.value.columns):
            return frame.value
    raise AssertionError(f"no table with columns {columns}")


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
    headers are the frames' own names, which the column config relabels, so they are left out."""
    frames = [f.value for f in at.dataframe] + [t.value.reset_index() for t in at.table]
    return "\n".join(
        frame.astype(str).to_string(header=False, index=False) for frame in frames if len(frame)
    )


def table_with(at: AppTest, *columns: str) -> Any:
    """The first plain table (``st.table``, pandas with its row labels as a column) showing all
    these columns."""
    for table in at.table:
        frame = table.value.reset_index()
        if set(columns) <= set(frame.columns):
            return frame
    raise AssertionError(f"no plain table with columns {columns}")
