"""Package faces that import nothing until used.

Each package's ``__init__`` names its public API in ``__all__`` and maps every name to the
module that defines it; ``export`` imports that module on first use. So ``from sync import
ensure_fresh`` works, while ``import sync`` (and ``oodaloo sync``) stays free of Polars, DuckDB or
Streamlit until something actually needs them."""

from __future__ import annotations

import importlib
from collections.abc import Mapping


def export(package: str, exports: Mapping[str, str], name: str) -> object:
    """The public ``name`` of ``package`` (for its module ``__getattr__``)."""
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
