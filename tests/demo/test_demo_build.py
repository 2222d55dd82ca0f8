"""The firm loaded into a real sandbox file and served over HTTP by the embedded transport."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.demo import DemoFirmExistsError, build_demo_firm, firm_profiles, generate_company
from sandbox.state import SandboxDB
from sandbox.testing import api_client
from sandbox.transport import embedded_transport, forget
from tests.demo.demo_ledger import SEED, TODAY


@pytest.fixture
def sandbox_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sandbox.sqlite"
    yield path
    forget(path)


def test_build_loads_the_companies_and_sets_the_clock(sandbox_path: Path) -> None:
    built = build_demo_firm(sandbox_path, seed=SEED, today=TODAY, companies=3)
    assert built == [p.as_dict() for p in firm_profiles(SEED, 3)]
    assert built[0] == {
        "realm_id": built[0]["realm_id"],
        "name": "Brightline Studio",
        "profile": "healthy",
    }
    db = SandboxDB(sandbox_path)
    try:
        assert sorted(c["realm_id"] for c in db.companies()) == sorted(b["realm_id"] for b in built)
        assert db.now() == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 09:00 in New York
    finally:
        db.close()


def test_a_second_build_into_the_same_file_is_refused(sandbox_path: Path) -> None:
    build_demo_firm(sandbox_path, seed=SEED, today=TODAY, companies=1)
    with pytest.raises(DemoFirmExistsError, match="Brightline Studio"):
        build_demo_firm(sandbox_path, seed=SEED, today=TODAY, companies=2)
    # another seed means other realms: allowed next to the first firm
    build_demo_firm(sandbox_path, seed=SEED + 1, today=TODAY, companies=1)


def test_documents_are_served_over_http_as_generated(sandbox_path: Path) -> None:
    built = build_demo_firm(sandbox_path, seed=SEED, today=TODAY, companies=2)
    profile = firm_profiles(SEED, 2)[1]
    expected = generate_company(profile, SEED, TODAY)
    with api_client(embedded_transport(sandbox_path), built[1]["realm_id"]) as client:
        count = client.get("/query", params={"query": "SELECT COUNT(*) FROM Invoice"})
        assert count.status_code == 200
        assert count.json()["QueryResponse"]["totalCount"] == len(expected["Invoice"])

        invoice = expected["Invoice"][-1]
        answer = client.get(f"/invoice/{invoice['Id']}")
        assert answer.status_code == 200 and answer.json()["Invoice"] == invoice

        name = next(
            c["DisplayName"]
            for c in expected["Customer"]
            if "'" in c["DisplayName"] or "&" in c["DisplayName"]
        )
        escaped = name.replace("'", "\\'")
        found = client.get(
            "/query", params={"query": f"SELECT * FROM Customer WHERE DisplayName = '{escaped}'"}
        )
        assert found.status_code == 200
        assert [c["DisplayName"] for c in found.json()["QueryResponse"]["Customer"]] == [name]

        banks = client.get(
            "/query", params={"query": "SELECT * FROM Account WHERE AccountType = 'Bank'"}
        )
        served = {a["Id"]: a["CurrentBalance"] for a in banks.json()["QueryResponse"]["Account"]}
        assert served == {
            a["Id"]: a["CurrentBalance"] for a in expected["Account"] if a["AccountType"] == "Bank"
        }

        info = client.get(f"/companyinfo/{built[1]['realm_id']}")
        assert (
            info.status_code == 200
            and info.json()["CompanyInfo"]["CompanyName"] == "Harbor & Pine Creative"
        )


def test_brightline_is_multicurrency_with_its_rates_served(sandbox_path: Path) -> None:
    built = build_demo_firm(sandbox_path, seed=SEED, today=TODAY, companies=2)
    expected = generate_company(firm_profiles(SEED, 1)[0], SEED, TODAY)
    with api_client(embedded_transport(sandbox_path), built[0]["realm_id"]) as client:
        prefs = client.get("/preferences").json()["Preferences"]["CurrencyPrefs"]
        assert prefs == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}}
        today_rate = client.get(
            "/exchangerate", params={"sourcecurrencycode": "CAD", "asofdate": TODAY.isoformat()}
        ).json()["ExchangeRate"]
        latest = max(expected["ExchangeRate"], key=lambda r: r["AsOfDate"])
        assert today_rate == latest
        memos = client.get("/query", params={"query": "SELECT COUNT(*) FROM CreditMemo"}).json()
        assert memos["QueryResponse"]["totalCount"] == len(expected["CreditMemo"])
    with api_client(embedded_transport(sandbox_path), built[1]["realm_id"]) as client:
        prefs = client.get("/preferences").json()["Preferences"]["CurrencyPrefs"]
        assert prefs["MultiCurrencyEnabled"] is False
