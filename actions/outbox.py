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
    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        port: QBOPort | None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
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

    def ingest(self, realm_id: str, entity: str, docs: list[dict[str, Any]], source: str) -> None:
        from sync.ingest import ingest_documents

        unique = {
            (str(d.get("Id")), str(d.get("SyncToken"))): d for d in docs
        }  # one row per version
        ingest_documents(
            self.warehouse(),
            realm_id,
            entity,
            list(unique.values()),
            run_id=ACTION_RUN_ID,
            source=source,
            ingested_at=self.now() if self.now else None,
        )

    def apply(self, intent_id: str | None = None) -> int:
        """Apply pending rows (of one intent, or all); returns how many were applied now.

        Documents are grouped per (company, entity) into one warehouse write (a DuckDB write
        costs tens of milliseconds, the documents almost nothing); sync requests collapse per
        company. A failing group stays pending for the next run; the others go ahead."""
        rows = self.ledger.pending_outbox(intent_id)
        groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
        syncs: dict[str, list[int]] = {}
        done: list[int] = []
        for row in rows:
            kind, realm, payload = row["kind"], row["realm_id"], row["payload"]
            try:
                if kind == "ingest":
                    groups.setdefault((realm, payload["entity"]), []).append(
                        (row["seq"], payload["doc"])
                    )
                elif kind == "refresh":
                    doc = (
                        self.port.read(realm, payload["entity"], payload["id"])
                        if self.port is not None
                        else None
                    )
                    if doc is None:
                        done.append(row["seq"])
                    else:
                        groups.setdefault((realm, payload["entity"]), []).append((row["seq"], doc))
                elif kind == "plan":
                    from runway.settings import set_planned_pay_date

                    set_planned_pay_date(
                        self.settings,
                        realm,
                        payload["bill_id"],
                        date.fromisoformat(payload["until"]),
                        payload.get("note") or "",
                    )
                    done.append(row["seq"])
                elif kind == "request_sync":
                    syncs.setdefault(realm, []).append(row["seq"])
                else:
                    raise ValueError(f"unknown outbox row kind {kind!r}")
            except Exception as exc:  # stays pending; retried by the next run
                self._failed([row["seq"]], kind, exc)
        for (realm, entity), items in groups.items():
            try:
                self.ingest(realm, entity, [doc for _, doc in items], source="action")
                done += [seq for seq, _ in items]
            except Exception as exc:
                self._failed([seq for seq, _ in items], f"ingest {entity}", exc)
        for realm, seqs in syncs.items():
            try:
                from sync.queue import request_sync

                request_sync(self.settings, realm, f"{len(seqs)} action(s) recorded")
                done += seqs
            except Exception as exc:
                self._failed(seqs, "request_sync", exc)
        return self.ledger.outbox_done_many(done)

    def _failed(self, seqs: list[int], what: str, exc: Exception) -> None:
        log.warning("outbox rows %s (%s) not applied yet: %s", seqs, what, exc)
        for seq in seqs:
            self.ledger.outbox_failed(seq, f"{type(exc).__name__}: {exc}")
