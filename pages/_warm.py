"""Warm-up of a fresh console process, run by the launcher (``oodaloo console``) before the
server starts listening.

A first session on a fresh server used to import the data and charting libraries, read the
snapshot, run the calculators and build the charts while the visitor waited. The same work is
done here once, into the very caches the pages read (``pages._state``: keyed by data folder,
store version, day and saved settings, exactly as a new session computes its keys), so the first
visitor finds it done. Nothing here is specific to one visitor: the default company (the first by
name, where an admin's picker starts), the actions service whose ledger Runway and the Console
read for pending actions (its imports and its opening took 0.13-0.18 s of a first session), and
the firm grid (read from its precomputed file when a previous process wrote one).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from oodaloo.config import Settings

LOG = logging.getLogger(__name__)


def warm(settings: Settings) -> dict[str, float]:
    """Fill the process-wide caches; returns seconds per step (for the log). A step that fails
    is logged and skipped: the page computes it again and reports any error in words."""
    took: dict[str, float] = {}

    def step(name: str, work: Any) -> Any:
        started = time.perf_counter()
        try:
            return work()
        except Exception:  # a warm-up never stops the console from starting
            LOG.warning("console warm-up: %s failed", name, exc_info=True)
            return None
        finally:
            took[name] = time.perf_counter() - started

    step("imports", _imports)
    if not settings.warehouse_path.exists():
        return took
    from oodaloo.clock import today
    from pages import _company, _state
    from sync.connections import list_companies

    data_dir = str(settings.data_dir)
    version = _state.version_of(settings)
    day = today(settings)
    stamp = "0:" + _state._saved_settings_stamp(settings.state_path)  # a new session's stamp
    step("snapshot", lambda: _state._snapshot(data_dir, version, settings))
    companies = list_companies(settings)
    if companies:
        realm = companies[0].realm_id  # the picker's first choice (companies ordered by name)

        def company() -> None:
            view = _state._company_view(data_dir, version, realm, day, stamp, settings)
            charts = {
                "forecast": functools.partial(_company.forecast_chart, view),
                "aging_ar": functools.partial(_company.aging_chart, view, "ar"),
                "aging_ap": functools.partial(_company.aging_chart, view, "ap"),
            }
            for name, build in charts.items():
                _state._chart_spec(data_dir, version, realm, day, stamp, name, build)

        step("default company", company)
    if settings.actions_path.exists():  # Runway and the Console list the pending actions
        from pages import _approval

        step("approvals", lambda: _approval._service(data_dir))
    step("firm grid", lambda: _state._firm_table(data_dir, version, day, stamp, settings))
    step("firm flags", lambda: _state._firm_unconverted(data_dir, version, day, stamp, settings))
    return took


def _imports() -> None:
    """The modules a first page run would import (about a second on this machine)."""
    import PIL.Image  # noqa: F401  # imported for its side effect: the page icon's first load
    import streamlit.elements.vega_charts  # imported for its side effect

    import pages._approval  # imported for its side effect: loaded once
    import pages._frame  # imported for its side effect: loaded once
    import pages._ui  # noqa: F401  # imported for its side effect: loaded once
    import runway.api  # noqa: F401  # imported for its side effect: loaded once
    import sync.freshness  # noqa: F401  # imported for its side effect: loaded once
    from oodaloo import auth  # noqa: F401  # imported for its side effect: loaded once
    from pages import _state

    _state._warm_imports()

    import streamlit.delta_generator
    from streamlit.runtime.pages_manager import PagesManager

    # app.py routes every page through st.navigation; said before the server starts, a first
    # visitor's deep link (/firm) is not run as a lone page file of the pages/ folder first
    # and then again through app.py (pages/_route.py handles servers started without this).
    PagesManager.uses_pages_directory = False

    # Streamlit's first element in a process walks the whole stack with inspect.stack() (0.3 s
    # here) to tell whether it runs in a REPL, only to print a usage warning; this process is
    # the console server, never a REPL, so the first visitor is spared the walk.
    streamlit.delta_generator._use_warning_has_been_displayed = True
