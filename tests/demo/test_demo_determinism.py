"""Same seed -> byte-identical documents; another seed -> other documents; no wall clock."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal

import pytest

from sandbox.demo import firm_profiles, generate_company
from sandbox.demo.profiles import realm_id_for
from tests.demo.demo_ledger import SEED, TODAY, bank_transactions


def dump(docs: dict) -> bytes:
    return json.dumps(docs, ensure_ascii=False).encode()


def test_same_seed_gives_byte_identical_documents(profiles) -> None:
    for profile in (profiles[0], profiles[9]):
        random.seed(1)  # the global generator must not matter
        first = dump(generate_company(profile, SEED, TODAY))
        random.seed(2)
        assert dump(generate_company(profile, SEED, TODAY)) == first


def test_another_seed_gives_other_documents_and_realms() -> None:
    a, b = firm_profiles(SEED, 12), firm_profiles(SEED + 1, 12)
    assert [p.name for p in a] == [p.name for p in b]
    assert {p.realm_id for p in a}.isdisjoint({p.realm_id for p in b})
    assert dump(generate_company(a[3], SEED, TODAY)) != dump(
        generate_company(b[3], SEED + 1, TODAY)
    )


def test_history_ends_at_today_and_spans_eighteen_months() -> None:
    profile = firm_profiles(SEED, 1)[0]
    for today in (TODAY, date(2025, 3, 31)):
        docs = generate_company(profile, SEED, today)
        dates = sorted(d["TxnDate"] for e in ("Invoice", "Bill", "Purchase") for d in docs[e])
        span = (date.fromisoformat(dates[-1]) - date.fromisoformat(dates[0])).days
        assert dates[-1] <= today.isoformat() and 530 <= span <= 552


def test_realm_ids_are_sixteen_digit_and_stable() -> None:
    ids = [p.realm_id for p in firm_profiles(SEED, 40)]
    assert len(set(ids)) == 40 and all(len(r) == 16 and r.isdigit() for r in ids)
    assert ids[5] == realm_id_for(SEED, 5) == firm_profiles(SEED, 6)[5].realm_id


def test_large_firms_repeat_the_situations_with_unique_names() -> None:
    profiles = firm_profiles(SEED, 60)
    assert len({p.name for p in profiles}) == 60
    assert [p.situation for p in profiles[12:24]] == [p.situation for p in profiles[:12]]
    assert len({p.tz for p in profiles}) == 3


def test_scale_multiplies_the_volume_and_keeps_books_consistent() -> None:
    profile = firm_profiles(SEED, 13)[12]
    small = generate_company(profile, SEED, TODAY, 1.0)
    big = generate_company(profile, SEED, TODAY, 3.0)
    assert len(big["Invoice"]) > 1.8 * len(small["Invoice"])
    assert len(big["Customer"]) >= 2.5 * len(small["Customer"])
    for account in big["Account"]:
        if account["AccountType"] == "Bank":
            assert bank_transactions(big)[account["Id"]] == Decimal(str(account["CurrentBalance"]))


@pytest.mark.parametrize("bad", [0, -1.0])
def test_bad_scale_is_refused_with_a_clear_error(bad: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_company(firm_profiles(SEED, 1)[0], SEED, TODAY, bad)


def test_bad_company_count_is_refused() -> None:
    with pytest.raises(ValueError, match="companies"):
        firm_profiles(SEED, 0)


def test_docs_describe_the_firm_as_generated() -> None:
    from pathlib import Path

    from sandbox.demo.profiles import describe_firm

    text = (Path(__file__).resolve().parents[2] / "docs" / "demo-firm.md").read_text()
    assert describe_firm(SEED) in text
