"""Exactly-once actions on QBO (pay a bill, delay a bill, send a reminder): a durable intent
ledger, guards before every write, the executor with recovery, an outbox, audit and the CLI.

The public API is ``__all__`` below (imported on first use): ``ActionService`` is the one entry
point for pages and the CLI; the ledger, guards, handlers and executor are internal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oodaloo.faces import export

if TYPE_CHECKING:  # for type checkers; at run time each name is imported on first use
    from actions.service import ActionService

__all__ = [
    "ActionService",
]
_EXPORTS = {
    "ActionService": "actions.service",
}


def __getattr__(name: str) -> object:
    return export(__name__, _EXPORTS, name)
