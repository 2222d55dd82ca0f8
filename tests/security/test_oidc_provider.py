"""The sandbox's OIDC provider behaves like a real one: a signed id_token whose claims a client
can verify with the published keys, PKCE, one-time codes, no foreign redirect, no wrong
password. (The browser test signs in through it with Streamlit's st.login.)"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from sandbox.oidc import CONSOLE_CLIENT_ID, CONSOLE_CLIENT_SECRET
from sandbox.testing import serve_in_subprocess

REDIRECT = "http://127.0.0.1:8501/oauth2callback"
CLIENT = (CONSOLE_CLIENT_ID, CONSOLE_CLIENT_SECRET)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    """The sandbox served over loopback HTTP, as `make run` serves it."""
    with (
        serve_in_subprocess(tmp_path / "sandbox.sqlite") as base,
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        yield http


def authorize_params(verifier: str, **extra: str) -> dict[str, str]:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return {
        "client_id": CONSOLE_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        **extra,
    }


def log_in(client: httpx.Client, params: dict[str, str], email: str, password: str) -> str:
    answer = client.post(
        "/oidc/authorize",
        data={**params, "email": email, "password": password},
    )
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [params["state"]]
    return query["code"][0]


def test_login_gives_a_verifiable_id_token(client: httpx.Client) -> None:
    discovery = client.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["issuer"] == f"{client.base_url}".rstrip("/") + "/oidc"
    assert "S256" in discovery["code_challenge_methods_supported"]
    verifier = secrets.token_urlsafe(40)
    params = authorize_params(verifier)
    form = client.get("/oidc/authorize", params=params)
    assert form.status_code == 200 and "name='password'" in form.text
    code = log_in(client, params, "analyst@demo.local", "analyst-demo")
    tokens = client.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        auth=CLIENT,
    ).json()
    keys = KeySet.import_key_set(client.get("/oidc/jwks").json())
    claims = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["iss"] == discovery["issuer"] and claims["aud"] == CONSOLE_CLIENT_ID
    assert claims["email"] == "analyst@demo.local" and claims["nonce"] == "n-1"
    assert claims["exp"] > claims["iat"]
    kid = client.get("/oidc/jwks").json()["keys"][0]["kid"]
    other_key = KeySet([RSAKey.generate_key(2048, parameters={"kid": kid})])  # same id, not ours
    with pytest.raises(BadSignatureError):
        jwt.decode(tokens["id_token"], other_key, algorithms=["RS256"])
    info = client.get(
        "/oidc/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert info["email"] == "analyst@demo.local" and info["sub"] == claims["sub"]
    # a code works once
    again = client.post(
        "/oidc/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=CLIENT,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_wrong_password_pkce_secret_or_redirect_are_refused(client: httpx.Client) -> None:
    verifier = secrets.token_urlsafe(40)
    params = authorize_params(verifier)
    wrong = client.post(
        "/oidc/authorize",
        data={**params, "email": "owner@demo.local", "password": "analyst-demo"},
    )
    assert wrong.status_code == 401 and "location" not in wrong.headers
    code = log_in(client, params, "owner@demo.local", "owner-demo")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    bad_pkce = client.post("/oidc/token", data={**form, "code_verifier": "x" * 43}, auth=CLIENT)
    assert bad_pkce.status_code == 400
    code = log_in(client, params, "owner@demo.local", "owner-demo")
    bad_secret = client.post(
        "/oidc/token",
        data={**form, "code": code, "code_verifier": verifier},
        auth=(CONSOLE_CLIENT_ID, "guess"),
    )
    assert bad_secret.status_code == 401
    foreign = client.get(
        "/oidc/authorize", params=authorize_params(verifier, redirect_uri="https://evil.example/cb")
    )
    assert foreign.status_code == 400 and "location" not in foreign.headers


def test_echoed_parameters_are_escaped(client: httpx.Client) -> None:
    params = authorize_params("v" * 43, state='"><script>alert(1)</script>')
    page = client.get("/oidc/authorize", params=params).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
