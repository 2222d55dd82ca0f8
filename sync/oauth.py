"""OAuth 2.0 with Intuit (or the sandbox): the connect flow and token refresh.

* ``authorize_url`` stores a one-time ``state`` server-side (state.sqlite, 10 minutes).
* ``complete_connect`` checks and consumes it, exchanges the code, stores the tokens encrypted
  and marks the company connected.
* ``refresh_tokens`` is used by the client through ``TokenStore.refresh_locked``.
Secrets never reach logs or exception text."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from oodaloo.config import Settings, new_state_token
from oodaloo.wiring import http_client
from sync import connections, statedb
from sync.errors import PermanentError, ReauthRequired, TransientError
from sync.retry import RetryPolicy, parse_json, transport_error
from sync.tokens import TokenGrant, TokenStore

SCOPE = "com.intuit.quickbooks.accounting"
STATE_TTL_SECONDS = 600.0


class ConnectError(PermanentError):
    """The connect flow could not complete (bad or replayed state, refused code)."""


def authorize_url(
    settings: Settings, state: str | None = None, *, realm_id: str | None = None
) -> str:
    """The URL to send the owner to; its ``state`` is remembered server-side for one use."""
    state = state or new_state_token()
    with statedb.immediate(settings) as con:
        con.execute(
            "DELETE FROM oauth_states WHERE created_at < ?", (time.time() - STATE_TTL_SECONDS,)
        )
        con.execute(
            "INSERT OR REPLACE INTO oauth_states(state, created_at) VALUES (?, ?)",
            (state, time.time()),
        )
    params = {
        "client_id": settings.qbo_client_id,
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": settings.qbo_redirect_uri,
        "state": state,
    }
    if realm_id:
        params["realm_id"] = realm_id
    return f"{settings.authorize_url}?{urlencode(params)}"


def consume_state(settings: Settings, state: str) -> bool:
    """True once for a state we issued within the TTL; False for unknown, expired or replayed ones."""
    with statedb.immediate(settings) as con:
        row = con.execute(
            "DELETE FROM oauth_states WHERE state=? RETURNING created_at", (state,)
        ).fetchone()
    return row is not None and time.time() - float(row[0]) <= STATE_TTL_SECONDS


def _token_call(
    settings: Settings,
    form: dict[str, str],
    realm_id: str | None,
    client: httpx.Client | None = None,
) -> TokenGrant:
    """POST to the token endpoint (client credentials as HTTP Basic); invalid_grant -> ReauthRequired."""
    auth = (settings.qbo_client_id, settings.qbo_client_secret.get_secret_value())
    what = "token refresh" if form.get("grant_type") == "refresh_token" else "code exchange"

    def once() -> TokenGrant:
        try:
            if client is not None:
                response = client.post(
                    settings.token_url, data=form, auth=auth, headers={"Accept": "application/json"}
                )
            else:
                with http_client(settings) as own:
                    response = own.post(
                        settings.token_url,
                        data=form,
                        auth=auth,
                        headers={"Accept": "application/json"},
                    )
        except httpx.TransportError as exc:
            raise transport_error(exc, realm_id, what) from None
        body = parse_json(response) or {}
        if response.status_code == 200 and body.get("access_token") and body.get("refresh_token"):
            return TokenGrant(
                access_token=str(body["access_token"]),
                refresh_token=str(body["refresh_token"]),
                expires_in=float(body.get("expires_in") or 3600),
                refresh_expires_in=float(body["x_refresh_token_expires_in"])
                if body.get("x_refresh_token_expires_in")
                else None,
            )
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        if error == "invalid_grant":
            raise ReauthRequired(
                f"{what}: QuickBooks refused the saved authorisation (invalid_grant)",
                realm_id=realm_id,
                status=response.status_code,
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(
                f"{what}: token endpoint answered HTTP {response.status_code}",
                realm_id=realm_id,
                status=response.status_code,
            )
        raise PermanentError(
            f"{what}: token endpoint answered HTTP {response.status_code} {error}".strip(),
            realm_id=realm_id,
            status=response.status_code,
        )

    return RetryPolicy(attempts=4, initial_wait=0.2, max_wait=2.0, total_seconds=30.0).call(once)


def refresh_tokens(
    settings: Settings, refresh_token: str, realm_id: str, client: httpx.Client | None = None
) -> TokenGrant:
    return _token_call(
        settings, {"grant_type": "refresh_token", "refresh_token": refresh_token}, realm_id, client
    )


def complete_connect(
    settings: Settings, code: str, state: str, realm_id: str, *, name: str | None = None
) -> connections.Company:
    """Finish the redirect: check the state once, exchange the code, store tokens, mark connected."""
    if not realm_id:
        raise ConnectError("the redirect carried no realmId")
    if not state or not consume_state(settings, state):
        raise ConnectError(
            "unknown, expired or already used OAuth state (possible replay)", realm_id=realm_id
        )
    grant = _token_call(
        settings,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.qbo_redirect_uri,
        },
        realm_id,
    )
    tokens = TokenStore(settings)
    with statedb.immediate(settings) as con:
        tokens.save(realm_id, grant, con=con)
        connections.mark_connected(settings, realm_id, name, con=con)
    if name is None:
        try:
            from sync.client import QBOClient

            with QBOClient(settings) as client:
                info = client.company_info(realm_id, lane="user")
            if info.get("CompanyName"):
                connections.set_name(settings, realm_id, str(info["CompanyName"]))
        except (TransientError, PermanentError):
            pass  # the name is cosmetic; the next sync fills it in
    company = connections.get_company(settings, realm_id)
    assert company is not None
    return company


def connect_sandbox_companies(settings: Settings) -> list[str]:
    """Connect every company the sandbox lists (``oodaloo demo``): authorize with ``realm_id``,
    read code/state/realmId from the redirect's Location (not followed) and complete it."""
    done: list[str] = []
    with http_client(settings, follow_redirects=False) as client:
        response = client.get(f"{settings.api_base}/admin/companies")
        response.raise_for_status()
        body = response.json()
        companies = body.get("companies", body) if isinstance(body, dict) else body
        for company in companies:
            realm_id = str(company["realm_id"])
            answer = client.get(authorize_url(settings, realm_id=realm_id))
            location = answer.headers.get("location")
            if answer.status_code not in (301, 302, 303, 307) or not location:
                raise ConnectError(
                    f"authorize answered HTTP {answer.status_code} without a redirect",
                    realm_id=realm_id,
                )
            query = parse_qs(urlsplit(location).query)
            complete_connect(
                settings,
                query["code"][0],
                query["state"][0],
                query.get("realmId", [realm_id])[0],
                name=company.get("name"),
            )
            done.append(realm_id)
    return done
