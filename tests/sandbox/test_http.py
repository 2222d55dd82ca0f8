"""The sandbox as a separate process over real HTTP (uvicorn on a free loopback port), driven by a
client that knows only the public protocol: discovery, authorize, token, API, admin clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oodaloo.config import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox.testing import make_sandbox, serve_in_subprocess

REDIRECT = "http://127.0.0.1:8501/callback"
EXTRA_BILLS = 230


def connect(http: httpx.Client, company_name: str) -> tuple[str, dict[str, Any]]:
    discovery = http.get("/.well-known/openid-configuration").json()
    chooser = http.get(
        discovery["authorization_endpoint"],
        params={
            "client_id": DEMO_CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": REDIRECT,
            "state": "csrf-1",
        },
    )
    assert chooser.status_code == 200
    link = next(
        part.split('"')[0]
        for part in chooser.text.split('href="')[1:]
        if part.split("</a>")[0].endswith(company_name)
    )
    redirect = http.get(link.replace("&amp;", "&"))
    assert redirect.status_code == 302
    params = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert params["state"] == ["csrf-1"]
    token = http.post(
        discovery["token_endpoint"],
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": REDIRECT,
        },
    )
    assert token.status_code == 200
    return params["realmId"][0], token.json()


def page_all(api: httpx.Client, entity: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        answer = api.get(
            "/query",
            params={
                "query": f"select * from {entity} orderby Id startposition {len(rows) + 1} "
                "maxresults 100",
                "minorversion": "75",
            },
        ).json()["QueryResponse"]
        if not answer:
            return rows
        rows.extend(answer[entity])


@pytest.mark.slow
def test_public_protocol_over_real_http(tmp_path: Path) -> None:
    db_path = tmp_path / "sandbox.sqlite"
    db = make_sandbox(db_path, companies=2)
    stamp = "2026-11-20T09:00:00-08:00"
    db.bulk_insert(
        "9130000000002",
        "Bill",
        [
            {
                "Id": str(500 + i),
                "SyncToken": "0",
                "VendorRef": {"value": "30"},
                "TxnDate": "2026-11-01",
                "TotalAmt": 10.0,
                "Balance": 10.0,
                "Line": [],
                "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
            }
            for i in range(EXTRA_BILLS)
        ],
    )
    db.close()
    with (
        serve_in_subprocess(db_path, "--no-limits") as base,
        httpx.Client(base_url=base, timeout=10) as http,
    ):
        realm, tokens = connect(http, "Company 2")
        assert realm == "9130000000002"
        api = httpx.Client(
            base_url=f"{base}/v3/company/{realm}",
            timeout=10,
            headers={
                "Authorization": f"Bearer {tokens['access_token']}",
                "Accept": "application/json",
            },
        )
        bills, invoices = page_all(api, "Bill"), page_all(api, "Invoice")
        assert len(bills) == 4 + EXTRA_BILLS and len({b["Id"] for b in bills}) == len(bills)
        assert len(invoices) == 4
        count = api.get("/query", params={"query": "select count(*) from Bill"}).json()[
            "QueryResponse"
        ]["totalCount"]
        assert count == len(bills)

        http.post("/admin/clock", json={"advance_seconds": 60})
        edited = api.post(
            "/bill", json={"Id": "61", "SyncToken": "0", "sparse": True, "PrivateNote": "checked"}
        )
        assert edited.status_code == 200
        assert (
            api.post(
                "/bill", params={"operation": "delete"}, json={"Id": "500", "SyncToken": "0"}
            ).status_code
            == 200
        )
        changes = api.get(
            "/cdc", params={"entities": "Bill", "changedSince": "2026-11-20T09:00:30-08:00"}
        ).json()
        changed = {b["Id"]: b for b in changes["CDCResponse"][0]["QueryResponse"][0]["Bill"]}
        assert changed["61"]["PrivateNote"] == "checked" and changed["500"]["status"] == "Deleted"

        payment = {
            "VendorRef": {"value": "30"},
            "PayType": "Check",
            "TotalAmt": 250,
            "CheckPayment": {"BankAccountRef": {"value": "1"}},
            "Line": [{"Amount": 250, "LinkedTxn": [{"TxnId": "60", "TxnType": "Bill"}]}],
        }
        http.post(
            "/admin/faults",
            json={"realm": realm, "script": [{"match": "POST /billpayment", "action": "lost"}]},
        )
        with pytest.raises(httpx.HTTPError):
            api.post("/billpayment", params={"requestid": "intent-42"}, json=payment)
        retry = api.post("/billpayment", params={"requestid": "intent-42"}, json=payment)
        assert retry.status_code == 200
        linked = [
            p for p in page_all(api, "BillPayment") if p["Line"][0]["LinkedTxn"][0]["TxnId"] == "60"
        ]
        assert len(linked) == 1 and linked[0]["Id"] == retry.json()["BillPayment"]["Id"]
        assert api.get("/bill/60").json()["Bill"]["Balance"] == 2750.0

        sent = api.post("/invoice/41/send", params={"sendTo": "owner@client.example"})
        assert sent.json()["Invoice"]["EmailStatus"] == "EmailSent"

        assert http.post("/admin/clock", json={"advance_seconds": 3600}).status_code == 200
        expired = api.get(f"/companyinfo/{realm}")
        assert expired.status_code == 401 and expired.json()["fault"]["error"][0]["code"] == "3200"
        refreshed = http.post(
            "/oauth2/v1/tokens/bearer",
            auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        api.headers["Authorization"] = f"Bearer {refreshed.json()['access_token']}"
        assert api.get(f"/companyinfo/{realm}").json()["CompanyInfo"]["CompanyName"] == "Company 2"
        assert http.get("/admin/companies").json() == [
            {"realm_id": "9130000000001", "name": "Company 1"},
            {"realm_id": "9130000000002", "name": "Company 2"},
        ]
        api.close()
