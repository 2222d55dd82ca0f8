"""OAuth 2.0 as Intuit runs it: authorize (with a company chooser), token endpoint with rotating
refresh tokens, revocation, discovery, and bearer-token checks for API calls.

Expiry uses the SANDBOX clock: access tokens live 3600 s; a refresh token lives 8726400 s and,
once rotated, stays valid 24 h more. Only hashes of codes, tokens and secrets are stored.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from oodaloo.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox.faults_envelope import AuthFault
from sandbox.state import SandboxDB, secret_hash

ACCESS_SECONDS = 3600
REFRESH_SECONDS = 8_726_400
ROTATED_GRACE_SECONDS = 86_400
CODE_SECONDS = 600
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class OAuthError(Exception):
    """An OAuth error answer: ``{"error": ...}`` with its HTTP status."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


@dataclass(frozen=True)
class Grant:
    client_id: str
    realm_id: str


def ensure_demo_app(db: SandboxDB) -> None:
    db.register_app(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, [])


def _redirect_allowed(registered: list[str], redirect_uri: str) -> bool:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return redirect_uri in registered or parts.hostname in LOOPBACK_HOSTS


def _app(db: SandboxDB, client_id: str) -> tuple[str, list[str]] | None:
    with db.read() as conn:
        row = conn.execute(
            "SELECT secret_hash, redirect_uris FROM apps WHERE client_id = ?", (client_id,)
        ).fetchone()
    return None if row is None else (row[0], json.loads(row[1]))


# ---- authorize -----------------------------------------------------------------------------
def authorize(
    db: SandboxDB, params: dict[str, str], base_path: str
) -> tuple[int, dict[str, str], str]:
    """(status, headers, html body): a 302 to the redirect URI, or the company chooser page."""
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    app = _app(db, client_id)
    if app is None:
        return (
            400,
            {},
            _page(
                "Unknown app", f"No app is registered with client_id {html.escape(client_id)!s}."
            ),
        )
    if not _redirect_allowed(app[1], redirect_uri):
        return (
            400,
            {},
            _page(
                "Redirect URI refused",
                f"{html.escape(redirect_uri)} is not registered for this app.",
            ),
        )
    if params.get("response_type", "code") != "code":
        return _redirect(
            redirect_uri, {"error": "unsupported_response_type", "state": params.get("state", "")}
        )
    companies = db.companies()
    realm_id = params.get("realm_id") or (companies[0]["realm_id"] if len(companies) == 1 else "")
    if realm_id:
        if realm_id not in {c["realm_id"] for c in companies}:
            return (
                400,
                {},
                _page("Unknown company", f"No company with realm id {html.escape(realm_id)}."),
            )
        code = secrets.token_urlsafe(24)
        with db.write() as conn:
            conn.execute(
                "INSERT INTO auth_codes (code_hash, client_id, realm_id, redirect_uri, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    secret_hash(code),
                    client_id,
                    realm_id,
                    redirect_uri,
                    db.now_epoch() + CODE_SECONDS,
                ),
            )
        return _redirect(
            redirect_uri, {"code": code, "state": params.get("state", ""), "realmId": realm_id}
        )
    links = "\n".join(
        f'<li><a href="{html.escape(base_path)}?'
        f'{html.escape(urlencode({**params, "realm_id": c["realm_id"]}))}">'
        f"{html.escape(c['name'])}</a> <small>({c['realm_id']})</small></li>"
        for c in companies
    )
    return (
        200,
        {},
        _page("Choose a company", f"<p>Connect the app to one company:</p><ul>{links}</ul>"),
    )


def _redirect(uri: str, params: dict[str, str]) -> tuple[int, dict[str, str], str]:
    sep = "&" if urlsplit(uri).query else "?"
    return 302, {"location": f"{uri}{sep}{urlencode(params)}"}, ""


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


# ---- token endpoint ------------------------------------------------------------------------
def client_credentials(headers: dict[str, str], form: dict[str, str]) -> tuple[str, str]:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode()
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client") from None
    return form.get("client_id", ""), form.get("client_secret", "")


def _check_client(db: SandboxDB, client_id: str, secret: str) -> None:
    app = _app(db, client_id)
    if app is None or not secrets.compare_digest(app[0], secret_hash(secret)):
        raise OAuthError(401, "invalid_client")


def token(db: SandboxDB, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """Answer a token request (authorization_code or refresh_token) or raise OAuthError."""
    form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    client_id, secret = client_credentials(headers, form)
    _check_client(db, client_id, secret)
    grant_type = form.get("grant_type", "")
    now = db.now_epoch()
    with db.write() as conn:
        if grant_type == "authorization_code":
            row = conn.execute(
                "SELECT client_id, realm_id, redirect_uri, expires_at, used FROM auth_codes "
                "WHERE code_hash = ?",
                (secret_hash(form.get("code", "")),),
            ).fetchone()
            if row is None or row[0] != client_id or row[4] or row[3] < now:
                raise OAuthError(
                    400, "invalid_grant", "the authorization code is unknown, used or expired"
                )
            if form.get("redirect_uri", row[2]) != row[2]:
                raise OAuthError(
                    400, "invalid_grant", "redirect_uri does not match the authorization request"
                )
            conn.execute(
                "UPDATE auth_codes SET used = 1 WHERE code_hash = ?", (secret_hash(form["code"]),)
            )
            grant_id, realm_id = secrets.token_hex(8), row[1]
        elif grant_type == "refresh_token":
            row = conn.execute(
                "SELECT grant_id, client_id, realm_id, expires_at, superseded_at, revoked "
                "FROM tokens WHERE token_hash = ? AND kind = 'refresh'",
                (secret_hash(form.get("refresh_token", "")),),
            ).fetchone()
            if (
                row is None
                or row[1] != client_id
                or row[5]
                or row[3] < now
                or (row[4] is not None and row[4] + ROTATED_GRACE_SECONDS < now)
            ):
                raise OAuthError(
                    400, "invalid_grant", "the refresh token is invalid, expired or revoked"
                )
            grant_id, realm_id = row[0], row[2]
            conn.execute(
                "UPDATE tokens SET superseded_at = coalesce(superseded_at, ?) WHERE token_hash = ?",
                (now, secret_hash(form["refresh_token"])),
            )
        else:
            raise OAuthError(
                400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
            )
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        conn.executemany(
            "INSERT INTO tokens (token_hash, kind, grant_id, client_id, realm_id, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    secret_hash(access),
                    "access",
                    grant_id,
                    client_id,
                    realm_id,
                    now + ACCESS_SECONDS,
                ),
                (
                    secret_hash(refresh),
                    "refresh",
                    grant_id,
                    client_id,
                    realm_id,
                    now + REFRESH_SECONDS,
                ),
            ],
        )
    return {
        "token_type": "bearer",
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ACCESS_SECONDS,
        "x_refresh_token_expires_in": REFRESH_SECONDS,
    }


def revoke(db: SandboxDB, headers: dict[str, str], body: bytes) -> None:
    """Revoke the whole authorization that a (refresh or access) token belongs to."""
    text = body.decode(errors="replace")
    try:
        payload = (
            json.loads(text)
            if text.strip().startswith("{")
            else {k: v[0] for k, v in parse_qs(text).items()}
        )
    except json.JSONDecodeError:
        raise OAuthError(
            400, "invalid_request", 'body must be JSON {"token": ...} or form-encoded'
        ) from None
    client_id, secret = client_credentials(headers, payload)
    _check_client(db, client_id, secret)
    with db.write() as conn:
        row = conn.execute(
            "SELECT grant_id FROM tokens WHERE token_hash = ?",
            (secret_hash(str(payload.get("token", ""))),),
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE tokens SET revoked = 1 WHERE grant_id = ?", (row[0],))


def discovery(base_url: str) -> dict[str, Any]:
    return {
        "issuer": base_url,
        "authorization_endpoint": f"{base_url}/connect/oauth2",
        "token_endpoint": f"{base_url}/oauth2/v1/tokens/bearer",
        "revocation_endpoint": f"{base_url}/oauth2/v1/tokens/revoke",
        "userinfo_endpoint": f"{base_url}/v1/openid_connect/userinfo",
        "jwks_uri": f"{base_url}/oauth2/v1/keys",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["com.intuit.quickbooks.accounting", "openid", "profile", "email"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }


def check_bearer(db: SandboxDB, headers: dict[str, str], realm_id: str) -> Grant:
    """The grant behind an API call's bearer token, or AuthFault 401 (3200) / 403 (3100)."""
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise AuthFault(401, "Authentication failed: no bearer token in the Authorization header")
    with db.read() as conn:
        row = conn.execute(
            "SELECT client_id, realm_id, expires_at, revoked FROM tokens "
            "WHERE token_hash = ? AND kind = 'access'",
            (secret_hash(auth[7:].strip()),),
        ).fetchone()
        known_realm = conn.execute(
            "SELECT 1 FROM companies WHERE realm_id = ?", (realm_id,)
        ).fetchone()
    if row is None or row[3]:
        raise AuthFault(401, "Token invalid or revoked")
    if row[2] <= db.now_epoch():
        raise AuthFault(401, "Token expired")
    if known_realm is None or row[1] != realm_id:
        raise AuthFault(403, f"The token does not grant access to company {realm_id}")
    return Grant(client_id=row[0], realm_id=row[1])
