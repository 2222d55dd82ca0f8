"""The ledger and the dedupe key on their own: CAS claims, leases, the schema's guarantees."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from datetime import date
from decimal import Decimal

import pytest

from actions.clickguard import ClickGuard
from actions.ledger import Ledger
from actions.model import DelayBill, PayBill, SendReminder, dedupe_key


def new_intent(ledger: Ledger, key: str = "k1", target: str = "60"):
    return ledger.insert(
        dedupe_key=key,
        realm_id="1",
        action="pay_bill",
        target_type="Bill",
        target_id=target,
        params={"amount": "1.00"},
        scope="2026-11-20",
        approval_id=None,
        actor="ana",
        correlation_id="c1",
    )


def test_dedupe_key_is_stable_and_parameter_sensitive():
    a = PayBill("1", "60", None, None, date(2026, 11, 20)).normalised()
    same = PayBill(" 1", "60 ", None, None, "2026-11-20").normalised()  # type: ignore[arg-type]
    assert dedupe_key(a, "2026-11-20") == dedupe_key(same, "2026-11-20")
    partial = PayBill("1", "60", Decimal("100"), None, date(2026, 11, 20)).normalised()
    assert (
        len(
            {
                dedupe_key(a, "d"),
                dedupe_key(partial, "d"),
                dedupe_key(a, "other-scope"),
                dedupe_key(DelayBill("1", "60", date(2026, 12, 1)).normalised(), "d"),
                dedupe_key(SendReminder("1", "60").normalised(), "d"),
            }
        )
        == 5
    )
    assert dedupe_key(SendReminder("1", "40", "A@B.example").normalised(), "d") == dedupe_key(
        SendReminder("1", "40", "a@b.example").normalised(), "d"
    )


def test_insert_is_unique_per_key_and_requestid_is_fixed(tmp_path):
    ledger = Ledger(tmp_path / "a.sqlite")
    first, created = new_intent(ledger)
    again, created_again = new_intent(ledger)
    assert created and not created_again and again.id == first.id
    assert len(first.requestid) <= 36 and again.requestid == first.requestid
    claimed = ledger.claim(first.id, "me", 60)
    released = ledger.release(claimed, retry_in=0, reason="429", code="throttled")
    assert released.requestid == first.requestid and released.attempts == 1


def test_claim_is_exclusive_across_threads(tmp_path):
    ledger = Ledger(tmp_path / "a.sqlite")
    intent, _ = new_intent(ledger)
    winners = []
    barrier = threading.Barrier(12)

    def contend(n: int) -> None:
        barrier.wait()
        if ledger.claim(intent.id, f"owner-{n}", 60) is not None:
            winners.append(n)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


def test_lease_expiry_and_one_intent_per_document(tmp_path):
    now = [1000.0]
    ledger = Ledger(tmp_path / "a.sqlite", lease_clock=lambda: now[0])
    first, _ = new_intent(ledger, "k1")
    second, _ = new_intent(ledger, "k2")  # another payment of the same bill
    assert ledger.claim(first.id, "a", 30) is not None
    assert ledger.claim(second.id, "b", 30) is None, "the bill is busy"
    assert ledger.recoverable_ids() == []
    now[0] += 31
    assert ledger.recoverable_ids() == [first.id]
    assert ledger.claim_for_recovery(first.id, "b", 30) is not None
    assert ledger.claim_for_recovery(first.id, "c", 30) is None


def test_schema_refuses_success_without_a_qbo_document(tmp_path):
    ledger = Ledger(tmp_path / "a.sqlite")
    intent, _ = new_intent(ledger)
    con = sqlite3.connect(tmp_path / "a.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("UPDATE intents SET state='succeeded' WHERE id=?", (intent.id,))
    with pytest.raises(sqlite3.IntegrityError):
        con.execute("UPDATE intents SET requestid=? WHERE id=?", ("x" * 37, intent.id))
    con.close()


def test_click_guard_is_atomic_json_and_private(settings):
    guard = ClickGuard(settings.cache_dir, ttl_seconds=30)
    assert guard.first("abc") is True
    assert guard.first("abc") is False
    assert guard.first("other") is True
    assert stat.S_IMODE(os.stat(settings.cache_dir).st_mode) == 0o700
    guard.close()
