"""The transactional outbox's applier: work derived from a recorded outcome (store the returned
document in the warehouse, refresh the target, set the planned pay date, queue a sync).

The ledger writes these rows in the same SQLite transaction as the outcome, so a crash between
"QBO answered" and "the local store knows" loses nothing: whoever runs the applier next (the
executor right after recording, or ``reconcile()``) finishes the job. Every kind is idempotent
(``ingest_documents`` keeps one row per (realm, id, SyncToken); plans and sync requests upsert),
so applying a row twice is harmless."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from actions.ledger import Ledger
from actions.port import QBOPort
from oodaloo.config import Settings

log = logging.getLogger(__name__)
ACTION_RUN_ID = 0  # versions written by the action executor, not by a sync run


class OutboxApplier:
    def __init__(self, settings: Settings, ledger: Ledger, port: QBOPort | None,
                 now: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.now = now
        self.ledger = ledger
        self.port = port
        self._warehouse: Any = None

    def warehouse(self) -> Any:
        if self._warehouse is None:
            from sync.store import Warehouse

            self._warehouse = Warehouse(self.settings.warehouse_path)
        return self._warehouse

    def ingest(self, realm_id: str, entity: str, doc: dict[str, Any], intent_id: str) -> None:
        from sync.store import ingest_documents

        ingest_documents(self.warehouse(), realm_id, entity, [doc], run_id=ACTION_RUN_ID, source=f"action:{intent_id}",
                         ingested_at=self.now() if self.now else None)

    def apply_row(self, row: dict[str, Any]) -> None:
        kind, realm, payload = row["kind"], row["realm_id"], row["payload"]
        if kind == "ingest":
            self.ingest(realm, payload["entity"], payload["doc"], row["intent_id"])
        elif kind == "refresh":
            if self.port is not None:
                doc = self.port.read(realm, payload["entity"], payload["id"])
                self.ingest(realm, payload["entity"], doc, row["intent_id"])
        elif kind == "plan":
            from runway.settings import set_planned_pay_date

            set_planned_pay_date(self.settings, realm, payload["bill_id"], date.fromisoformat(payload["until"]),
                                 payload.get("note") or "")
        elif kind == "request_sync":
            from sync.queue import request_sync

            request_sync(self.settings, realm, payload.get("reason") or "action")
        else:
            raise ValueError(f"unknown outbox row kind {kind!r}")

    def apply(self, intent_id: str | None = None) -> int:
        """Apply pending rows (of one intent, or all); returns how many were applied now."""
        applied = 0
        for row in self.ledger.pending_outbox(intent_id):
            try:
                self.apply_row(row)
            except Exception as exc:  # stays pending; retried by the next run
                log.warning("outbox row %s (%s) not applied: %s", row["seq"], row["kind"], exc)
                self.ledger.outbox_failed(row["seq"], f"{type(exc).__name__}: {exc}")
                continue
            if self.ledger.outbox_done(row["seq"]):
                applied += 1
        return applied
