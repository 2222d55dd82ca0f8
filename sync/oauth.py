"""OAuth 2.0 with Intuit (or the sandbox): the connect flow and token refresh.

* ``authorize_url`` stores a one-time ``state`` server-side (state.sqlite, 10 minutes), bound to
  the browser session that asked (the console passes the signed-in identity: the redirect back
  opens a new Streamlit session, but the sign-in cookie comes along).
* ``complete_connect`` consumes it and refuses it from any other session, exchanges the code,
  then asks CompanyInfo of the ``realmId`` the redirect claims WITH THE NEW TOKEN: only when
  QBO answers for that company are the tokens saved (a forged ``realmId`` cannot overwrite
  another company's tokens). Then it marks the company connected.
* ``refresh_tokens`` (in ``sync.token_endpoint``, shared with the client, which refreshes through
  ``TokenStore.refresh_locked``) trades a refresh token for new tokens.
Secrets never reach logs or exception text."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from oodaloo.config import Settings, new_state_token
from oodaloo.wiring import http_client
from sync import connections, statedb
from sync.errors import PermanentError, TransientError
from sync.retry import parse_json, transport_error
from sync.token_endpoint import token_call
from sync.tokens import TokenGrant, TokenStore

SCOPE = "com.intuit.quickbooks.accounting"
STATE_TTL_SECONDS = 600.0


class ConnectError(PermanentError):
    """The connect flow could not complete (bad or replayed state, refused code)."""


_BINDINGS = """CREATE TABLE IF NOT EXISTS oauth_state_sessions (
    state TEXT PRIMARY KEY,
    session TEXT NOT NULL
)"""


def authorize_url(
    settings: Settings,
    state: str | None = None,
    *,
    realm_id: str | None = None,
    session: str | None = None,
) -> str:
    """The URL to send the owner to; its ``state`` is remembered server-side for one use, bound
    to ``session`` (the browser session's identity) when given."""
    state = state or new_state_token()
    with statedb.immediate(settings) as con:
        con.execute(_BINDINGS)
        con.execute(
            "DELETE FROM oauth_state_sessions WHERE state IN "
            "(SELECT state FROM oauth_states WHERE created_at < ?)",
            (time.time() - STATE_TTL_SECONDS,),
        )
        con.execute(
            "DELETE FROM oauth_states WHERE created_at < ?", (time.time() - STATE_TTL_SECONDS,)
        )
        con.execute(
            "INSERT OR REPLACE INTO oauth_states(state, created_at) VALUES (?, ?)",
            (state, time.time()),
        )
        if session:
            con.execute(
                "INSERT OR REPLACE INTO oauth_state_sessions(state, session) VALUES (?, ?)",
                (state, session),
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


def consume_state(settings: Settings, state: str, session: str | None = None) -> bool:
    """True once for a state we issued within the TTL to this same session (or to no session,
    when none is given); False for unknown, expired, replayed or foreign ones."""
    with statedb.immediate(settings) as con:
        con.execute(_BINDINGS)
        row = con.execute(
            "DELETE FROM oauth_states WHERE state=? RETURNING created_at", (state,)
        ).fetchone()
        bound = con.execute(
            "DELETE FROM oauth_state_sessions WHERE state=? RETURNING session", (state,)
        ).fetchone()
    if row is None or time.time() - float(row[0]) > STATE_TTL_SECONDS:
        return False
    return (bound[0] if bound else None) == (session or None)


def complete_connect(
    settings: Settings,
    code: str,
    state: str,
    realm_id: str,
    *,
    name: str | None = None,
    session: str | None = None,
) -> connections.Company:
    """Finish the redirect: check the state once (and that this session asked for it),
    exchange the code, prove the realm with the new token, store tokens, mark connected."""
    from sync.client import REALM_ID

    if not realm_id:
        raise ConnectError("the redirect carried no realmId")
    if not REALM_ID.fullmatch(realm_id):
        raise ConnectError("the redirect's realmId is not a QuickBooks company id")
    if not state or not consume_state(settings, state, session):
        raise ConnectError(
            "unknown, expired or already used OAuth state, or one issued to another session "
            "(possible replay or CSRF)",
            realm_id=realm_id,
        )
    grant = token_call(
        settings,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": settings.qbo_redirect_uri,
        },
        realm_id,
    )
    info = verify_realm(settings, realm_id, grant)
    if name is None and info.get("CompanyName"):
        name = str(info["CompanyName"])
    tokens = TokenStore(settings)
    with statedb.immediate(settings) as con:
        tokens.save(realm_id, grant, con=con)
        connections.mark_connected(settings, realm_id, name, con=con)
    company = connections.get_company(settings, realm_id)
    assert company is not None
    return company


def verify_realm(settings: Settings, realm_id: str, grant: TokenGrant) -> dict[str, object]:
    """CompanyInfo of ``realm_id`` read with the NEW access token: QBO answers only for the
    company the user actually authorised, so a forged ``realmId`` is refused here, before any
    token is saved. Returns the CompanyInfo document."""
    url = f"{settings.api_base}/v3/company/{realm_id}/companyinfo/{realm_id}"
    try:
        with http_client(settings) as client:
            response = client.get(
                url,
                params={"minorversion": str(settings.qbo_minor_version)},
                headers={
                    "Accept": "application/json",
                    "Authorization": f"Bearer {grant.access_token}",
                },
            )
    except httpx.TransportError as exc:
        raise transport_error(exc, realm_id, "company check") from None
    if response.status_code in (401, 403):
        raise ConnectError(
            "the authorisation does not grant access to the company the redirect named "
            "(realmId refused by QuickBooks); nothing was saved",
            realm_id=realm_id,
            status=response.status_code,
        )
    if response.status_code != 200:
        raise TransientError(
            f"company check: QuickBooks answered HTTP {response.status_code}",
            realm_id=realm_id,
            status=response.status_code,
        )
    body = parse_json(response) or {}
    info = body.get("CompanyInfo") if isinstance(body, dict) else None
    return info if isinstance(info, dict) else {}


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
