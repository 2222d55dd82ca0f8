"""``build_demo_firm``: stream every generated company into a sandbox database.

It **refuses** (``DemoFirmExistsError``) when the database already holds any of the firm's
realms, instead of silently mixing two builds (a different ``today`` or ``scale`` would give
different documents under the same Ids). Callers that want "build if missing" check
``firm_profiles(seed, companies)`` against ``SandboxDB.companies()`` first, or catch the error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from sandbox.demo.books import clock_now
from sandbox.demo.generate import generate_company
from sandbox.demo.profiles import firm_profiles


class DemoFirmExistsError(FileExistsError):
    """The sandbox database already holds companies of this demo firm."""


def build_demo_firm(
    db_path: Path,
    *,
    seed: int,
    today: date,
    companies: int = 12,
    scale: float = 1.0,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[dict[str, str]]:
    """Generate ``companies`` companies into the sandbox at ``db_path`` and set its clock to
    ``today`` 09:00 America/New_York. Returns ``[{"realm_id", "name", "profile"}]``.

    ``progress(done, total, documents_of_this_company)`` is called after each company.
    """
    from sandbox.state import (
        SandboxDB,
    )  # the sandbox store; imported late so the generator stays pure

    profiles = firm_profiles(seed, companies)
    db = SandboxDB(Path(db_path))
    try:
        existing = {c["realm_id"] for c in db.companies()}
        clash = [p for p in profiles if p.realm_id in existing]
        if clash:
            names = ", ".join(f"{p.name} ({p.realm_id})" for p in clash[:3])
            raise DemoFirmExistsError(
                f"{db_path} already holds {len(clash)} of the demo firm's companies "
                f"(e.g. {names}); "
                "remove the file or use another seed"
            )
        # Documents carry MetaData; the clock only matters for CompanyInfo defaults and later
        # writes.
        db.set_clock(clock_now(today))
        for done, profile in enumerate(profiles, 1):
            docs = generate_company(profile, seed, today, scale)
            db.create_company(profile.realm_id, docs.pop("CompanyInfo")[0])
            count = 1
            for entity, items in docs.items():
                if items:
                    db.bulk_insert(profile.realm_id, entity, items)
                    count += len(items)
            del docs
            if progress is not None:
                progress(done, len(profiles), count)
    finally:
        db.close()
    return [p.as_dict() for p in profiles]
