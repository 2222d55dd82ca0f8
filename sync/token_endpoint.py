"""The OAuth token endpoint: exchanging a code or a refresh token for tokens.

Its own module because both the connect flow (``sync.oauth``) and the QBO client (which
refreshes through ``TokenStore.refresh_locked``) need it, and the connect flow itself uses the
client (to read the company's name): here neither imports the other."""

from __future__ import annotations

import httpx

from oodaloo.config import Settings
from oodaloo.wiring import http_client
from sync.errors import PermanentError, ReauthRequired, TransientError
from sync.retry import RetryPolicy, parse_json, transport_error
from sync.tokens import TokenGrant


def token_call(
    settings: Settings,
    form: dict[str, str],
    realm_id: str | None,
    client: httpx.Client | None = None,
) -> TokenGrant:
    """POST to the token endpoint (client credentials as HTTP Basic);
    invalid_grant -> ReauthRequired."""
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
    return token_call(
        settings, {"grant_type": "refresh_token", "refresh_token": refresh_token}, realm_id, client
    )
