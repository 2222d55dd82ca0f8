"""The synchronous heart of the sandbox: one request in, one response out (plus how to deliver
it: normally, after a delay, or not at all). The ASGI app and the in-process transport both wrap
this, so every client sees the same behaviour. Thread-safe."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from sandbox import faults_envelope as F
from sandbox import oauth, timeutil, webhooks
from sandbox.api import RealmApi
from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector, Faults
from sandbox.limits import RateLimiter, Throttled
from sandbox.state import SandboxDB, dumps
from sandbox.webhooks import WebhookSender

JSON = "application/json;charset=UTF-8"


@dataclass
class CoreRequest:
    method: str
    path: str
    query: str = ""  # raw query string
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    base_url: str = "http://sandbox.oodaloo.invalid"

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class CoreResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": JSON})
    delivery: str = "normal"  # normal | lost | slow
    delay: float = 0.0


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> CoreResponse:
    return CoreResponse(status, dumps(payload).encode(), {"content-type": JSON, **(headers or {})})


class SandboxCore:
    """Routes requests: /v3/company/{realm}/..., OAuth endpoints, discovery and /admin."""

    def __init__(self, db_path: Path | str, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.db = SandboxDB(db_path)
        oauth.ensure_demo_app(self.db)
        for client_id, client_secret in self.config.apps:
            self.db.register_app(client_id, client_secret, [])
        self.limiter = RateLimiter(self.config.limits)
        self.injector = FaultInjector(self.db, self.config)
        self.faults = Faults(self.db)
        self.api = RealmApi(self.db, self.config)
        self.webhooks = WebhookSender(self.db)  # notifies registered endpoints of every change
        self._tz_cache: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def handle(self, request: CoreRequest) -> CoreResponse:
        path = "/" + request.path.strip("/")
        try:
            if path.startswith("/v3/company/"):
                return self._company(request, path)
            if path.startswith("/admin/"):
                return self._admin(request, path)
            return self._oauth(request, path)
        except oauth.OAuthError as exc:
            return _json(exc.status, exc.body())

    # ---- OAuth and discovery -------------------------------------------------------------
    def _oauth(self, request: CoreRequest, path: str) -> CoreResponse:
        method = request.method
        if path == "/.well-known/openid-configuration" and method == "GET":
            return _json(200, oauth.discovery(request.base_url.rstrip("/")))
        if path == "/connect/oauth2" and method == "GET":
            status, headers, page = oauth.authorize(self.db, request.params, path)
            return CoreResponse(
                status, page.encode(), {"content-type": "text/html; charset=utf-8", **headers}
            )
        if path == "/oauth2/v1/tokens/bearer" and method == "POST":
            return _json(
                200,
                oauth.token(self.db, request.headers, request.body),
                {"cache-control": "no-store", "pragma": "no-cache"},
            )
        if path in ("/oauth2/v1/tokens/revoke", "/v2/oauth2/tokens/revoke") and method == "POST":
            oauth.revoke(self.db, request.headers, request.body)
            return CoreResponse(200, b"", {"content-type": JSON})
        return _json(
            404, {"error": "not_found", "error_description": f"no endpoint {method} {path}"}
        )

    # ---- admin ---------------------------------------------------------------------------
    def _admin(self, request: CoreRequest, path: str) -> CoreResponse:
        method = request.method
        if path == "/admin/health":
            return _json(
                200,
                {
                    "status": "ok",
                    "companies": len(self.db.companies()),
                    "now": self.db.now().isoformat(),
                },
            )
        if path == "/admin/companies" and method == "GET":
            return _json(200, self.db.companies())
        if path == "/admin/clock":
            if method == "POST":
                try:
                    body = json.loads(request.body or b"{}")
                    if "set" in body:
                        moment = timeutil.from_epoch(
                            timeutil.parse_timestamp(str(body["set"]), "UTC")
                        )
                        self.db.set_clock(moment, flowing=bool(body.get("flowing", False)))
                    elif "advance_seconds" in body:
                        self.db.advance_clock(float(body["advance_seconds"]))
                    else:
                        raise ValueError('send {"set": ISO} or {"advance_seconds": N}')
                except (ValueError, TypeError) as exc:
                    return _json(400, {"error": "invalid_clock", "error_description": str(exc)})
            return _json(200, {"now": self.db.now().isoformat()})
        if path == "/admin/webhooks":
            return self._admin_webhooks(request)
        if path == "/admin/faults":
            if method == "POST":
                try:
                    self._admin_faults(json.loads(request.body or b"{}"))
                except (ValueError, TypeError) as exc:
                    return _json(400, {"error": "invalid_faults", "error_description": str(exc)})
            return _json(
                200, {"settings": self.faults.settings(), "pending": self.faults.pending()}
            )
        return _json(
            404, {"error": "not_found", "error_description": f"no endpoint {method} {path}"}
        )

    def _admin_webhooks(self, request: CoreRequest) -> CoreResponse:
        """GET: the registered endpoints; POST {url, verifier_token, format, faults}: register;
        DELETE (optional {url}): forget (see sandbox/webhooks.py)."""
        try:
            body = json.loads(request.body or b"{}") if request.method != "GET" else {}
            if request.method == "POST":
                webhooks.register_endpoint(
                    self.db,
                    str(body.get("url") or ""),
                    str(body.get("verifier_token") or ""),
                    str(body.get("format") or "cloudevents"),
                    body.get("faults") or {},
                )
            elif request.method == "DELETE":
                webhooks.unregister_endpoint(self.db, body.get("url"))
        except (ValueError, TypeError, AttributeError) as exc:
            return _json(400, {"error": "invalid_webhook", "error_description": str(exc)})
        self.webhooks.forget_cache()
        listed = [
            {"url": e.url, "format": e.format, "faults": e.faults}
            for e in webhooks.list_endpoints(self.db)
        ]
        return _json(200, {"endpoints": listed})

    def _admin_faults(self, body: dict[str, Any]) -> None:
        if not isinstance(body, dict):
            raise ValueError("send a JSON object")
        realm = body.get("realm")
        if body.get("clear"):
            self.faults.clear(realm)
        if "settings" in body:
            self.faults.set(body["settings"], realm)
        if "script" in body:
            self.faults.script(realm, list(body["script"]))

    # ---- the QBO API ---------------------------------------------------------------------
    def _tz(self, realm: str) -> str | None:
        with self._lock:
            cached = self._tz_cache.get(realm)
        if cached is None:
            cached = self.db.company_tz(realm)
            if cached is not None:
                with self._lock:
                    self._tz_cache[realm] = cached
        return cached

    def _fault(self, fault: F.QBOFault | F.AuthFault, tz: str | None) -> CoreResponse:
        payload = {**fault.body(), "time": timeutil.stamp_millis(self.db.now_epoch(), tz)}
        return _json(fault.status, payload, {"intuit_tid": secrets.token_hex(8)})

    def _company(self, request: CoreRequest, path: str) -> CoreResponse:
        parts = path.split("/")[3:]  # ['', 'v3', 'company', realm, ...]
        realm = parts[0] if parts else ""
        tz = self._tz(realm) or timeutil.DEFAULT_TZ
        try:
            oauth.check_bearer(self.db, request.headers, realm)
        except F.AuthFault as fault:
            return self._fault(fault, tz)
        rest = [p for p in parts[1:] if p]
        relative = "/" + "/".join(rest)
        is_batch = request.method == "POST" and rest[:1] == ["batch"]
        try:
            with self.limiter.admit(realm, batch=is_batch):
                settings = self.injector.effective(realm)
                decision = self.injector.decide(
                    realm, request.method, relative, request.query, settings
                )
                if decision.action == "throttle":
                    raise Throttled("injected")
                if decision.action in ("server_error", "unavailable"):
                    return self._fault(
                        F.server_error(503 if decision.action == "unavailable" else 500), tz
                    )
                cutoff = None
                if settings.read_lag_seconds > 0:
                    cutoff = self.db.now_epoch() - settings.read_lag_seconds
                try:
                    status, body = self.api.handle(
                        realm, tz, request.method, rest, request.params, request.body, cutoff
                    )
                    response = CoreResponse(
                        status, body, {"content-type": JSON, "intuit_tid": secrets.token_hex(8)}
                    )
                    self.webhooks.after_request(
                        realm, request.method, rest, request.params, status, body
                    )
                except F.QBOFault as fault:
                    response = self._fault(fault, tz)
        except Throttled:
            return self._fault(F.throttled(), tz)
        if decision.action == "lost_response":
            response.delivery = "lost"
        elif decision.action == "slow":
            response.delivery, response.delay = "slow", decision.seconds
        return response
