"""The QBO Accounting API v3 endpoints of one realm: query, read, create/update/delete/void, send,
CDC, batch, companyinfo, preferences, exchangerate and reports. Writes run in one
``BEGIN IMMEDIATE`` transaction together with their ``requestid`` record, so a replay returns the
original answer and creates nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sandbox import docstore, reports, timeutil
from sandbox import faults_envelope as F
from sandbox.config import SandboxConfig
from sandbox.entities import CDC_ENTITIES, ENTITIES, canonical
from sandbox.query import QueryError, parse
from sandbox.rules import Context
from sandbox.state import SandboxDB, dumps, loads
from sandbox.writes import Writer

Doc = dict[str, Any]
MAX_BATCH_ITEMS = 30


def _json_body(body: bytes) -> Any:
    try:
        return loads(body) if body.strip() else {}
    except ValueError as exc:
        raise F.validation(
            "Request has invalid or unsupported property", f"the body is not valid JSON: {exc}"
        ) from exc


def _query_fault(exc: QueryError) -> F.QBOFault:
    return F.QBOFault(
        400, exc.code, "Error parsing query" if exc.code == "4000" else "Invalid query", str(exc)
    )


def deleted_stub(doc_id: str, updated_at: float, tz: str) -> Doc:
    return {
        "domain": "QBO",
        "status": "Deleted",
        "Id": str(doc_id),
        "MetaData": {"LastUpdatedTime": timeutil.stamp(updated_at, tz)},
    }


class RealmApi:
    """Answers one request for one realm: returns (status, body bytes) or raises QBOFault."""

    def __init__(self, db: SandboxDB, config: SandboxConfig) -> None:
        self.db = db
        self.config = config

    # ---- helpers ---------------------------------------------------------------------------
    def _time(self, tz: str, now: float) -> str:
        return timeutil.stamp_millis(now, tz)

    def _answer(self, payload: Doc, tz: str, now: float) -> bytes:
        return dumps({**payload, "time": self._time(tz, now)}).encode()

    def _entity(self, name: str) -> str:
        entity = canonical(name)
        if entity is None:
            raise F.validation(
                "Unsupported Operation", f"Operation on {name!r} is not supported", code="4001"
            )
        return entity

    def _cdc_entity(self, name: str) -> str:
        """An entity QBO's CDC lists (an empty answer when nothing changed); any other name,
        ExchangeRate and CompanyInfo included, keeps QBO's error."""
        entity = canonical(name)
        if entity is None or entity not in CDC_ENTITIES:
            raise F.validation(
                "Unsupported Operation",
                f"Operation on {name!r} is not supported by Change Data Capture",
                "entities",
                code="4001",
            )
        return entity

    # ---- reads -------------------------------------------------------------------------
    def exchange_rate(
        self, conn: sqlite3.Connection, realm: str, params: dict[str, str], tz: str, now: float
    ) -> Doc:
        """``GET /exchangerate?sourcecurrencycode=CAD&asofdate=YYYY-MM-DD``: the rate in force on
        that date (the latest one dated on or before it; today when no date is given)."""
        source = (params.get("sourcecurrencycode") or "").strip().upper()
        if not source:
            raise F.required("sourcecurrencycode")
        raw_date = (params.get("asofdate") or "").strip()
        try:
            as_of = (
                timeutil.parse_date(raw_date) if raw_date else timeutil.local_date(now, tz)
            ).isoformat()
        except ValueError as exc:
            raise F.validation(
                "Invalid date", f"asofdate must be YYYY-MM-DD, got {raw_date!r}", "asofdate"
            ) from exc
        found = docstore.docs_where(
            conn,
            realm,
            "ExchangeRate",
            "upper(json_extract(d.doc, '$.SourceCurrencyCode')) = ? "
            "AND json_extract(d.doc, '$.AsOfDate') <= ? "
            "ORDER BY json_extract(d.doc, '$.AsOfDate') DESC LIMIT 1",
            [source, as_of],
        )
        if not found:
            raise F.QBOFault(
                400,
                "610",
                "Object Not Found",
                f"no exchange rate for {source} on or before {as_of}",
                "sourcecurrencycode",
            )
        return found[0]

    def query(
        self, conn: sqlite3.Connection, realm: str, text: str, tz: str, cutoff: float | None
    ) -> Doc:
        try:
            parsed = parse(text)
            result = docstore.run_query(conn, realm, parsed, tz, cutoff)
        except QueryError as exc:
            raise _query_fault(exc) from exc
        if isinstance(result, int):
            return {"totalCount": result}
        if not result:
            return {}
        return {parsed.entity: result, "startPosition": parsed.start, "maxResults": len(result)}

    def read(self, conn: sqlite3.Connection, realm: str, entity: str, doc_id: str) -> Doc:
        doc = docstore.get_live(conn, realm, entity, doc_id)
        if doc is None:
            raise F.not_found(entity, doc_id)
        return doc

    def cdc(
        self,
        conn: sqlite3.Connection,
        realm: str,
        params: dict[str, str],
        tz: str,
        now: float,
        cutoff: float | None,
    ) -> Doc:
        names = [n for n in (params.get("entities") or "").split(",") if n.strip()]
        if not names:
            raise F.required("entities")
        entities = [self._cdc_entity(n) for n in names]
        raw_since = params.get("changedSince") or ""
        if not raw_since:
            raise F.required("changedSince")
        try:
            since = timeutil.parse_timestamp(raw_since, tz)
        except ValueError as exc:
            raise F.validation("Invalid changedSince", str(exc), "changedSince") from exc
        if since < now - self.config.cdc_window_days * 86400:
            raise F.validation(
                "Invalid changedSince",
                f"changedSince must be within the last {self.config.cdc_window_days} days",
                "changedSince",
                code="2010",
            )
        changed = docstore.changed_since(
            conn, realm, entities, since, self.config.cdc_max_objects, cutoff
        )
        groups: dict[str, list[Doc]] = {}
        for entity, stored in changed:
            item = (
                deleted_stub(stored.doc["Id"], stored.updated_at, tz)
                if stored.deleted
                else stored.doc
            )
            groups.setdefault(entity, []).append(item)
        responses = [
            {e: groups[e], "startPosition": 1, "maxResults": len(groups[e])}
            for e in entities
            if e in groups
        ]
        return {"CDCResponse": [{"QueryResponse": responses or [{}]}]}

    # ---- writes ------------------------------------------------------------------------
    def write(
        self,
        realm: str,
        requestid: str | None,
        tz: str,
        action: Callable[[Writer], Doc],
        max_requestid: int = 50,
    ) -> tuple[int, bytes]:
        """Run ``action`` in one transaction with its requestid record.

        A requestid seen before (within the retention window) replays the stored answer."""
        if requestid is not None and (not requestid or len(requestid) > max_requestid):
            raise F.validation(
                "Invalid requestid", f"requestid must be 1..{max_requestid} characters", "requestid"
            )
        with self.db.write() as conn:
            now = self.db.now_epoch()
            if requestid:
                row = conn.execute(
                    "SELECT status, body FROM requestids "
                    "WHERE realm_id = ? AND requestid = ? AND created_at >= ?",
                    (realm, requestid, now - self.config.requestid_retention_seconds),
                ).fetchone()
                if row is not None:
                    return int(row[0]), bytes(row[1])
            writer = Writer(Context(conn, realm, tz, now), self.db)
            body = self._answer(action(writer), tz, now)
            if requestid:
                conn.execute(
                    "INSERT OR REPLACE INTO requestids "
                    "(realm_id, requestid, created_at, status, body) VALUES (?, ?, ?, 200, ?)",
                    (realm, requestid, now, body),
                )
                conn.execute(
                    "DELETE FROM requestids WHERE realm_id = ? AND created_at < ?",
                    (realm, now - self.config.requestid_retention_seconds),
                )
        return 200, body

    def entity_post(self, writer: Writer, entity: str, params: dict[str, str], body: Any) -> Doc:
        operation = (params.get("operation") or "").lower()
        include = (params.get("include") or "").lower()
        if operation == "delete":
            return {entity: writer.delete(entity, body)}
        if operation == "void" or (operation == "update" and include == "void"):
            return {entity: writer.void(entity, body)}
        if operation not in ("", "create", "update"):
            raise F.validation("Unsupported Operation", f"operation={operation!r} is not supported")
        is_update = operation == "update" or (
            isinstance(body, dict) and body.get("Id") not in (None, "")
        )
        if is_update:
            return {entity: writer.update(entity, body)}
        return {entity: writer.create(entity, body)}

    def batch_item(self, writer: Writer, item: Any, tz: str, cutoff: float | None) -> Doc:
        if not isinstance(item, dict) or not item.get("bId"):
            raise F.required("bId")
        if "Query" in item:
            return {
                "QueryResponse": self.query(
                    writer.ctx.conn, writer.ctx.realm, str(item["Query"]), tz, cutoff
                )
            }
        names = [k for k in item if canonical(k) is not None]
        if len(names) != 1:
            raise F.validation(
                "Invalid batch item", "a batch item needs exactly one entity object or a Query"
            )
        entity = canonical(names[0]) or ""
        operation = str(item.get("operation") or "create").lower()
        params = {"operation": operation}
        if operation == "void" or str(item.get("optionsData") or "").lower() == "void":
            params = {"operation": "void"}
        return self.entity_post(writer, entity, params, item[names[0]])

    def batch(
        self, realm: str, requestid: str | None, tz: str, body: Any, cutoff: float | None
    ) -> tuple[int, bytes]:
        items = body.get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise F.required("BatchItemRequest")
        if len(items) > MAX_BATCH_ITEMS:
            raise F.validation(
                "Batch too large",
                f"a batch holds at most {MAX_BATCH_ITEMS} items, got {len(items)}",
            )

        def run_all(writer: Writer) -> Doc:
            answers = []
            conn = writer.ctx.conn
            for index, item in enumerate(items):
                bid = item.get("bId") if isinstance(item, dict) else None
                conn.execute(f"SAVEPOINT item{index}")
                try:
                    answer = self.batch_item(writer, item, tz, cutoff)
                    conn.execute(f"RELEASE item{index}")
                except F.QBOFault as fault:
                    conn.execute(f"ROLLBACK TO item{index}")
                    conn.execute(f"RELEASE item{index}")
                    answer = fault.body()
                answers.append({"bId": bid, **answer})
            return {"BatchItemResponse": answers}

        return self.write(realm, requestid, tz, run_all, max_requestid=36)

    # ---- dispatch ----------------------------------------------------------------------
    def handle(
        self,
        realm: str,
        tz: str,
        method: str,
        parts: list[str],
        params: dict[str, str],
        body: bytes,
        cutoff: float | None,
    ) -> tuple[int, bytes]:
        requestid = params.get("requestid")
        head = parts[0].lower() if parts else ""
        if method == "POST" and head == "batch" and len(parts) == 1:
            return self.batch(realm, requestid, tz, _json_body(body), cutoff)
        if (
            method == "POST"
            and head == "invoice"
            and len(parts) == 3
            and parts[2].lower() == "send"
        ):
            return self.write(
                realm,
                requestid,
                tz,
                lambda w: {"Invoice": w.send_invoice(parts[1], params.get("sendTo"))},
            )
        if method == "POST" and len(parts) == 1 and head != "query":
            entity = self._entity(parts[0])
            posted = _json_body(body)
            return self.write(
                realm, requestid, tz, lambda w: self.entity_post(w, entity, params, posted)
            )
        with self.db.read() as conn:
            now = self.db.now_epoch()
            if head == "query" and len(parts) == 1 and method in ("GET", "POST"):
                text = params.get("query") if method == "GET" else body.decode(errors="replace")
                payload: Doc = {"QueryResponse": self.query(conn, realm, text or "", tz, cutoff)}
            elif method != "GET":
                raise F.validation(
                    "Unsupported Operation", f"{method} {'/'.join(parts)} is not supported"
                )
            elif head == "cdc" and len(parts) == 1:
                payload = self.cdc(conn, realm, params, tz, now, cutoff)
            elif head == "companyinfo" and len(parts) == 2:
                payload = {"CompanyInfo": self.read(conn, realm, "CompanyInfo", "1")}
            elif head == "preferences" and len(parts) == 1:
                payload = {"Preferences": self.read(conn, realm, "Preferences", "1")}
            elif head == "exchangerate" and len(parts) == 1:
                payload = {"ExchangeRate": self.exchange_rate(conn, realm, params, tz, now)}
            elif head == "reports" and len(parts) == 2 and parts[1] in reports.KINDS:
                payload = reports.aged_report(conn, realm, parts[1], params, tz, now)
                return 200, dumps(payload).encode()
            elif len(parts) == 2:
                payload = {
                    self._entity(parts[0]): self.read(conn, realm, self._entity(parts[0]), parts[1])
                }
            else:
                raise F.validation(
                    "Unsupported Operation", f"GET {'/'.join(parts)} is not supported", code="4001"
                )
            return 200, self._answer(payload, tz, now)


__all__ = ["ENTITIES", "RealmApi"]
