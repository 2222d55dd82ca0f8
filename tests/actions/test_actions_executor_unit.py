"""Ledger + executor logic against the in-memory fake QBO (fast; the sandbox tests cover the
wire)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from actions_fakes import FakeQBO
from actions_world import Crash

from actions.executor import ExecutorConfig, ExecutorHooks, fast_backoff
from actions.model import DelayBill, InvalidRequest, PayBill, SendReminder
from actions.service import ActionService

REALM = "9130000000001"


def make(settings, fake: FakeQBO, **config) -> ActionService:
    cfg = ExecutorConfig(backoff=fast_backoff, **config)
    return ActionService(settings, port=fake, qbo_clock=lambda: fake.now, executor_config=cfg)


@pytest.fixture
def fake() -> FakeQBO:
    f = FakeQBO()
    f.bill(REALM, "60", "3000.00")
    f.invoice(REALM, "40", "1000.00")
    return f


def test_pay_bill_once_then_duplicate_reports_existing(settings, fake):
    svc = make(settings, fake)
    first = svc.submit_pay_bill(REALM, "60", actor="ana")
    second = svc.submit_pay_bill(REALM, "60", actor="ana")
    assert first.outcome == "executed" and first.qbo_id
    assert (
        second.outcome == "already_succeeded"
        and second.duplicate
        and second.intent_id == first.intent_id
    )
    assert "already succeeded: BillPayment" in second.message
    assert len(fake.payments_for(REALM, "60")) == 1
    assert fake.docs[(REALM, "Bill", "60")]["Balance"] == 0


def test_lost_response_is_reconciled_by_marker(settings, fake):
    svc = make(settings, fake)
    fake.script.append(("create", "lost"))
    result = svc.submit_pay_bill(REALM, "60", amount="100.00", actor="ana")
    assert result.state == "succeeded", result.message
    assert len(fake.payments_for(REALM, "60")) == 1
    events = [e["event"] for e in svc.audit(REALM)]
    assert "outcome_unknown" in events and "succeeded" in events


def test_throttle_then_retry_same_requestid(settings, fake):
    svc = make(settings, fake)
    fake.script += [("create", "throttle"), ("create", "unavailable")]
    result = svc.submit_pay_bill(REALM, "60", actor="ana")
    assert result.state == "pending"
    svc.reconcile()
    intent = svc.ledger.get(result.intent_id)
    assert intent.state == "succeeded" and intent.attempts >= 2
    assert len(fake.payments_for(REALM, "60")) == 1


def test_crash_after_send_before_record_recovers_one_payment(settings, fake):
    def die(intent):
        raise Crash()

    svc = make(settings, fake, lease_seconds=0.0, hooks=ExecutorHooks(after_send=die))
    with pytest.raises(Crash):
        svc.submit_pay_bill(REALM, "60", actor="ana")
    again = make(settings, fake, lease_seconds=30.0)
    again.reconcile()
    (intent,) = again.ledger.list()
    assert intent.state == "succeeded"
    assert len(fake.payments_for(REALM, "60")) == 1


def test_paid_elsewhere_is_refused(settings, fake):
    svc = make(settings, fake)
    fake.docs[(REALM, "Bill", "60")]["Balance"] = 0
    result = svc.submit_pay_bill(REALM, "60", actor="ana")
    assert result.outcome == "refused" and result.reason_code == "already_paid"
    assert fake.payments_for(REALM, "60") == []


def test_stale_sync_token_reguards_once(settings, fake):
    svc = make(settings, fake)
    original = fake.update_sparse
    bumped = []

    def racing(realm_id, entity, body, *, requestid):
        if not bumped:  # someone edits the bill between our read and our write
            bumped.append(1)
            doc = fake.docs[(realm_id, entity, body["Id"])]
            doc["SyncToken"] = str(int(doc["SyncToken"]) + 1)
        return original(realm_id, entity, body, requestid=requestid)

    fake.update_sparse = racing
    result = svc.submit_delay_bill(
        REALM, "60", until="2026-12-15", note="waiting on client", actor="ana"
    )
    assert result.state == "succeeded", result.message
    assert "waiting on client" in fake.docs[(REALM, "Bill", "60")]["PrivateNote"]
    assert "stale_sync_token" in [e["event"] for e in svc.audit(REALM)]


def test_reminder_cooldown_and_missing_email(settings, fake):
    svc = make(settings, fake)
    assert svc.submit_reminder(REALM, "40", actor="ana").outcome == "executed"
    fake.now = fake.now.replace(day=22)
    again = svc.submit_reminder(REALM, "40", actor="ana")
    assert again.outcome == "refused" and again.reason_code == "cooldown"
    fake.invoice(REALM, "41", "50.00", email=None)
    assert svc.submit_reminder(REALM, "41", actor="ana").reason_code == "no_email"


def test_bad_input_is_named(settings, fake):
    svc = make(settings, fake)
    with pytest.raises(InvalidRequest, match="float"):
        svc.submit_pay_bill(REALM, "60", amount=12.5, actor="ana")
    with pytest.raises(InvalidRequest, match="bill id"):
        svc.submit_pay_bill(REALM, "", actor="ana")
    with pytest.raises(InvalidRequest, match="date"):
        svc.submit_delay_bill(REALM, "60", until="next week", actor="ana")


def test_approve_reports_progress_per_action(settings, fake):
    svc = make(settings, fake)
    seen = []
    results = svc.approve(
        [
            PayBill(REALM, "60", Decimal("10.00")),
            SendReminder(REALM, "40"),
            DelayBill(REALM, "60", "2026-12-01"),
            {"action": "pay_bill", "realm_id": REALM, "bill_id": "999"},
        ],
        actor="ana",
        on_progress=lambda done, total, r: seen.append((done, total, r.outcome)),
    )
    assert [s[:2] for s in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [r.outcome for r in results] == ["executed", "executed", "executed", "refused"]
    assert len({r.approval_id for r in results}) == 1


def test_approve_records_the_callers_approval_id_in_ledger_and_audit(settings, fake):
    svc = make(settings, fake)
    results = svc.approve(
        [PayBill(REALM, "60", Decimal("10.00")), SendReminder(REALM, "40")],
        actor="ana",
        approval_id="ap-console-0001",
    )
    assert [r.approval_id for r in results] == ["ap-console-0001"] * 2
    intents = svc.list_intents(REALM)
    assert {i["approval_id"] for i in intents} == {"ap-console-0001"}
    audit = [e for i in intents for e in svc.audit(intent_id=i["intent_id"])]
    assert audit and {e["approval_id"] for e in audit} == {"ap-console-0001"}
    with pytest.raises(InvalidRequest, match="approval_id"):
        svc.approve([SendReminder(REALM, "40")], actor="ana", approval_id="  ")
