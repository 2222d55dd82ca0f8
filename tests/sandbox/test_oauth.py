"""OAuth 2.0: authorize (chooser and direct), token grants, rotation, expiry, revoke, discovery."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from oodaloo.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox.state import SandboxDB
from sandbox.testing import issue_tokens
from tests.sandbox.conftest import REALM_A, REALM_B, fault_code

REDIRECT = "http://127.0.0.1:8501/"
AUTH = {
    "client_id": DEMO_CLIENT_ID,
    "response_type": "code",
    "scope": "com.intuit.quickbooks.accounting",
    "redirect_uri": REDIRECT,
    "state": "s1",
}


def test_chooser_page_links_complete_the_redirect(raw: httpx.Client) -> None:
    page = raw.get("/connect/oauth2", params=AUTH)
    assert page.status_code == 200 and "Company 1" in page.text and "Company 2" in page.text
    link = page.text.split('href="')[1].split('"')[0].replace("&amp;", "&")
    redirect = raw.get(link)
    assert redirect.status_code == 302
    params = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert params["state"] == ["s1"] and params["realmId"] == [REALM_A] and params["code"]


def test_authorize_refuses_unknown_app_and_foreign_redirect(raw: httpx.Client) -> None:
    assert raw.get("/connect/oauth2", params={**AUTH, "client_id": "nope"}).status_code == 400
    assert (
        raw.get(
            "/connect/oauth2", params={**AUTH, "redirect_uri": "https://evil.example/cb"}
        ).status_code
        == 400
    )
    assert (
        raw.get(
            "/connect/oauth2",
            params={**AUTH, "redirect_uri": "http://localhost:9999/cb", "realm_id": REALM_B},
        ).status_code
        == 302
    )


def code_for(raw: httpx.Client, realm: str) -> str:
    answer = raw.get("/connect/oauth2", params={**AUTH, "realm_id": realm})
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def test_token_grants_and_client_auth(raw: httpx.Client) -> None:
    code = code_for(raw, REALM_A)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    bad_client = raw.post("/oauth2/v1/tokens/bearer", data=form, auth=(DEMO_CLIENT_ID, "wrong"))
    assert (bad_client.status_code, bad_client.json()) == (401, {"error": "invalid_client"})
    in_form = raw.post(
        "/oauth2/v1/tokens/bearer",
        data={**form, "client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
    )
    assert in_form.status_code == 200
    body = in_form.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    reused = raw.post(
        "/oauth2/v1/tokens/bearer", data=form, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    )
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    wrong_redirect = raw.post(
        "/oauth2/v1/tokens/bearer",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={**form, "code": code_for(raw, REALM_A), "redirect_uri": "http://127.0.0.1:1/"},
    )
    assert wrong_redirect.json()["error"] == "invalid_grant"


def test_access_token_expires_on_sandbox_clock_and_refresh_rotates(
    raw: httpx.Client, sandbox_db: SandboxDB
) -> None:
    tokens = issue_tokens(raw, REALM_A)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        raw.get(f"/v3/company/{REALM_A}/companyinfo/{REALM_A}", headers=headers).status_code == 200
    )
    sandbox_db.advance_clock(3601)
    expired = raw.get(f"/v3/company/{REALM_A}/companyinfo/{REALM_A}", headers=headers)
    assert expired.status_code == 401 and fault_code(expired) == "3200"
    assert expired.json()["fault"]["type"] == "AUTHENTICATION"
    assert "errorCode=003200" in expired.json()["fault"]["error"][0]["message"]

    def refresh(token: str) -> httpx.Response:
        return raw.post(
            "/oauth2/v1/tokens/bearer",
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
            data={"grant_type": "refresh_token", "refresh_token": token},
        )

    first = refresh(tokens["refresh_token"])
    assert first.status_code == 200 and first.json()["refresh_token"] != tokens["refresh_token"]
    fresh = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert raw.get(f"/v3/company/{REALM_A}/companyinfo/{REALM_A}", headers=fresh).status_code == 200
    sandbox_db.advance_clock(23 * 3600)
    assert (
        refresh(tokens["refresh_token"]).status_code == 200
    )  # the rotated one still works within 24 h
    sandbox_db.advance_clock(2 * 3600)
    late = refresh(tokens["refresh_token"])
    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")
    assert refresh(first.json()["refresh_token"]).status_code == 200


def test_wrong_realm_missing_token_and_revoke(raw: httpx.Client) -> None:
    tokens = issue_tokens(raw, REALM_A)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    other = raw.get(f"/v3/company/{REALM_B}/companyinfo/{REALM_B}", headers=headers)
    assert other.status_code == 403 and fault_code(other) == "3100"
    unknown = raw.get("/v3/company/1234/companyinfo/1234", headers=headers)
    assert unknown.status_code == 403 and fault_code(unknown) == "3100"
    assert raw.get(f"/v3/company/{REALM_A}/companyinfo/{REALM_A}").status_code == 401
    revoked = raw.post(
        "/oauth2/v1/tokens/revoke",
        json={"token": tokens["refresh_token"]},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert revoked.status_code == 200
    assert (
        raw.get(f"/v3/company/{REALM_A}/companyinfo/{REALM_A}", headers=headers).status_code == 401
    )
    again = raw.post(
        "/oauth2/v1/tokens/bearer",
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert again.json()["error"] == "invalid_grant"


def test_discovery_and_registered_apps(raw: httpx.Client, sandbox_db: SandboxDB) -> None:
    doc = raw.get("/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"].endswith("/connect/oauth2")
    assert doc["token_endpoint"].endswith("/oauth2/v1/tokens/bearer")
    assert doc["revocation_endpoint"].endswith("/oauth2/v1/tokens/revoke")
    sandbox_db.register_app("other-app", "other-secret", ["https://app.example/cb"])
    answer = raw.get(
        "/connect/oauth2",
        params={
            **AUTH,
            "client_id": "other-app",
            "redirect_uri": "https://app.example/cb",
            "realm_id": REALM_B,
        },
    )
    assert answer.status_code == 302 and answer.headers["location"].startswith(
        "https://app.example/cb?code="
    )
    token = issue_tokens(raw, REALM_B, client_id="other-app", client_secret="other-secret")
    assert token["access_token"]
