"""Actions approved and executed this week, with the id QuickBooks gave them, from the action
ledger (actions.service). Only intents finished by the digest's cut-off count, so a regenerated
past week lists the same actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from oodaloo.config import Settings
from runway.snapshot import Snapshot

LABELS = {
    "pay_bill": "Paid bill",
    "delay_bill": "Planned bill",
    "send_reminder": "Sent reminder for invoice",
}


def _doc_numbers(snapshot: Snapshot, table: str, realm_id: str) -> dict[str, str]:
    frame = snapshot[table]
    if frame.is_empty() or "doc_number" not in frame.columns:
        return {}
    rows = frame.filter(pl.col("realm_id") == realm_id).select("id", "doc_number").to_dicts()
    return {str(r["id"]): str(r["doc_number"]) for r in rows if r["doc_number"]}


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def finished_at(intent: dict[str, Any]) -> datetime | None:
    """When a succeeded intent finished (None for any other state)."""
    if intent.get("state") != "succeeded":
        return None
    return _parse(intent.get("finished_at"))


def load_intents(settings: Settings) -> list[dict[str, Any]]:
    """Every intent of the action ledger (one read per digest run; none before any action)."""
    if not settings.actions_path.exists():
        return []
    from actions.service import ActionService

    with ActionService(settings) as service:
        return service.list_intents()


def executed_actions(
    intents: list[dict[str, Any]], realm_id: str, start: datetime, end: datetime, snapshot: Snapshot
) -> list[dict[str, Any]]:
    """Succeeded intents of ``realm_id`` finished in [start, end], oldest first, as table rows."""
    numbers = {
        "bill": _doc_numbers(snapshot, "bill", realm_id),
        "invoice": _doc_numbers(snapshot, "invoice", realm_id),
    }
    rows: list[dict[str, Any]] = []
    for intent in intents:
        finished = _parse(intent.get("finished_at"))
        if (
            intent.get("realm_id") != realm_id
            or intent.get("state") != "succeeded"
            or finished is None
        ):
            continue
        if not start <= finished <= end:
            continue
        action, target = str(intent.get("action")), str(intent.get("target_id"))
        kind = "invoice" if action == "send_reminder" else "bill"
        label = f"{LABELS.get(action, action)} {numbers[kind].get(target, target)}"
        params = intent.get("params") or {}
        if action == "delay_bill" and params.get("until"):
            label += f" for {params['until']}"
        qbo_id = intent.get("qbo_id")
        rows.append(
            {
                "executed": finished.date(),
                "action": label,
                "amount": params.get("amount"),
                "qbo_id": f"{intent.get('qbo_entity') or ''} {qbo_id}".strip() if qbo_id else None,
                "approved_by": intent.get("actor"),  # the signed-in approver(s), or local:<user>
                "_finished": finished,
            }
        )
    rows.sort(key=lambda r: r["_finished"])
    return [{k: v for k, v in r.items() if k != "_finished"} for r in rows]
