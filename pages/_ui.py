"""Display helpers for the pages: the presentation layer (``oodaloo.present``) applied to
Streamlit — tables with human labels and no "None", short errors with the detail one click away,
CSV export of every table.

Formatting itself lives in ``oodaloo.present`` (shared with the PDF); the names re-exported here
(``money``, ``day``, ``weeks`` ...) are the same functions, so a page and the digest agree.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import polars as pl
import streamlit as st

from oodaloo import present
from oodaloo.present import DASH, day, due_phrase, moment, money, money_exact, weeks, weeks_short

__all__ = [
    "DASH",
    "attempt",
    "csv_button",
    "day",
    "display_frame",
    "due_phrase",
    "money",
    "money_exact",
    "moment",
    "section",
    "short_error",
    "show_error",
    "static_table",
    "table",
    "text_cells",
    "weeks",
    "weeks_short",
]

T = TypeVar("T")

# Errors say what happened in their own words (``user_title``); these cover the classes that
# predate that attribute, by name through the MRO (a subclass inherits its parent's sentence).
_PLAIN_ERRORS: dict[str, str] = {
    "ReauthRequired": (
        "QuickBooks asks to reconnect this company before we can read or write its data."
    ),
    "ThrottledError": "QuickBooks asked us to slow down. Try again in a minute.",
    "QuotaExceeded": "QuickBooks asked us to slow down. Try again in a minute.",
    "TransientError": "QuickBooks did not answer. The figures below are the last ones we synced.",
    "LockTimeout": "The data is being updated right now. Try again in a moment.",
}
STATUS_COLUMNS = {"payroll_status", "freshness_status", "status", "outcome", "state_word"}
CODE_COLUMNS = {"kind", "flag", "change", "severity", "doc_type", "state", "event", "action"}
"""Columns whose values are codes ('open_91_plus'): shown as words ('Open 91+')."""
HIDDEN = (
    "realm_id",
    "party_id",
    "doc_id",
    "run_id",
    "sync_token",
    "intent_id",
    "correlation_id",
    "requestid",
    "dedupe_key",
)
"""Internal identifiers: kept in the CSV export, never shown in a table."""
DATE_FORMAT = "ddd D MMM YYYY"  # the grid's spelling of present.day: 'Fri 20 Nov 2026'


def short_error(exc: BaseException, what: str) -> str:
    """One sentence a non-accountant understands: the error's own title, else its class's
    sentence; never a stack or a secret."""
    title = getattr(exc, "user_title", None)
    if isinstance(title, str) and title:
        return title
    for cls in type(exc).__mro__:
        if cls.__name__ in _PLAIN_ERRORS:
            return _PLAIN_ERRORS[cls.__name__]
    return f"Something went wrong while {what}."


def show_error(exc: BaseException, what: str) -> None:
    """A short sentence and a reference id; the technical detail goes to the log under that id,
    never to the visitor (issue 14: no tracebacks on the page)."""
    from oodaloo.auth import error_reference

    st.error(short_error(exc, what))
    st.caption(f"Reference {error_reference(exc, what)} — the details are in the console's log.")


def _tail(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    return "".join(traceback.format_list(frames))


def attempt(fn: Callable[[], T], what: str) -> T | None:
    """Run ``fn`` (a spinner says what while it works); on failure show a short error (details in
    an expander) and return None."""
    try:
        with st.spinner(f"{what[0].upper()}{what[1:]}…", show_time=True):
            return fn()
    except Exception as exc:
        show_error(exc, what)
        return None


@contextmanager
def section(what: str) -> Iterator[None]:
    """A block of a page that fails on its own, without taking the page down."""
    try:
        yield
    except Exception as exc:
        show_error(exc, what)


def to_pandas_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimal money -> float for display only (Streamlit's grid formats floats, not Decimals)."""
    casts = [
        pl.col(name).cast(pl.Float64)
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Decimal)
    ]
    return frame.with_columns(casts) if casts else frame


def _as_text(frame: pl.DataFrame, name: str, fn: Callable[[Any], str]) -> pl.Series:
    return pl.Series(name, [fn(v) for v in frame[name].to_list()], dtype=pl.String)


def display_frame(
    frame: pl.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    helps: Mapping[str, str] | None = None,
    pinned: tuple[str, ...] = ("company", "company_name"),
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """A frame ready for ``st.dataframe`` and its column config: every column a human label,
    no "None" (an unknown cell is "—"), one date format, statuses as colour and word, the
    company column pinned. Columns without gaps keep their type, so they still sort as numbers."""
    labels = labels or {}
    helps = helps or {}
    config: dict[str, Any] = {}
    columns: list[pl.Series] = []
    for name, dtype in frame.schema.items():
        title = present.label(name, labels)
        tip = helps.get(name)
        pin = name in pinned
        has_gaps = frame[name].null_count() > 0
        if name in STATUS_COLUMNS and dtype == pl.String:
            columns.append(_as_text(frame, name, present.status))
            config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
        elif name in CODE_COLUMNS and dtype == pl.String:
            columns.append(_as_text(frame, name, present.phrase))
            config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
        elif isinstance(dtype, pl.Decimal) or (dtype.is_float() and _is_money(name)):
            if has_gaps:
                columns.append(_as_text(frame, name, present.money_exact))
                config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
            else:
                columns.append(frame[name].cast(pl.Float64))
                config[name] = st.column_config.NumberColumn(
                    title, format="dollar", help=tip, pinned=pin
                )
        elif dtype == pl.Date:
            if has_gaps:
                columns.append(_as_text(frame, name, present.day))
                config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
            else:
                columns.append(frame[name])
                config[name] = st.column_config.DateColumn(
                    title, format=DATE_FORMAT, help=tip, pinned=pin
                )
        elif isinstance(dtype, pl.Datetime):
            columns.append(_as_text(frame, name, present.moment))
            config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
        elif dtype.is_numeric() and has_gaps:
            columns.append(_as_text(frame, name, lambda v: DASH if v is None else f"{v:,}"))
            config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
        elif dtype == pl.String:
            columns.append(frame[name].fill_null(DASH))
            config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
        elif isinstance(dtype, (pl.List, pl.Array)):
            columns.append(frame[name])
            config[name] = st.column_config.Column(title, help=tip, pinned=pin)
        elif dtype == pl.Null:
            columns.append(pl.Series(name, [DASH] * frame.height, dtype=pl.String))
            config[name] = st.column_config.TextColumn(title, help=tip, pinned=pin)
        else:
            columns.append(frame[name])
            config[name] = st.column_config.Column(title, help=tip, pinned=pin)
    return pl.DataFrame(columns) if columns else frame, config


def _counting_caption(frame: pl.DataFrame) -> str:
    """A table's default caption: how many rows it shows (or that there are none yet)."""
    return (
        f"{present.plural(frame.height, 'row')} shown" if frame.height else "Nothing to show yet."
    )


def _is_money(name: str) -> bool:
    return name in {"amount", "balance", "cash", "total", "reserve", "open_amount"}


def table(
    frame: pl.DataFrame,
    name: str,
    *,
    key: str,
    labels: Mapping[str, str] | None = None,
    helps: Mapping[str, str] | None = None,
    hide: tuple[str, ...] = HIDDEN,
    column_config: Mapping[str, Any] | None = None,
    caption: str | None = None,
    **kwargs: Any,
) -> Any:
    """A readable table (``display_frame``) plus its CSV export (exact decimal text), with a
    caption counting the rows shown. ``column_config`` entries override the generated ones."""
    shown, config = display_frame(frame, labels, helps=helps)
    config.update(column_config or {})
    order = kwargs.pop("column_order", None) or [c for c in shown.columns if c not in hide]
    event = st.dataframe(
        shown,
        key=key,
        hide_index=True,
        column_config=config,
        column_order=order,
        **kwargs,
    )
    caption = _counting_caption(frame) if caption is None else caption
    st.caption(caption)
    csv_button(frame, name, key=f"{key}_csv")
    return event


def text_cells(
    frame: pl.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    hide: tuple[str, ...] = HIDDEN,
) -> tuple[list[str], list[list[present.HtmlCell]], set[int]]:
    """(header, rows, numeric columns) of ``frame`` as the presentation layer words them, the
    same choices ``display_frame`` makes for the grid: human labels, no "None" (an unknown
    cell is "—"), one date format, money to the cent, codes as words, statuses as colour and
    word."""
    names = [c for c in frame.columns if c not in hide]
    schema = frame.schema
    right = {
        at
        for at, name in enumerate(names)
        if schema[name].is_numeric() and name not in STATUS_COLUMNS | CODE_COLUMNS
    }
    header = [present.label(name, labels) for name in names]
    rows = [
        [_cell(row[name], name, schema[name]) for name in names]
        for row in frame.select(names).iter_rows(named=True)
    ]
    return header, rows, right


def _cell(value: Any, name: str, dtype: pl.DataType) -> present.HtmlCell:
    if name in STATUS_COLUMNS and dtype == pl.String:  # an unknown status has its own words
        return present.status(value), present.status_tone(value)
    if value is None or value == "":
        return DASH
    if name in CODE_COLUMNS and dtype == pl.String:
        return present.phrase(value)
    if isinstance(dtype, pl.Decimal) or (dtype.is_float() and _is_money(name)):
        return present.money_exact(value)
    if dtype == pl.Date:
        return present.day(value)
    if isinstance(dtype, pl.Datetime):
        return present.moment(value)
    if dtype.is_numeric():
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(present.text_or_dash(v) for v in value) or DASH
    return str(value)


def static_table(
    frame: pl.DataFrame,
    name: str,
    *,
    key: str,
    labels: Mapping[str, str] | None = None,
    helps: Mapping[str, str] | None = None,
    hide: tuple[str, ...] = HIDDEN,
    caption: str | None = None,
    scroll_after: int = 12,
) -> None:
    """A read-only table drawn as static HTML (``present.html_table``) where the interactive
    grid is not needed: a page without ``st.dataframe`` never loads the grid's JavaScript,
    which on Runway was about 0.7 of the browser's 3 CPU-seconds of a first visit. The same
    words as ``table`` (``text_cells``), the same caption counting the rows and the same CSV
    export; more than ``scroll_after`` rows scroll inside a box under a fixed header. ``key``
    tags the table (``data-table``) for tests."""
    caption = _counting_caption(frame) if caption is None else caption
    if frame.height:
        header, rows, right = text_cells(frame, labels, hide=hide)
        tips = {
            at: helps[c]
            for at, c in enumerate(c for c in frame.columns if c not in hide)
            if helps and c in helps
        }
        st.html(
            present.html_table(
                header,
                rows,
                name=key,
                label=caption,
                right=right,
                helps=tips,
                scroll=frame.height > scroll_after,
            )
        )
    st.caption(caption)
    csv_button(frame, name, key=f"{key}_csv")


def csv_button(frame: pl.DataFrame, name: str, *, key: str) -> None:
    """The rows as CSV (flat columns, exact decimals), written when the button is clicked (a
    page run does not pay for every table's CSV: the 500-company grid's took 0.2 s)."""

    def data() -> str:
        flat = frame.select(
            [
                pl.col(c)
                for c, t in frame.schema.items()
                if not isinstance(t, (pl.List, pl.Struct, pl.Array))
            ]
        )
        return present.csv_safe_frame(flat).write_csv()  # no cell starts a spreadsheet formula

    st.download_button(
        "Download CSV",
        data,
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
    )


def money_columns(frame: pl.DataFrame, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Column config only (for grids that keep their own frame): human labels, money as dollars,
    dates in the house format."""
    return display_frame(frame, labels)[1]
