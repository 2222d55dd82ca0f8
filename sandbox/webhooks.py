"""The sandbox sends QuickBooks webhooks: every committed API change (create, update, delete, void,
send; batch items too) is POSTed to each registered endpoint, in the legacy
``eventNotifications`` body or as a CloudEvents array, signed like Intuit signs them:
``intuit-signature`` = base64(HMAC-SHA256(key = the endpoint's verifier token, raw body)).

Endpoints live in the sandbox file (table ``webhook_endpoints``), so whichever process makes a
change (the console's embedded sandbox, a served one, a test) notifies them. Delivery runs on a
background thread and never delays the API answer. Per endpoint, faults as Intuit's delivery
shows them: ``drop``, ``duplicate``, ``delay`` (+ ``delay_seconds``), ``reorder`` (held back and
sent after the next one) and ``bad_signature`` — each a probability, drawn from a seeded RNG.
Failed deliveries are retried a few times (Intuit retries for hours)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.state import SandboxDB

FORMATS = ("legacy", "cloudevents")
FAULTS = ("drop", "duplicate", "delay", "reorder", "bad_signature")
_TABLE = """CREATE TABLE IF NOT EXISTS webhook_endpoints (
    url TEXT PRIMARY KEY, verifier_token TEXT NOT NULL, format TEXT NOT NULL,
    faults TEXT NOT NULL DEFAULT '{}')"""
RETRIES = 3
RETRY_WAIT_SECONDS = 0.5
ENDPOINTS_TTL_SECONDS = 1.0


def sign(body: bytes, verifier_token: str) -> str:
    """Intuit's ``intuit-signature`` of a raw body."""
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Change:
    realm_id: str
    entity: str
    id: str
    operation: str  # Create | Update | Delete | Void | Emailed
    last_updated: str


@dataclass(frozen=True)
class Endpoint:
    url: str
    verifier_token: str
    format: str = "cloudevents"
    faults: dict[str, float] = field(default_factory=dict)


def register_endpoint(
    db: SandboxDB,
    url: str,
    verifier_token: str,
    format: str = "cloudevents",
    faults: dict[str, float] | None = None,
) -> Endpoint:
    """Register (or replace) an endpoint; the sandbox notifies it of every change from now on."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the endpoint must be an http(s) URL, not {url!r}")
    if not verifier_token:
        raise ValueError("a verifier token is required (the endpoint checks signatures with it)")
    faults = dict(faults or {})
    unknown = set(faults) - set(FAULTS) - {"delay_seconds", "seed"}
    if unknown:
        raise ValueError(f"unknown webhook faults {sorted(unknown)}; known: {FAULTS}")
    with db.write() as conn:
        conn.execute(_TABLE)
        conn.execute(
            "INSERT OR REPLACE INTO webhook_endpoints (url, verifier_token, format, faults) "
            "VALUES (?, ?, ?, ?)",
            (url, verifier_token, format, json.dumps(faults)),
        )
    return Endpoint(url, verifier_token, format, faults)


def unregister_endpoint(db: SandboxDB, url: str | None = None) -> None:
    """Forget one endpoint (or all of them)."""
    with db.write() as conn:
        conn.execute(_TABLE)
        if url is None:
            conn.execute("DELETE FROM webhook_endpoints")
        else:
            conn.execute("DELETE FROM webhook_endpoints WHERE url = ?", (url,))


def list_endpoints(db: SandboxDB) -> list[Endpoint]:
    try:
        with db.read() as conn:
            rows = conn.execute(
                "SELECT url, verifier_token, format, faults FROM webhook_endpoints ORDER BY url"
            ).fetchall()
    except sqlite3.OperationalError:  # no endpoint was ever registered in this file
        return []
    return [Endpoint(u, t, f, json.loads(x)) for u, t, f, x in rows]


def legacy_body(changes: list[Change]) -> dict[str, Any]:
    by_realm: dict[str, list[Change]] = {}
    for change in changes:
        by_realm.setdefault(change.realm_id, []).append(change)
    return {
        "eventNotifications": [
            {
                "realmId": realm,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": c.entity,
                            "id": c.id,
                            "operation": c.operation,
                            "lastUpdated": c.last_updated,
                        }
                        for c in items
                    ]
                },
            }
            for realm, items in by_realm.items()
        ]
    }


def cloudevents_body(changes: list[Change]) -> list[dict[str, Any]]:
    verbs = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided"}
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "intuit.sandbox.oodaloo",
            "type": f"qbo.{c.entity.lower()}.{verbs.get(c.operation, c.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": c.last_updated,
            "intuitentityid": c.id,
            "intuitaccountid": c.realm_id,
            "data": {},
        }
        for c in changes
    ]


def changes_of_answer(
    realm_id: str, path: list[str], params: dict[str, str], body: bytes
) -> list[Change]:
    """The documents a successful write answer reports (entity, Id, operation)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return []
    stamp = str(answer.get("time") or "")
    operation = (params.get("operation") or "").lower()
    include = (params.get("include") or "").lower()
    emailed = len(path) == 3 and path[2].lower() == "send"
    items: list[tuple[dict[str, Any], str]] = []
    if path[:1] == ["batch"]:
        for item in answer.get("BatchItemResponse") or []:
            items.append((item, ""))
    else:
        items.append((answer, operation))
    out: list[Change] = []
    for item, op in items:
        for key, doc in item.items():
            if key in ("time", "bId", "QueryResponse", "Fault", "fault") or not isinstance(
                doc, dict
            ):
                continue
            if "Id" not in doc:
                continue
            if str(doc.get("status", "")).lower() == "deleted" or op == "delete":
                kind = "Delete"
            elif op == "void" or include == "void":
                kind = "Void"
            elif emailed:
                kind = "Emailed"
            elif str(doc.get("SyncToken")) == "0":
                kind = "Create"
            else:
                kind = "Update"
            updated = (doc.get("MetaData") or {}).get("LastUpdatedTime") or stamp
            out.append(Change(realm_id, key, str(doc["Id"]), kind, str(updated)))
    return out


class WebhookSender:
    """Sends the sandbox's change notifications on a background thread."""

    def __init__(
        self, db: SandboxDB, *, transport: httpx.BaseTransport | None = None, timeout: float = 5.0
    ) -> None:
        self.db = db
        self._queue: queue.Queue[tuple[Endpoint, list[Change]] | None] = queue.Queue()
        self._held: dict[str, tuple[bytes, dict[str, str]]] = {}  # reordered: sent after the next
        self._endpoints: tuple[float, list[Endpoint]] = (0.0, [])
        self._rngs: dict[str, random.Random] = {}
        self._transport = transport
        self._timeout = timeout
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self.sent = 0
        self.dropped = 0
        self.failed = 0

    def endpoints(self) -> list[Endpoint]:
        at, cached = self._endpoints
        if time.monotonic() - at > ENDPOINTS_TTL_SECONDS:
            cached = list_endpoints(self.db)
            self._endpoints = (time.monotonic(), cached)
        return cached

    def forget_cache(self) -> None:
        self._endpoints = (0.0, [])

    def notify(self, changes: list[Change]) -> None:
        """Queue the changes of one committed request for every endpoint (returns at once)."""
        if not changes:
            return
        targets = self.endpoints()
        if not targets:
            return
        with self._lock:
            self._idle.clear()
            for endpoint in targets:
                self._queue.put((endpoint, changes))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
                self._thread.start()

    def after_request(
        self,
        realm_id: str,
        method: str,
        path: list[str],
        params: dict[str, str],
        status: int,
        body: bytes,
    ) -> None:
        """The hook the sandbox core calls after answering: POST writes that succeeded notify."""
        if method != "POST" or status != 200 or not path or path[0].lower() == "query":
            return
        if not self.endpoints():
            return
        self.notify(changes_of_answer(realm_id, path, params, body))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued was delivered (or dropped); held-back (reordered)
        notifications are sent too. True when done in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._idle.wait(0.05) and self._queue.empty():
                if not self._held:
                    return True
                with self._lock:
                    held, self._held = self._held, {}
                for url, (body, headers) in held.items():
                    self._post(url, body, headers)
        return False

    # ---- delivery -------------------------------------------------------------------------
    def _rng(self, endpoint: Endpoint) -> random.Random:
        rng = self._rngs.get(endpoint.url)
        if rng is None:
            seed = endpoint.faults.get("seed")
            rng = self._rngs[endpoint.url] = random.Random(seed)
        return rng

    def _run(self) -> None:
        client = httpx.Client(timeout=self._timeout, transport=self._transport)
        self._client = client
        try:
            while True:
                try:
                    item = self._queue.get(timeout=1.0)
                except queue.Empty:
                    with self._lock:
                        if self._queue.empty():
                            self._idle.set()
                            self._thread = None
                            return
                    continue
                if item is None:
                    return
                endpoint, changes = item
                try:
                    self._deliver(endpoint, changes)
                finally:
                    with self._lock:
                        if self._queue.empty():
                            self._idle.set()
        finally:
            client.close()

    def _deliver(self, endpoint: Endpoint, changes: list[Change]) -> None:
        faults, rng = endpoint.faults, self._rng(endpoint)

        def chance(name: str) -> bool:
            return rng.random() < float(faults.get(name, 0.0))

        payload: Any = (
            legacy_body(changes) if endpoint.format == "legacy" else cloudevents_body(changes)
        )
        body = json.dumps(payload).encode()
        signature = sign(body, endpoint.verifier_token)
        if chance("bad_signature"):
            signature = sign(body, endpoint.verifier_token + "-wrong")
        headers = {"content-type": "application/json", "intuit-signature": signature}
        if chance("drop"):
            self.dropped += 1
            return
        if chance("delay"):
            time.sleep(float(faults.get("delay_seconds", 1.0)))
        copies = 2 if chance("duplicate") else 1
        held = self._held.pop(endpoint.url, None)
        if chance("reorder") and held is None:
            self._held[endpoint.url] = (body, headers)  # goes out after the next notification
            return
        for _ in range(copies):
            self._post(endpoint.url, body, headers)
        if held is not None:
            self._post(endpoint.url, *held)

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        client = getattr(self, "_client", None) or httpx.Client(
            timeout=self._timeout, transport=self._transport
        )
        for attempt in range(RETRIES):
            try:
                answer = client.post(url, content=body, headers=headers)
                if answer.status_code < 500 and answer.status_code != 429:
                    self.sent += 1
                    return
            except httpx.HTTPError:
                pass
            time.sleep(RETRY_WAIT_SECONDS * (attempt + 1))
        self.failed += 1
