"""Small display helpers for the pages: money and dates in plain words, short errors with the
detail one click away, CSV export of every table."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import polars as pl
import streamlit as st

T = TypeVar("T")

_PLAIN_ERRORS: dict[str, str] = {
    "ReauthRequired": "QuickBooks asks to reconnect this company before we can read or write its data.",
    "QBOUnavailable": "QuickBooks did not answer. The figures below are the last ones we synced.",
    "RateLimited": "QuickBooks asked us to slow down. Try again in a minute.",
    "LockTimeout": "The data is being updated right now. Try again in a moment.",
}


def money(value: Any, *, signed: bool = False) -> str:
    """$12,345 (whole dollars are enough for headline figures); '—' when unknown."""
    if value is None:
        return "—"
    amount = Decimal(str(value))
    text = f"${abs(amount):,.0f}"
    if amount < 0:
        return f"−{text}"
    return f"+{text}" if signed and amount > 0 else text


def day(value: date | datetime | str | None) -> str:
    """'Fri Nov 27' — short and readable."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%a %b %d").replace(" 0", " ")


def weeks(value: float | None) -> str:
    if value is None:
        return "beyond 2 years"
    return f"{value:.1f} weeks"


def weeks_short(value: float | None) -> str:
    """A metric-sized runway ('8.4 wk', '> 2 yrs') that a narrow column never truncates."""
    if value is None:
        return "> 2 yrs"
    return f"{value:.1f} wk"


def short_error(exc: BaseException, what: str) -> str:
    """One sentence a non-accountant understands (the class name picks it; no stack, no secrets)."""
    for cls in type(exc).__mro__:
        if cls.__name__ in _PLAIN_ERRORS:
            return _PLAIN_ERRORS[cls.__name__]
    return f"Something went wrong while {what}."


def show_error(exc: BaseException, what: str) -> None:
    """A short sentence, with the technical detail in an expander."""
    st.error(short_error(exc, what))
    with st.expander("Details"):
        st.code(
            "".join(traceback.format_exception_only(type(exc), exc)).strip() + "\n\n" + _tail(exc)
        )


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


def table(
    frame: pl.DataFrame, name: str, *, key: str, column_config: dict | None = None, **kwargs: Any
) -> Any:
    """A dataframe plus its CSV export (money columns keep their exact decimal text in the CSV)."""
    event = st.dataframe(
        to_pandas_safe(frame), key=key, hide_index=True, column_config=column_config, **kwargs
    )
    csv_button(frame, name, key=f"{key}_csv")
    return event


def csv_button(frame: pl.DataFrame, name: str, *, key: str) -> None:
    flat = frame.select(
        [
            pl.col(c)
            for c, t in frame.schema.items()
            if not isinstance(t, (pl.List, pl.Struct, pl.Array))
        ]
    )
    st.download_button(
        "Download CSV",
        flat.write_csv(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
    )


def money_columns(frame: pl.DataFrame, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Column config: money as dollars, dates as days, optional labels for the rest."""
    labels = labels or {}
    config: dict[str, Any] = {}
    for name, dtype in frame.schema.items():
        label = labels.get(name, name.replace("_", " ").capitalize())
        if isinstance(dtype, pl.Decimal):
            config[name] = st.column_config.NumberColumn(label, format="dollar")
        elif dtype == pl.Date:
            config[name] = st.column_config.DateColumn(label, format="ddd MMM D, YYYY")
        elif name in labels:
            config[name] = labels[name]
    return config
