"""The per-company status report behind ``oodaloo status`` (and the console's status panel)."""

from __future__ import annotations

from typing import Any

from oodaloo.config import Settings
from sync import connections, quota, store
from sync.freshness import company_freshness
from sync.schema import ENTITIES


def document_counts(warehouse: store.Warehouse) -> dict[str, dict[str, int]]:
    """{realm_id: {entity: current documents}}.

    Deleted documents are excluded, inactive list entries included."""
    parts = " UNION ALL ".join(
        f"SELECT realm_id, '{spec.qbo_name}' AS entity, count(*) AS n "
        f"FROM {spec.current_view} GROUP BY realm_id"
        for spec in ENTITIES
    )
    with warehouse.read() as con:
        rows = con.execute(parts).fetchall()
    out: dict[str, dict[str, int]] = {}
    for realm_id, entity, n in rows:
        out.setdefault(realm_id, {})[entity] = int(n)
    return out


def status_report(settings: Settings) -> list[dict[str, Any]]:
    companies = connections.list_companies(settings)
    fresh = {f.realm_id: f for f in company_freshness(settings, [c.realm_id for c in companies])}
    counts = document_counts(store.warehouse_for(settings)) if companies else {}
    health = (
        store.sync_health(store.warehouse_for(settings))
        if companies and settings.warehouse_path.exists()
        else {}
    )
    report = []
    for company in companies:
        f = fresh[company.realm_id]
        report.append(
            {
                "realm_id": company.realm_id,
                "name": company.name,
                "connection": company.state,
                "last_sync": f.last_success_at.isoformat() if f.last_success_at else None,
                "freshness": f.status,
                "badge": f.badge,
                "documents": {
                    spec.qbo_name: counts.get(company.realm_id, {}).get(spec.qbo_name, 0)
                    for spec in ENTITIES
                },
                "requests_today": quota.requests_on(settings, company.realm_id),
                "last_error": company.last_error,
                "last_fault": _fault(health.get(company.realm_id)),
                "last_event_at": _iso((health.get(company.realm_id) or {}).get("last_event_at")),
            }
        )
    return report


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _fault(health: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last recorded read fault (kind, text, when), if any."""
    if not health or health.get("last_fault_at") is None:
        return None
    return {
        "kind": health.get("last_fault_kind"),
        "error": health.get("last_fault"),
        "at": _iso(health.get("last_fault_at")),
    }
