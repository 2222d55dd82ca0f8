"""Console state shared by every page: settings, the chosen company, and cached views.

Views are cached by the store's snapshot version (``Warehouse.version()``), never by time: a sync
that commits changes the version and the next rerun recomputes; until then every rerun and every
session reuses the same result. Only the sandbox clock ("today") is cached for a short while.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import streamlit as st

from oodaloo.config import Settings, load_settings

ALL_COMPANIES = "__all__"
REALM_KEY = "realm_id"  # the picker widget's key
CHOSEN_KEY = "chosen_realm"  # the choice itself, kept across page switches


def settings() -> Settings:
    """Settings from the environment, built once per distinct environment: a page run asks for
    them a dozen times and each build re-reads and validates every variable (about 20 ms); a
    test that changes the environment gets settings built from its own."""
    import os

    environment = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("OODALOO_"))
    )
    return _settings_for(environment)


@functools.lru_cache(maxsize=8)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    return load_settings()  # frozen: safe to share between runs and sessions


@st.cache_data(ttl=60, show_spinner=False)
def _today(data_dir: str, _settings: Settings) -> date:
    from oodaloo.clock import today

    return today(_settings)


def as_of() -> date:
    """Today in the company's time zone, as the QBO we talk to sees it (the sandbox clock)."""
    s = settings()
    return _today(str(s.data_dir), s)


def store_version() -> str:
    """The warehouse's version: the cache key of every view ('' before the first sync)."""
    return version_of(settings())


def version_of(s: Settings) -> str:
    """``store_version`` for these settings (the launcher's warm-up keys its views the same)."""
    try:
        inode = s.warehouse_path.stat().st_ino
    except FileNotFoundError:
        return ""
    import contextlib

    from sync.store import Warehouse

    # only a cache-key optimisation: a busy or unreadable store is the page's to report when it
    # reads; the version read below is right either way
    with contextlib.suppress(Exception):
        _schema_checked(str(s.warehouse_path), inode)
    return Warehouse(s.warehouse_path).version()


@st.cache_resource(max_entries=8, show_spinner=False)
def _schema_checked(path: str, inode: int) -> bool:
    """Open the warehouse once per process (and file) before its version is first read: the
    first read of a process checks the schema (``sync.store``), and a file it has to upgrade
    gets a new version; read before that, the version would change under the first session's
    views and the next session would compute them all again."""
    from sync.store import Warehouse

    with Warehouse(path).read():
        pass
    return True


@st.cache_resource(max_entries=2, show_spinner=False)
def _snapshot(data_dir: str, version: str, _settings: Settings) -> Any:
    from runway.api import load_snapshot
    from sync.freshness import company_freshness

    return load_snapshot(_settings).with_freshness(company_freshness(_settings))


def snapshot() -> Any:
    """The current snapshot of every company (one per store version, shared by all sessions)."""
    s = settings()
    return _snapshot(str(s.data_dir), store_version(), s)


@st.cache_resource(max_entries=64, show_spinner=False)
def _company_view(
    data_dir: str, version: str, realm_id: str, day: date, settings_stamp: str, _settings: Settings
) -> Any:
    from runway.api import company_view

    return company_view(_settings, realm_id, day, _snapshot(data_dir, version, _settings))


@st.cache_resource(max_entries=2, show_spinner=False)
def _firm_view(
    data_dir: str, version: str, day: date, settings_stamp: str, _settings: Settings
) -> Any:
    """Every calculator for every company at once (shared, not copied: frames are immutable)."""
    from runway.api import firm_view

    return firm_view(_settings, day, _snapshot(data_dir, version, _settings))


@st.cache_resource(max_entries=4, show_spinner=False)
def _firm_table(
    data_dir: str, version: str, day: date, settings_stamp: str, _settings: Settings
) -> Any:
    """The firm grid, read from its precomputed file when a process already computed it for
    this store version, day and settings (a fresh server then skips every calculator: the
    500-company grid is a file read), else computed once and written for the next process.
    Shared process-wide, not copied per hit (Polars frames are not changed in place)."""

    def compute() -> Any:
        import polars as pl

        from runway.api import exceptions_first

        view = _firm_view(data_dir, version, day, settings_stamp, _settings)
        trend = (
            view.forecast.filter(pl.col("line") == "p50")
            .sort("realm_id", "week")
            .group_by("realm_id", maintain_order=True)
            .agg(pl.col("closing").cast(pl.Float64).alias("balance_trend"))
        )
        return exceptions_first(view.firm).join(trend, on="realm_id", how="left")

    return _precomputed(_settings, "firm", version, day, settings_stamp, compute)


@st.cache_resource(max_entries=4, show_spinner=False)
def _firm_unconverted(
    data_dir: str, version: str, day: date, settings_stamp: str, _settings: Settings
) -> Any:
    """Every company's bank accounts left out of cash for want of an exchange rate (the flag
    the frame shows on firm-wide pages), precomputed like the grid: the firm page of a fresh
    server then reads two small files instead of running every calculator for every company."""

    def compute() -> Any:
        import polars as pl

        cash = _firm_view(data_dir, version, day, settings_stamp, _settings).cash
        if "unconverted" not in cash.columns:
            return cash.clear()
        return cash.filter(pl.col("unconverted"))

    return _precomputed(_settings, "unconverted", version, day, settings_stamp, compute)


def _precomputed(
    settings: Settings, name: str, version: str, day: date, settings_stamp: str, compute: Any
) -> Any:
    """``compute()``'s frame, read from its file under cache/views/ when a process already
    wrote it for this store version, day and settings; else computed and written."""
    import polars as pl

    stored = _precomputed_path(settings, name, version, day, settings_stamp)
    if stored is not None and stored.exists():
        try:
            return pl.read_parquet(stored)
        except Exception:  # a torn or foreign file: recompute and replace it
            stored.unlink(missing_ok=True)
    frame = compute()
    if stored is not None:
        _write_atomically(frame, stored)
    return frame


def _precomputed_path(
    settings: Settings, name: str, version: str, day: date, settings_stamp: str
) -> Any:
    """Where a precomputed view lives (Parquet: data only, nothing executable), or None before
    the first sync. The file name is a digest of everything the view depends on."""
    import hashlib

    if not version:
        return None
    key = hashlib.sha256(f"{version}|{day.isoformat()}|{settings_stamp}".encode()).hexdigest()
    return settings.cache_dir / "views" / f"{name}-{key[:24]}.parquet"


def _write_atomically(frame: Any, path: Any) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file; old files of
    other versions are removed (only the current view is worth keeping)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.write_parquet(temporary)
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)
        return
    prefix = path.name.split("-", 1)[0] + "-"
    for old in path.parent.glob(f"{prefix}*.parquet"):
        if old != path:
            old.unlink(missing_ok=True)


def prefetch(realm_id: str | None, page: str) -> None:
    """Start computing the company view this run will show in a background thread, so the frame
    (picker, freshness badge) and the view's computation overlap on a new session; the page then
    waits for the same cached result (Streamlit computes one cache key once: the page's call
    joins the computation in progress instead of starting a second one). The charting libraries
    are imported there too, once per process. Not for the firm grid: measured in Chromium
    (bench.ui --browser), overlapping it with the firm-wide badge made the first render slower.
    Failures are left for the page, which reports them in words."""
    import threading

    from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

    context = get_script_run_ctx()
    if context is None:  # not inside a Streamlit run (a plain import): nothing to overlap with
        return

    def work() -> None:
        try:
            if page in ("runway", "console", "settings") and realm_id is not None:
                _warm_imports()
                company_view(realm_id)
        except Exception:  # the page computes again and shows the error itself
            return

    thread = threading.Thread(target=work, name="oodaloo-prefetch", daemon=True)
    add_script_run_ctx(thread, context)
    thread.start()


@st.cache_resource(show_spinner=False)
def _warm_imports() -> bool:
    """Import the heavy modules a page needs once per process (not on the page's critical
    path): charting, and pandas + pyarrow, which Streamlit loads for the first table."""
    import altair  # noqa: F401  # imported for its side effect: loaded once per process
    import pandas  # noqa: F401  # imported for its side effect: loaded once per process
    import polars  # noqa: F401  # imported for its side effect: loaded once per process
    import pyarrow  # noqa: F401  # imported for its side effect: loaded once per process

    from oodaloo import charts  # noqa: F401  # imported for its side effect: loaded once per process

    return True


def company_view(realm_id: str) -> Any:
    """``runway.api.company_view`` for today, cached per (store version, settings stamp); a
    company the signed-in person holds no role in is refused (a deep link cannot reach it)."""
    from oodaloo import auth

    s = settings()
    if not visible_realms([realm_id]):
        auth.require(s, auth.current_identity(), "view", realm_id)
    return _company_view(str(s.data_dir), store_version(), realm_id, as_of(), settings_stamp(), s)


def visible_realms(realm_ids: list[str]) -> list[str]:
    """The companies the signed-in person holds a role in (all of them for a firm admin): a
    company nobody gave them is left out of every firm-wide view, not only the picker."""
    from oodaloo import auth

    s = settings()
    identity = auth.current_identity()
    if auth.is_admin(s, identity):
        return list(realm_ids)
    return [r for r in realm_ids if auth.can(s, identity, "view", r)]


def firm_table() -> Any:
    """The firm grid, exceptions first, with each company's 13-week P50 balance as a trend list
    — the companies this person may see."""
    import polars as pl

    s = settings()
    table = _firm_table(str(s.data_dir), store_version(), as_of(), settings_stamp(), s)
    every = table["realm_id"].to_list()
    shown = visible_realms(every)
    return table if len(shown) == len(every) else table.filter(pl.col("realm_id").is_in(shown))


def firm_unconverted() -> Any:
    """Bank accounts of every company this person may see that are left out of cash for want
    of an exchange rate (realm_id, account_name, currency, ...)."""
    import polars as pl

    s = settings()
    rows = _firm_unconverted(str(s.data_dir), store_version(), as_of(), settings_stamp(), s)
    if rows.is_empty():
        return rows
    every = rows["realm_id"].unique().to_list()
    shown = visible_realms(every)
    return rows if len(shown) == len(every) else rows.filter(pl.col("realm_id").is_in(shown))


@st.cache_resource(max_entries=256, show_spinner=False)
def _chart_spec(
    data_dir: str,
    version: str,
    realm_id: str,
    day: date,
    settings_stamp: str,
    name: str,
    _build: Any,
) -> dict[str, Any]:
    return dict(_build().to_dict())


def chart_spec(realm_id: str, name: str, build: Any) -> dict[str, Any]:
    """The Vega-Lite spec of ``build()`` (an Altair chart of this company's view), built and
    validated once per (company, store version, day, settings) and shared by every session:
    building and validating an Altair chart takes longer than computing what it draws. A deep
    copy is returned, so a caller (or Streamlit) changing it leaves the shared one intact."""
    import copy

    s = settings()
    spec = _chart_spec(
        str(s.data_dir), store_version(), realm_id, as_of(), settings_stamp(), name, build
    )
    return copy.deepcopy(spec)


def firm_view() -> Any:
    """``runway.api.firm_view`` for today (drift and hygiene of every company this person may
    see)."""
    s = settings()
    view = _firm_view(str(s.data_dir), store_version(), as_of(), settings_stamp(), s)
    every = view.companies["realm_id"].to_list()
    shown = visible_realms(every)
    return view if len(shown) == len(every) else view.only(shown)


def settings_stamp() -> str:
    """Changes when a company setting or a bill plan is saved (they change the forecast), by
    this session or by any other process (the CLI, another console)."""
    return str(st.session_state.get("settings_stamp", "0")) + ":" + _saved_settings_stamp()


# Only these state.sqlite tables feed the views (runway.settings). The file's modification time
# would also move with token refreshes and request counting, and every such write would make the
# next session recompute every view.
_STAMP_SQL = (
    "SELECT (SELECT count(*) || '/' || coalesce(max(updated_at), '') "
    "FROM runway_company_settings), (SELECT count(*) || '/' || coalesce(max(updated_at), '') "
    "FROM runway_bill_plans)"
)


def _saved_settings_stamp(path: Any = None) -> str:
    """Count and newest save of the company settings and bill plans (one indexed read) in
    ``path`` (default: this environment's state.sqlite)."""
    import sqlite3

    path = settings().state_path if path is None else path
    if not path.exists():
        return "none"
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            row = con.execute(_STAMP_SQL).fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError:  # the tables appear with the first read of the settings
        return "none"
    stamp = f"{row[0]}|{row[1]}"
    return "none" if stamp == "0/|0/" else stamp  # empty tables: as before they existed


def clear_views() -> None:
    """After a write that changes the forecast (settings saved, actions executed)."""
    st.session_state["settings_stamp"] = str(int(st.session_state.get("settings_stamp", "0")) + 1)


# ---- companies and the picker ----------------------------------------------------------


@st.cache_data(ttl=5, show_spinner=False)
def _companies(data_dir: str, _settings: Settings) -> list[dict[str, Any]]:
    from sync.connections import list_companies

    return [
        {
            "realm_id": c.realm_id,
            "name": c.name or c.realm_id,
            "state": c.state,
            "last_error": c.last_error,
        }
        for c in list_companies(_settings)
    ]


def companies() -> list[dict[str, Any]]:
    """Connected companies (name, state, last error), ordered by name."""
    s = settings()
    if not s.state_path.exists():
        return []
    return _companies(str(s.data_dir), s)


def company_names() -> dict[str, str]:
    """The connected companies the signed-in person has a role in, by realm id."""
    listed = companies()
    # one access check for the whole list (a firm admin sees every company without a lookup
    # per company: 500 lookups took seconds on the firm grid)
    shown = set(visible_realms([c["realm_id"] for c in listed]))
    return {c["realm_id"]: c["name"] for c in listed if c["realm_id"] in shown}


def selected_realm() -> str | None:
    """The company chosen in the sidebar, or None for "All companies"."""
    value = st.session_state.get(REALM_KEY)
    return None if value in (None, ALL_COMPANIES) else str(value)


def select_company(realm_id: str | None) -> None:
    """Set the sidebar picker and remember the choice (the firm grid's click-through uses it)."""
    st.session_state[REALM_KEY] = realm_id or ALL_COMPANIES
    st.session_state[CHOSEN_KEY] = realm_id or ALL_COMPANIES
