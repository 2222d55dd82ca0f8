"""The Friday digest: one PDF per company and one for the firm, made from the snapshot of what we
knew at Friday 07:00 local, stored with a JSON manifest of its figures, scheduled and e-mailed.

The public API is ``__all__`` below (imported on first use); pages use the digest only through
these names, never its internals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from oodaloo.faces import export

if TYPE_CHECKING:  # for type checkers; at run time each name is imported on first use
    from digest.make import make_company_digest, make_digest, make_firm_digest
    from digest.schedule import add_digest_jobs, run_due_digests
    from digest.ui import render, render_digest_page

__all__ = [
    "make_digest",
    "make_company_digest",
    "make_firm_digest",
    "run_due_digests",
    "add_digest_jobs",
    "render",
    "render_digest_page",
]
_EXPORTS = {
    "make_digest": "digest.make",
    "make_company_digest": "digest.make",
    "make_firm_digest": "digest.make",
    "run_due_digests": "digest.schedule",
    "add_digest_jobs": "digest.schedule",
    "render": "digest.ui",
    "render_digest_page": "digest.ui",
}


def __getattr__(name: str) -> object:
    return export(__name__, _EXPORTS, name)
