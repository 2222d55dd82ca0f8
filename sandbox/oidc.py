"""The sandbox as an OpenID Connect provider for demo users, so sign-in works with two commands
and no account anywhere: discovery, authorize (a login form), token (an RS256 ``id_token`` signed
with a key published at ``jwks_uri``), userinfo. Served under ``/oidc`` by ``sandbox.app``.

Why a provider of our own: the console signs people in with Streamlit's ``st.login``, which
speaks OIDC to any provider (Intuit, Google, Entra, Okta). The demo and the browser tests need a
provider on loopback that behaves like a real one (PKCE S256, nonce, signed tokens), nothing
more. Codes and tokens live in memory: the sandbox process is the provider's whole lifetime.

Demo users (documented in the README; passwords are for the local demo only):

=====================  ================  ==========================================
e-mail                 password          role the demo grants (``oodaloo.auth``)
=====================  ================  ==========================================
owner@demo.local       owner-demo        firm admin (and approver everywhere)
partner@demo.local     partner-demo      approver in every company
analyst@demo.local     analyst-demo      preparer in every company
viewer@demo.local      viewer-demo       viewer in every company
=====================  ================  ==========================================
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.oauth import LOOPBACK_HOSTS

CONSOLE_CLIENT_ID = "oodaloo-console"
CONSOLE_CLIENT_SECRET = "oodaloo-console-demo-secret"
CODE_SECONDS = 300
TOKEN_SECONDS = 3600
PREFIX = "/oidc"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    password_hash: bytes
    salt: bytes


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**12, r=8, p=1)


def _user(email: str, name: str, password: str) -> DemoUser:
    salt = hashlib.sha256(email.encode()).digest()[:16]
    return DemoUser(email, name, _hash(password, salt), salt)


DEMO_PASSWORDS = {
    "owner@demo.local": ("Olivia Owner", "owner-demo"),
    "partner@demo.local": ("Pat Partner", "partner-demo"),
    "analyst@demo.local": ("Ana Analyst", "analyst-demo"),
    "viewer@demo.local": ("Vic Viewer", "viewer-demo"),
}
USERS = {email: _user(email, name, pw) for email, (name, pw) in DEMO_PASSWORDS.items()}


def _sub(email: str) -> str:
    """A stable opaque subject per user (what real providers give)."""
    return "demo-" + hashlib.sha256(email.encode()).hexdigest()[:20]


@dataclass
class _Code:
    email: str
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    method: str | None
    expires_at: float


class DemoProvider:
    """In-memory OIDC provider state: the signing key, issued codes and access tokens."""

    def __init__(self, clients: dict[str, str] | None = None) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)}, private=True)
        self.clients = clients or {CONSOLE_CLIENT_ID: CONSOLE_CLIENT_SECRET}
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    # ---- documents ----------------------------------------------------------------------
    @staticmethod
    def issuer(request: Request) -> str:
        return f"{request.url.scheme}://{request.headers.get('host', '127.0.0.1')}{PREFIX}"

    def discovery(self, issuer: str) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/logout",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name", "iss", "aud"],
        }

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": "RS256"}]}

    # ---- authorize ----------------------------------------------------------------------
    def check_authorize(self, params: dict[str, str]) -> str | None:
        """An error text for a request we must not redirect anywhere (unknown client, foreign
        redirect URI); None when it is acceptable."""
        if params.get("client_id") not in self.clients:
            return "Unknown client_id."
        redirect = urlsplit(params.get("redirect_uri", ""))
        if redirect.scheme not in ("http", "https") or redirect.hostname not in LOOPBACK_HOSTS:
            return "The redirect URI must be a loopback address for the demo provider."
        if params.get("response_type") != "code":
            return "Only response_type=code is supported."
        if "openid" not in params.get("scope", "").split():
            return "The scope must include openid."
        return None

    def issue_code(self, email: str, params: dict[str, str]) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                email=email,
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                nonce=params.get("nonce") or None,
                challenge=params.get("code_challenge") or None,
                method=params.get("code_challenge_method") or None,
                expires_at=time.time() + CODE_SECONDS,
            )
        return code

    # ---- token --------------------------------------------------------------------------
    def token(self, issuer: str, headers: dict[str, str], form: dict[str, str]) -> dict[str, Any]:
        client_id, secret = _client_credentials(headers, form)
        expected = self.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, secret):
            raise _OIDCError(401, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            raise _OIDCError(400, "unsupported_grant_type")
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
            raise _OIDCError(400, "invalid_grant", "unknown, used or expired code")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OIDCError(400, "invalid_grant", "redirect_uri does not match")
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if grant.method != "S256" or not secrets.compare_digest(computed, grant.challenge):
                raise _OIDCError(400, "invalid_grant", "PKCE verification failed")
        user = USERS[grant.email]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": _sub(user.email),
            "aud": client_id,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "email": user.email,
            "email_verified": True,
            "name": user.name,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        access = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access] = (user.email, time.time() + TOKEN_SECONDS)
        return {
            "token_type": "Bearer",
            "access_token": access,
            "id_token": id_token,
            "expires_in": TOKEN_SECONDS,
            "scope": "openid email profile",
        }

    def userinfo(self, headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[1] < time.time():
            raise _OIDCError(401, "invalid_token")
        user = USERS[found[0]]
        return {
            "sub": _sub(user.email),
            "email": user.email,
            "email_verified": True,
            "name": user.name,
        }


class _OIDCError(Exception):
    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(error)
        self.status, self.error, self.description = status, error, description

    def response(self) -> JSONResponse:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return JSONResponse(body, status_code=self.status, headers={"cache-control": "no-store"})


def _client_credentials(headers: dict[str, str], form: dict[str, str]) -> tuple[str, str]:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise _OIDCError(401, "invalid_client") from None
        from urllib.parse import unquote

        return unquote(client_id), unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")


AUTHORIZE_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _login_page(params: dict[str, str], error: str | None = None) -> str:
    """The sign-in form; every echoed value is escaped (they come from the query string)."""
    hidden = "".join(
        f'<input type="hidden" name="{f}" value="{html.escape(params.get(f, ""), quote=True)}">'
        for f in AUTHORIZE_FIELDS
        if params.get(f)
    )
    users = "".join(
        f"<li><code>{html.escape(email)}</code> / <code>{html.escape(pw)}</code></li>"
        for email, (_, pw) in DEMO_PASSWORDS.items()
    )
    problem = f'<p role="alert" style="color:#a00">{html.escape(error)}</p>' if error else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sign in — Oodaloo demo</title>"
        "</head><body style='font-family:sans-serif;max-width:28rem;margin:3rem auto'>"
        "<h1>Sign in</h1><p>Oodaloo demo identity provider (local sandbox).</p>"
        f"{problem}<form method='post'>{hidden}"
        "<p><label>E-mail<br><input name='email' type='email' autocomplete='username' required>"
        "</label></p><p><label>Password<br><input name='password' type='password' "
        "autocomplete='current-password' required></label></p>"
        "<p><button type='submit'>Sign in</button></p></form>"
        f"<details><summary>Demo users</summary><ul>{users}</ul></details></body></html>"
    )


def create_oidc_app(provider: DemoProvider | None = None) -> Starlette:
    """The provider's routes, meant to be mounted at ``/oidc`` of the sandbox server."""
    provider = provider or DemoProvider()
    headers = {"cache-control": "no-store", "x-frame-options": "DENY"}

    async def discovery(request: Request) -> Response:
        return JSONResponse(provider.discovery(provider.issuer(request)))

    async def jwks(request: Request) -> Response:
        return JSONResponse(provider.jwks())

    async def authorize(request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
        else:
            params = dict(parse_qsl((await request.body()).decode(errors="replace")))
        problem = provider.check_authorize(params)
        if problem is not None:
            return HTMLResponse(
                f"<!doctype html><h1>Request refused</h1><p>{html.escape(problem)}</p>",
                status_code=400,
                headers=headers,
            )
        if request.method == "GET":
            return HTMLResponse(_login_page(params), headers=headers)
        email = params.get("email", "").strip().lower()
        user = USERS.get(email)
        password = params.get("password", "")
        if user is None or not secrets.compare_digest(
            _hash(password, user.salt), user.password_hash
        ):
            return HTMLResponse(
                _login_page(params, "Unknown e-mail or wrong password."),
                status_code=401,
                headers=headers,
            )
        code = provider.issue_code(user.email, params)
        answer = {"code": code, "state": params.get("state", "")}
        sep = "&" if urlsplit(params["redirect_uri"]).query else "?"
        return RedirectResponse(f"{params['redirect_uri']}{sep}{urlencode(answer)}", 302)

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        lowered = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = provider.token(provider.issuer(request), lowered, form)
        except _OIDCError as exc:
            return exc.response()
        return JSONResponse(body, headers={"cache-control": "no-store", "pragma": "no-cache"})

    async def userinfo(request: Request) -> Response:
        lowered = {k.lower(): v for k, v in request.headers.items()}
        try:
            return JSONResponse(provider.userinfo(lowered))
        except _OIDCError as exc:
            return exc.response()

    async def logout(request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        if urlsplit(target).hostname in LOOPBACK_HOSTS:
            return RedirectResponse(target, 302)
        return HTMLResponse("<!doctype html><p>Signed out.</p>", headers=headers)

    app = Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/authorize", authorize, methods=["GET", "POST"]),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo, methods=["GET", "POST"]),
            Route("/logout", logout),
        ]
    )
    app.state.provider = provider
    return app
