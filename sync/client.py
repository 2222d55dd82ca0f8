"""The QBO v3 client: one httpx client, the per-realm limiter, OAuth refresh, typed errors and the
one retry policy. Thread-safe: the sync engine and the action executor call it from many threads.

Every call takes ``realm_id`` and ``lane`` ("sync" for background work, "user" for an owner's
click). Writes carry a ``requestid`` (generated when not given) so retrying them is safe; a write
whose retries end on a network error raises TransientError, meaning "outcome unknown"."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from oodaloo.config import Settings
from oodaloo.wiring import qbo_transport
from sync import connections
from sync.errors import (
    PermanentError,
    QBOError,
    QuotaExceeded,
    ReauthRequired,
    ThrottledError,
    TransientError,
)
from sync.limiter import LimiterRegistry, Limits, RealmLimiter, registry
from sync.quota import counter
from sync.rawpages import Page, batch_item_rows, batch_pages, query_page, rows_of
from sync.retry import RetryPolicy, classify_raw, classify_response, transport_error
from sync.token_endpoint import refresh_tokens
from sync.tokens import AccessToken, TokenStore

log = logging.getLogger(__name__)
Doc = dict[str, Any]
MAX_BATCH_ITEMS = 30
MAX_PAGE = 1000


def qbo_timestamp(ts: datetime) -> str:
    """A timestamp as QBO queries and CDC accept it (UTC with explicit offset)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def quote(value: str) -> str:
    """A string literal for the query language (backslash escaping)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class QBOClient:
    """``QBOClient(settings, *, transport=None)``; use as a context manager or call ``close()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        limiters: LimiterRegistry | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
    ) -> None:
        self.settings = settings
        self.tokens = TokenStore(settings)
        if limiters is None:
            limiters = registry()
            limiters.configure(Limits.from_settings(settings))
        self.limiters = limiters
        self.retry = retry or RetryPolicy()
        self.counter = counter(settings)
        transport = transport or qbo_transport(settings)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        kwargs: dict[str, Any] = {
            "timeout": timeout or settings.qbo_timeout_seconds,
            "limits": limits,
        }
        if transport is not None:
            kwargs["transport"] = transport
        self._http = httpx.Client(**kwargs)
        self._auth_http = httpx.Client(**kwargs)
        self.requests_made = 0
        self._per_realm: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._refused: set[tuple[str, str]] = set()  # (realm, feature) the server turned down

    def __enter__(self) -> QBOClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.counter.flush()
        self._http.close()
        self._auth_http.close()

    # ---- plumbing ---------------------------------------------------------------------------
    def _count(self, realm_id: str) -> None:
        with self._count_lock:
            self.requests_made += 1
            self._per_realm[realm_id] = self._per_realm.get(realm_id, 0) + 1
        self.counter.add(realm_id)

    def requests_for(self, realm_id: str) -> int:
        """Requests this client sent for a company (retries included)."""
        with self._count_lock:
            return self._per_realm.get(realm_id, 0)

    def refuses(self, realm_id: str, feature: str) -> bool:
        """Whether this company's server turned down ``feature`` ("batch", "projection") before.
        Decided per company and under a lock: one company's answer never changes what another
        company's thread sends, nor what a statement already sent is judged by."""
        with self._count_lock:
            return (realm_id, feature) in self._refused

    def mark_refused(self, realm_id: str, feature: str) -> None:
        with self._count_lock:
            self._refused.add((realm_id, feature))

    def limiter(self, realm_id: str) -> RealmLimiter:
        return self.limiters.for_realm(realm_id)

    def _token(self, realm_id: str) -> AccessToken:
        token = self.tokens.access_token(realm_id)
        if token is None:
            raise ReauthRequired("QuickBooks is not connected", realm_id=realm_id)
        if token.expired():
            token = self._refresh(realm_id, token.generation)
        return token

    def _refresh(self, realm_id: str, stale_generation: int | None) -> AccessToken:
        def mark(con: object) -> None:
            assert con is None or isinstance(con, sqlite3.Connection)  # the token store's
            connections.mark_reconnect_needed(
                self.settings, realm_id, "QuickBooks authorisation expired or was revoked", con=con
            )

        return self.tokens.refresh_locked(
            realm_id,
            stale_generation,
            lambda rt: refresh_tokens(self.settings, rt, realm_id, client=self._auth_http),
            on_invalid_grant=mark,
        )

    def _check_budget(self, realm_id: str, lane: str, what: str) -> None:
        """The per-company daily request budget: background sync stops at
        ``sync_daily_request_budget``, owners' actions only at ``daily_request_hard_cap``."""
        used = self.counter.used(realm_id)
        cap = (
            self.settings.sync_daily_request_budget
            if lane == "sync"
            else self.settings.daily_request_hard_cap
        )
        if used >= cap:
            who = "background sync" if lane == "sync" else "all requests"
            raise QuotaExceeded(
                f"{what}: today's request budget for {who} is spent ({used} of {cap})",
                realm_id=realm_id,
            )

    def _send(
        self,
        realm_id: str,
        method: str,
        path: str,
        lane: str,
        what: str,
        decode: Callable[[bytes], Any] | None = None,
        **kw: Any,
    ) -> Any:
        """One attempt: limiter slot, bearer token (refreshed once on 401), typed answer: the
        parsed JSON, or ``decode(body)`` of a success's raw bytes (query pages: see
        ``sync.rawpages``)."""
        check_path(realm_id, path)
        url = f"{self.settings.api_base}/v3/company/{realm_id}/{path}"
        params = dict(kw.pop("params", None) or {})
        params["minorversion"] = str(self.settings.qbo_minor_version)
        headers = {"Accept": "application/json", **kw.pop("headers", {})}
        self._check_budget(realm_id, lane, what)
        token = self._token(realm_id)
        for attempt in (1, 2):
            limiter = self.limiter(realm_id)
            limiter.acquire(lane)
            throttled = False
            try:
                try:
                    response = self._http.request(
                        method,
                        url,
                        params=params,
                        headers={**headers, "Authorization": f"Bearer {token.value}"},
                        **kw,
                    )
                except httpx.TransportError as exc:
                    raise transport_error(exc, realm_id, what) from None
                finally:
                    self._count(realm_id)
                if response.status_code == 401 and attempt == 1:
                    token = self._refresh(realm_id, token.generation)
                    continue
                try:
                    if decode is None:
                        return classify_response(response, realm_id, what)
                    raw = classify_raw(response, realm_id, what)
                except ThrottledError as err:
                    throttled = True
                    limiter.penalize(err.retry_after)
                    raise
                except ReauthRequired:
                    connections.mark_reconnect_needed(
                        self.settings, realm_id, "QuickBooks refused our access token"
                    )
                    raise
            finally:
                limiter.release(throttled=throttled)
            return decode(raw)  # outside the limiter's slot: the answer is in hand
        raise ReauthRequired(
            f"{what}: unauthorised after refresh", realm_id=realm_id
        )  # pragma: no cover

    def _call(self, realm_id: str, method: str, path: str, lane: str, what: str, **kw: Any) -> Doc:
        answer: Doc = self._attempts(realm_id, method, path, lane, what, **kw)
        return answer

    def _attempts(
        self, realm_id: str, method: str, path: str, lane: str, what: str, **kw: Any
    ) -> Any:
        """``_send`` under the one retry policy (what ``decode`` returns, else the JSON)."""
        if lane not in ("sync", "user"):
            raise ValueError(f"lane must be 'sync' or 'user', not {lane!r}")
        if not realm_id:
            raise ValueError("realm_id is required")
        return self.retry.call(lambda: self._send(realm_id, method, path, lane, what, **dict(kw)))

    @staticmethod
    def _entity_path(entity: str) -> str:
        return entity.lower()

    @staticmethod
    def _unwrap(body: Any, entity: str) -> Doc:
        if isinstance(body, dict) and entity in body:
            doc: Doc = body[entity]
            return doc
        for key, value in (body or {}).items():
            if key.lower() == entity.lower():
                found: Doc = value
                return found
        raise PermanentError(f"answer without {entity}")

    # ---- reads ------------------------------------------------------------------------------
    def query_raw(self, realm_id: str, statement: str, *, lane: str = "sync") -> Doc:
        """The whole answer (``QueryResponse`` and the server's ``time``)."""
        return self._call(realm_id, "POST", "query", lane, "query", **_query_body(statement))

    def query(self, realm_id: str, statement: str, *, lane: str = "sync") -> list[Doc]:
        """Rows of one query page (whatever entity it selects)."""
        return rows_of(self.query_raw(realm_id, statement, lane=lane).get("QueryResponse") or {})

    def query_page(self, realm_id: str, statement: str, *, lane: str = "sync") -> Page:
        """One query page read by DuckDB, not parsed into Python documents (``sync.rawpages``):
        the sync path's way to page through an entity."""
        page: Page = self._attempts(
            realm_id,
            "POST",
            "query",
            lane,
            "query",
            **_query_body(statement),
            decode=lambda body: query_page(body, realm_id),
        )
        return page

    def batch_pages(
        self, realm_id: str, statements: list[str], *, lane: str = "sync"
    ) -> list[Page | QBOError]:
        """Up to 30 query statements in one batch request: per statement, in order, its page
        or its item's fault (returned, not raised)."""
        if len(statements) > MAX_BATCH_ITEMS:
            raise ValueError(
                f"a batch holds at most {MAX_BATCH_ITEMS} items, got {len(statements)}"
            )
        bids = [f"q{i}" for i in range(len(statements))]
        items = [{"bId": b, "Query": q} for b, q in zip(bids, statements, strict=True)]
        pages: list[Page | QBOError] = self._attempts(
            realm_id,
            "POST",
            "batch",
            lane,
            "batch",
            json={"BatchItemRequest": items},
            decode=lambda body: batch_pages(body, bids, realm_id),
        )
        return pages

    def read(self, realm_id: str, entity: str, id: str, *, lane: str = "sync") -> Doc:
        check_id(id, f"{entity} id")
        body = self._call(
            realm_id, "GET", f"{self._entity_path(entity)}/{id}", lane, f"read {entity} {id}"
        )
        return self._unwrap(body, entity)

    def company_info(self, realm_id: str, *, lane: str = "sync") -> Doc:
        body = self._call(realm_id, "GET", f"companyinfo/{realm_id}", lane, "read CompanyInfo")
        return self._unwrap(body, "CompanyInfo")

    def cdc(
        self,
        realm_id: str,
        entities: Iterable[str],
        changed_since: datetime | str,
        *,
        lane: str = "sync",
    ) -> Doc:
        """Raw CDC answer; see ``cdc_changes`` to flatten it."""
        since = changed_since if isinstance(changed_since, str) else qbo_timestamp(changed_since)
        return self._call(
            realm_id,
            "GET",
            "cdc",
            lane,
            "change data capture",
            params={"entities": ",".join(entities), "changedSince": since},
        )

    def batch(self, realm_id: str, items: list[Doc], *, lane: str = "sync") -> list[Doc]:
        """Up to 30 items; answers in request order (by bId). Item faults stay in the items."""
        if len(items) > MAX_BATCH_ITEMS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_ITEMS} items, got {len(items)}")
        items = [dict(item, bId=item.get("bId") or f"b{i}") for i, item in enumerate(items)]
        body = self._call(
            realm_id, "POST", "batch", lane, "batch", json={"BatchItemRequest": items}
        )
        by_id = {str(r.get("bId")): r for r in body.get("BatchItemResponse") or []}
        return [
            by_id.get(item["bId"], {"Fault": {"Error": [{"Message": "missing batch answer"}]}})
            for item in items
        ]

    def report(self, realm_id: str, name: str, *, lane: str = "sync", **params: Any) -> Doc:
        return self._call(
            realm_id,
            "GET",
            f"reports/{name}",
            lane,
            f"report {name}",
            params={k: str(v) for k, v in params.items()},
        )

    # ---- writes -----------------------------------------------------------------------------
    def _write(
        self,
        realm_id: str,
        entity: str,
        body: Doc,
        *,
        lane: str,
        requestid: str | None,
        operation: str | None = None,
        include: str | None = None,
        path: str | None = None,
    ) -> Doc:
        params: dict[str, str] = {"requestid": requestid or uuid.uuid4().hex}
        if operation:
            params["operation"] = operation
        if include:
            params["include"] = include
        what = f"{operation or 'write'} {entity}"
        answer = self._call(
            realm_id,
            "POST",
            path or self._entity_path(entity),
            lane,
            what,
            params=params,
            content=orjson.dumps(body) if body is not None else b"",
            headers={"Content-Type": "application/json"},
        )
        return self._unwrap(answer, entity)

    def create(
        self,
        realm_id: str,
        entity: str,
        body: Doc,
        *,
        requestid: str | None = None,
        lane: str = "user",
    ) -> Doc:
        return self._write(realm_id, entity, body, lane=lane, requestid=requestid)

    def update(
        self,
        realm_id: str,
        entity: str,
        body: Doc,
        *,
        requestid: str | None = None,
        sparse: bool = True,
        lane: str = "user",
    ) -> Doc:
        if "Id" not in body or "SyncToken" not in body:
            raise ValueError("an update needs the document's Id and SyncToken")
        return self._write(
            realm_id, entity, {**body, "sparse": sparse}, lane=lane, requestid=requestid
        )

    def delete(
        self,
        realm_id: str,
        entity: str,
        id: str,
        sync_token: str,
        *,
        requestid: str | None = None,
        lane: str = "user",
    ) -> Doc:
        return self._write(
            realm_id,
            entity,
            {"Id": id, "SyncToken": sync_token},
            lane=lane,
            requestid=requestid,
            operation="delete",
        )

    def void(
        self,
        realm_id: str,
        entity: str,
        id: str,
        sync_token: str,
        *,
        requestid: str | None = None,
        lane: str = "user",
    ) -> Doc:
        """Invoice: ``operation=void``; Payment / BillPayment: ``operation=update&include=void``."""
        body = {"Id": id, "SyncToken": sync_token}
        if entity == "Invoice":
            return self._write(
                realm_id, entity, body, lane=lane, requestid=requestid, operation="void"
            )
        return self._write(
            realm_id,
            entity,
            {**body, "sparse": True},
            lane=lane,
            requestid=requestid,
            operation="update",
            include="void",
        )

    def send_invoice(
        self,
        realm_id: str,
        id: str,
        send_to: str | None = None,
        *,
        requestid: str | None = None,
        lane: str = "user",
    ) -> Doc:
        check_id(id, "Invoice id")
        params: dict[str, str] = {"requestid": requestid or uuid.uuid4().hex}
        if send_to:
            params["sendTo"] = send_to
        answer = self._call(
            realm_id,
            "POST",
            f"invoice/{id}/send",
            lane,
            "send invoice",
            params=params,
            headers={"Content-Type": "application/octet-stream"},
        )
        return self._unwrap(answer, "Invoice")


def cdc_changes(body: Doc) -> dict[str, list[Doc]]:
    """Flatten a CDC answer to {entity: [documents or deleted stubs]}."""
    out: dict[str, list[Doc]] = {}
    for block in body.get("CDCResponse") or []:
        for qr in block.get("QueryResponse") or []:
            for key, value in (qr or {}).items():
                if isinstance(value, list):
                    out.setdefault(key, []).extend(value)
    return out


__all__ = [
    "Page",
    "QBOClient",
    "QBOError",
    "TransientError",
    "cdc_changes",
    "rows_of",
    "batch_item_rows",
    "quote",
    "qbo_timestamp",
]


# QBO ids are digit strings (``Id``, a Ref's ``value``; realm ids too). Anything else never
# reaches a URL: ``887?x=1`` would otherwise add a query parameter to our request.
QBO_ID = re.compile(r"[0-9]{1,20}")
REALM_ID = re.compile(r"[0-9A-Za-z]{1,32}")
PATH = re.compile(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*")


class InvalidQBOId(PermanentError):
    """An id that is not in QBO's format (refused before any request is made)."""


def check_id(value: object, what: str = "id") -> str:
    """``value`` as a QBO id, or InvalidQBOId naming what was wrong."""
    text = str(value)
    if not QBO_ID.fullmatch(text):
        raise InvalidQBOId(f"{what} {text[:40]!r} is not a QuickBooks id (digits only)")
    return text


def check_path(realm_id: str, path: str) -> None:
    """The realm and every path segment are plain tokens: no query, fragment or dot segment."""
    if not REALM_ID.fullmatch(str(realm_id)):
        raise InvalidQBOId(f"company id {str(realm_id)[:40]!r} is not a QuickBooks realm id")
    if not PATH.fullmatch(path):
        raise InvalidQBOId(f"request path {path[:60]!r} holds characters a QBO path never has")


def _query_body(statement: str) -> dict[str, Any]:
    """A query's request body as QBO takes it: the statement as plain text."""
    return {"content": statement.encode(), "headers": {"Content-Type": "application/text"}}
