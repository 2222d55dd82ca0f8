"""QuickBooks webhooks: seconds-fresh data without trusting what a notification says.

``webhook_app(settings, verifier_token)`` is a plain ASGI app (served by ``oodaloo webhooks
serve`` on uvicorn, or mounted next to the console). For each POST it

1. verifies ``intuit-signature`` — base64(HMAC-SHA256(verifier token, raw body)), compared in
   constant time — BEFORE reading anything else: a missing or wrong signature is a 401 and the
   body is never parsed;
2. accepts the legacy ``{"eventNotifications": [...]}`` body and the CloudEvents array;
3. takes only the company (realm) from each event, and only when that company is connected:
   entity names, ids and operations are never trusted nor used — each event schedules a
   coalesced CDC of its company (``sync.queue.request_sync``), so duplicates, late and
   out-of-order deliveries all end in the same store, and a dropped one is caught by the next
   event or the 15-minute CDC that stays as the safety net;
4. drops events it has already seen (event id, or the legacy event's realm/entity/id/operation/
   time), and answers at once (well within Intuit's 3 s): the sync runs on a worker thread.

The worker records the event's arrival in sync_status, so the badge can say "Updated 4 s ago
from a QuickBooks change"."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from oodaloo.config import Settings
from sync import connections, queue

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TOKEN_ENV = "OODALOO_WEBHOOK_VERIFIER_TOKEN"  # the env name of Settings.webhook_verifier_token
MAX_BODY_BYTES = 1_000_000
SEEN_LIMIT = 100_000  # event keys remembered for de-duplication (oldest forgotten first)


def signature_of(body: bytes, verifier_token: str) -> str:
    return base64.b64encode(
        hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    ).decode()


def verify(body: bytes, signature: str | None, verifier_token: str) -> bool:
    """Whether ``signature`` is Intuit's signature of exactly ``body`` (constant-time)."""
    if not signature or not verifier_token:
        return False
    return hmac.compare_digest(
        signature.strip().encode(), signature_of(body, verifier_token).encode()
    )


def event_keys(payload: Any) -> list[tuple[str, str]]:
    """(realm id, de-duplication key) of each event, in either format; malformed parts are
    skipped (an error for the whole body only when it is neither format)."""
    out: list[tuple[str, str]] = []
    if isinstance(payload, list):  # CloudEvents
        for event in payload:
            if not isinstance(event, dict):
                continue
            realm = event.get("intuitaccountid")
            if realm in (None, ""):
                continue
            key = event.get("id") or json.dumps(event, sort_keys=True)
            out.append((str(realm), f"ce:{key}"))
        return out
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        for note in payload["eventNotifications"]:
            if not isinstance(note, dict) or note.get("realmId") in (None, ""):
                continue
            realm = str(note["realmId"])
            entities = ((note.get("dataChangeEvent") or {}).get("entities")) or []
            if not entities:
                out.append((realm, f"legacy:{realm}:{json.dumps(note, sort_keys=True)}"))
            for ent in entities if isinstance(entities, list) else []:
                if isinstance(ent, dict):
                    parts = (ent.get(k) for k in ("name", "id", "operation", "lastUpdated"))
                    out.append((realm, "legacy:" + realm + ":" + "|".join(map(str, parts))))
        return out
    raise ValueError("neither an eventNotifications body nor a CloudEvents array")


class WebhookReceiver:
    """The ASGI app plus its worker. ``process=False`` only queues (tests, or a deployment where
    the scheduler drains the queue)."""

    def __init__(
        self,
        settings: Settings,
        verifier_token: str,
        *,
        path: str = "/webhooks/qbo",
        process: bool = True,
        workers: int = 4,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if not verifier_token:
            raise ValueError(
                f"a webhook verifier token is required (--verifier-token-file or ${TOKEN_ENV})"
            )
        self.settings = settings
        self._token = verifier_token
        self.path = "/" + path.strip("/")
        self.process = process
        self._now = now or (lambda: datetime.now(UTC))
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._arrived: dict[str, datetime] = {}  # realm -> first unprocessed event's arrival
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="webhook")
        self._worker: threading.Thread | None = None
        self._taken: dict[str, list[int]] = {}  # realm -> claimed request ids not yet run
        self._running: set[str] = set()
        self._held: Any = None
        self.accepted = 0
        self.duplicates = 0
        self.rejected = 0
        self.ignored = 0
        self.synced: list[tuple[str, str, float]] = []  # (realm, outcome, finished monotonic)

    # ---- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        route = (scope.get("root_path", "") + scope["path"]).rstrip("/") or "/"
        if scope["method"] == "GET" and route.endswith("/health"):
            await _answer(send, 200, {"status": "ok"})
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "POST only"})
            return
        body, too_big = await _read_body(receive)
        if too_big:
            await _answer(send, 413, {"error": "body too large"})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, answer = self.handle(body, headers.get("intuit-signature"))
        await _answer(send, status, answer)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- the work (synchronous, testable without a server) --------------------------------------
    def handle(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        """Verify, parse, de-duplicate, queue. Returns (HTTP status, JSON answer)."""
        if not verify(body, signature, self._token):
            self.rejected += 1
            return 401, {"error": "missing or invalid intuit-signature"}
        try:
            events = event_keys(json.loads(body))
        except ValueError as exc:
            return 400, {"error": f"unreadable notification: {exc}"}
        arrived = self._now()
        connected = set(connections.connected_realm_ids(self.settings))
        fresh: list[str] = []
        duplicates = ignored = 0
        with self._lock:
            for realm, key in events:
                if key in self._seen:
                    duplicates += 1
                    continue
                self._seen[key] = None
                if len(self._seen) > SEEN_LIMIT:
                    self._seen.popitem(last=False)
                if realm not in connected:
                    ignored += 1  # a company we do not hold: nothing to refresh
                    continue
                fresh.append(realm)
                self._arrived.setdefault(realm, arrived)
        for realm in dict.fromkeys(fresh):
            queue.request_sync(self.settings, realm, "webhook")  # coalesced per company
        self.accepted += len(fresh)
        self.duplicates += duplicates
        self.ignored += ignored
        if fresh:
            self._wake.set()
        return 200, {"accepted": len(fresh), "duplicates": duplicates, "ignored": ignored}

    def start(self) -> None:
        """Start the worker; while serving, the warehouse writer stays open between runs (it
        still lets go at once when another reader or writer waits at the lock)."""
        if self.process and (self._worker is None or not self._worker.is_alive()):
            from sync import store
            from sync.writer import writer_for

            self._stop.clear()
            self._held = writer_for(store.warehouse_for(self.settings)).hold()
            self._held.__enter__()
            self._worker = threading.Thread(
                target=self._drain_loop, name="webhook-drain", daemon=True
            )
            self._worker.start()
            self._wake.set()  # requests queued before we started

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
        self._pool.shutdown(wait=True)
        held = getattr(self, "_held", None)
        if held is not None:
            held.__exit__(None, None, None)
            self._held = None

    def drain_once(self) -> list[str]:
        """Start the queued syncs (one CDC per company however many events asked); a company
        whose sync is running gets one more run after it. Returns the companies started."""
        taken = queue.take_requests(self.settings)
        started: list[str] = []
        with self._lock:
            for request_id, realm in taken:
                self._taken.setdefault(realm, []).append(request_id)
            for realm in list(self._taken):
                if realm not in self._running:
                    self._running.add(realm)
                    started.append(realm)
        for realm in started:
            self._pool.submit(self._sync, realm)
        return started

    def _sync(self, realm: str) -> None:
        from sync.engine import sync_company

        with self._lock:
            requests = self._taken.pop(realm, [])
            arrived = self._arrived.pop(realm, None)
        try:
            result = sync_company(self.settings, realm, "incremental", event_at=arrived)
            outcome = result.outcome
        except Exception as exc:
            log.exception("webhook-triggered sync of %s failed", realm)
            outcome = f"error: {type(exc).__name__}"
        if outcome == "skipped":  # another sync holds the company: ask again
            queue.request_sync(self.settings, realm, "webhook")
            with self._lock:
                if arrived is not None:
                    self._arrived.setdefault(realm, arrived)
        for request_id in requests:
            queue.complete_request(self.settings, request_id, outcome)
        self.synced.append((realm, outcome, time.monotonic()))
        with self._lock:
            self._running.discard(realm)
            again = realm in self._taken  # events came in while it ran
        if again or outcome == "skipped":
            self._wake.set()

    def _drain_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=5.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.drain_once()
            except Exception:
                log.exception("webhook drain failed")


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), False


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def verifier_token(settings: Settings, token_file: Path | None = None) -> str:
    """The verifier token from a file (first line) or the ``webhook_verifier_token`` setting."""
    if token_file is not None:
        return token_file.read_text().strip()
    secret = settings.webhook_verifier_token
    return "" if secret is None else secret.get_secret_value().strip()


def webhook_app(settings: Settings, verifier_token: str, **kwargs: Any) -> WebhookReceiver:
    """The ASGI app (mount it next to the console, or serve it with ``oodaloo webhooks serve``)."""
    return WebhookReceiver(settings, verifier_token, **kwargs)


def register_with_sandbox(
    settings: Settings, url: str, verifier_token: str, fmt: str = "cloudevents"
) -> None:
    """Ask the sandbox we talk to (embedded file or served) to notify ``url`` of every change."""
    # The embedded sandbox answers through the same in-process transport as every QBO call,
    # so one HTTP path serves both: sync never imports the sandbox.
    from oodaloo.wiring import http_client

    with http_client(settings, timeout=5.0) as client:
        answer = client.post(
            f"{settings.api_base}/admin/webhooks",
            json={"url": url, "verifier_token": verifier_token, "format": fmt},
        )
    if answer.status_code != 200:
        raise RuntimeError(
            f"the sandbox refused the webhook registration: HTTP {answer.status_code}"
        )
