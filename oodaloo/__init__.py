"""Oodaloo: cash-runway console for agencies on QuickBooks Online.

This package holds the wiring shared by every layer: typed configuration, the clock, the
choice of QBO endpoint and the command line. Domain code lives in `sync/`, `runway/`,
`actions/`, `digest/` and the simulated QBO in `sandbox/`. The public API is ``__all__`` below
(imported on first use)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oodaloo.faces import export

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers; at run time each name is imported on first use
    from oodaloo.clock import now, today
    from oodaloo.config import Settings, load_settings
    from oodaloo.timezone import DEFAULT_TZ
    from oodaloo.wiring import http_client, qbo_transport

__all__ = [
    "__version__",
    "Settings",
    "load_settings",
    "now",
    "today",
    "DEFAULT_TZ",
    "qbo_transport",
    "http_client",
]
_EXPORTS = {
    "Settings": "oodaloo.config",
    "load_settings": "oodaloo.config",
    "now": "oodaloo.clock",
    "today": "oodaloo.clock",
    "DEFAULT_TZ": "oodaloo.timezone",
    "qbo_transport": "oodaloo.wiring",
    "http_client": "oodaloo.wiring",
}


def __getattr__(name: str) -> object:
    return export(__name__, _EXPORTS, name)
