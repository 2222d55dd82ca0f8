"""Every row of the failure table, end to end: the embedded sandbox with fault injection, the
real QBO client, real processes (SIGKILL) where the row is about processes."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from actions_procs import spawn_child, spawn_cli
from actions_world import ONE_SHOT, Crash

from actions.executor import ExecutorHooks
from actions.model import DelayBill, PayBill, SendReminder


def wait_for(path: Path, proc, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.stderr.read()}")
        assert time.monotonic() < deadline, "child never reached the hook"
        time.sleep(0.05)


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


# ---- double click ------------------------------------------------------------------------
def test_double_click_threads_one_effect(world):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    svc = world.service()
    barrier = threading.Barrier(8)
    results = []

    def click() -> None:
        barrier.wait()
        results.append(svc.submit_pay_bill(realm, bill, actor="ana"))

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.intent_id for r in results}) == 1
    assert [r.outcome for r in results].count("executed") == 1
    assert {r.outcome for r in results} <= {"executed", "already_succeeded", "in_progress"}
    assert len(world.payments_for(realm, bill)) == 1 + 0
    assert world.doc(realm, "Bill", bill)["Balance"] == 0
    svc.close()


def test_same_cli_command_five_processes_at_once(world):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[1]
    args = ("act", "pay-bill", "--company", realm, "--bill", bill, "--amount", "500.00", "--json")
    procs = [spawn_cli(world.settings.data_dir, *args) for _ in range(5)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        outs.append((proc.returncode, out, err))
    import json

    results = [json.loads(out) for code, out, err in outs if out.strip()]
    assert len(results) == 5, outs
    assert len({r["intent_id"] for r in results}) == 1
    assert [r["outcome"] for r in results].count("executed") == 1
    assert all(code in (0, 3) for code, _, _ in outs)
    payments = world.payments_for(realm, bill)
    assert len(payments) == 1 and payments[0]["TotalAmt"] == 500.0
    # a sixth run later tells what happened
    again = spawn_cli(world.settings.data_dir, *args[:-1])
    out, _ = again.communicate(timeout=60)
    assert again.returncode == 0 and "already succeeded: BillPayment" in out


# ---- crashes -----------------------------------------------------------------------------
def test_crash_after_claim_before_send_resends_once(world, tmp_path):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    signal_file = tmp_path / "claimed"
    proc = spawn_child(
        str(world.settings.data_dir), "pause-after-claim", realm, bill, str(signal_file)
    )
    wait_for(signal_file, proc)
    kill(proc)
    assert world.payments_for(realm, bill) == []
    time.sleep(0.6)  # the child's lease (0.5 s) runs out
    svc = world.service()
    svc.reconcile()
    (intent,) = svc.ledger.list()
    assert intent.state == "succeeded"
    assert len(world.payments_for(realm, bill)) == 1
    events = [e["event"] for e in svc.audit(realm)]
    assert "recovery_started" in events and "retry_scheduled" in events
    svc.close()


def test_sigkill_after_send_before_record_finds_the_payment(world, tmp_path):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    signal_file = tmp_path / "sent"
    proc = spawn_child(
        str(world.settings.data_dir), "pause-after-send", realm, bill, str(signal_file)
    )
    wait_for(signal_file, proc)
    kill(proc)
    assert len(world.payments_for(realm, bill)) == 1  # QBO did it; our ledger does not know yet
    svc = world.service()
    (intent,) = svc.ledger.list()
    assert intent.state == "in_flight" and intent.phase == "sending"
    time.sleep(0.6)
    svc.reconcile()
    intent = svc.ledger.get(intent.id)
    assert intent.state == "succeeded"
    payments = world.payments_for(realm, bill)
    assert len(payments) == 1 and payments[0]["Id"] == intent.qbo_id
    assert any(
        e["event"] == "succeeded" and "reconciled" in e["detail"]["how"] for e in svc.audit(realm)
    )
    # the same command again: one effect still
    again = svc.submit_pay_bill(realm, bill, actor="child")
    assert again.outcome == "already_succeeded" and len(world.payments_for(realm, bill)) == 1
    svc.close()


# ---- lost answers, throttling --------------------------------------------------------------
def test_lost_response_replayed_by_requestid(world):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    world.script("POST /billpayment", "lost_response")
    svc = world.service()
    result = svc.submit_pay_bill(realm, bill, amount="100.00", actor="ana")
    assert result.outcome == "executed"
    assert len(world.payments_for(realm, bill)) == 1
    svc.close()


def test_lost_response_without_client_retry_is_reconciled_by_marker(world):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    world.script("POST /billpayment", "lost_response")
    svc = world.service(retry=ONE_SHOT)
    result = svc.submit_pay_bill(realm, bill, amount="100.00", actor="ana")
    assert result.state == "succeeded", result.message
    assert len(world.payments_for(realm, bill)) == 1
    events = [e["event"] for e in svc.audit(realm)]
    assert events.index("outcome_unknown") < events.index("succeeded")
    svc.close()


@pytest.mark.parametrize("fault", ["throttle", "unavailable"])
def test_429_and_503_back_off_with_same_requestid(world, fault):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    world.script("POST /billpayment", fault, times=2)
    svc = world.service(retry=ONE_SHOT)
    first = svc.submit_pay_bill(realm, bill, actor="ana")
    assert first.state in ("pending", "unknown", "succeeded")
    svc.reconcile(drain_seconds=5)
    intent = svc.ledger.get(first.intent_id)
    assert intent.state == "succeeded" and intent.attempts >= 2
    assert len(world.payments_for(realm, bill)) == 1
    svc.close()


# ---- stale SyncToken, outside changes ------------------------------------------------------
def test_stale_sync_token_reguards_once(world):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    edits = []

    def someone_edits(intent) -> None:
        if not edits:
            edits.append(1)
            world.edit_bill_note(realm, bill, "edited by the bookkeeper")

    svc = world.service(hooks=ExecutorHooks(before_send=someone_edits))
    result = svc.submit_delay_bill(
        realm, bill, until="2026-12-18", note="client pays on the 15th", actor="ana"
    )
    assert result.outcome == "executed", result.message
    note = world.doc(realm, "Bill", bill)["PrivateNote"]
    assert (
        "edited by the bookkeeper" in note
        and "client pays on the 15th" in note
        and result.intent_id in note
    )
    assert "stale_sync_token" in [e["event"] for e in svc.audit(realm)]
    from runway.settings import planned_pay_dates

    plans = planned_pay_dates(world.settings)
    assert (
        plans.filter(plans["bill_id"] == bill)["planned_date"].to_list()[0].isoformat()
        == "2026-12-18"
    )
    svc.close()


def test_bill_paid_elsewhere_meanwhile_is_refused(world):
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    svc = world.service(
        hooks=ExecutorHooks(after_claim=lambda intent: world.pay_outside(realm, bill))
    )
    result = svc.submit_pay_bill(realm, bill, actor="ana")
    assert result.outcome == "refused" and result.reason_code == "already_paid"
    assert "already paid" in result.message
    assert len(world.payments_for(realm, bill)) == 1  # only the outside payment
    assert world.payments_by_marker(realm) == {}
    svc.close()


def test_changed_since_approval_and_amount_over_balance_are_refused(world):
    realm = world.realms[0]
    bill = world.open_bills(realm)[0]
    svc = world.service()
    changed = svc.submit_pay_bill(realm, bill, approved_amount="2999.00", actor="ana")
    assert changed.reason_code == "changed_since_approval"
    over = svc.submit_pay_bill(realm, bill, amount="999999.00", actor="ana")
    assert over.reason_code == "amount_exceeds_balance"
    assert world.payments_for(realm, bill) == []
    svc.close()


def test_deleted_and_voided_targets_are_refused(world):
    realm = world.realms[0]
    bill, invoice = world.open_bills(realm)[2], world.open_invoices(realm)[0]
    world.delete_doc(realm, "Bill", bill)
    world.void_invoice(realm, invoice)
    svc = world.service()
    assert svc.submit_pay_bill(realm, bill, actor="ana").reason_code == "deleted"
    assert svc.submit_reminder(realm, invoice, actor="ana").reason_code in (
        "voided",
        "already_paid",
    )
    assert world.payments_for(realm, bill) == []
    svc.close()


def test_reminder_cooldown_from_ledger_and_from_quickbooks(world):
    realm = world.realms[0]
    first_inv, second_inv = world.open_invoices(realm)
    svc = world.service()
    sent = svc.submit_reminder(realm, first_inv, actor="ana")
    assert sent.outcome == "executed"
    assert world.doc(realm, "Invoice", first_inv)["EmailStatus"] == "EmailSent"
    world.db.advance_clock(timedelta(days=2).total_seconds())
    again = svc.submit_reminder(realm, first_inv, send_to="ap@client.example", actor="ana")
    assert again.outcome == "refused" and again.reason_code == "cooldown"
    world.db.advance_clock(timedelta(days=6).total_seconds())
    later = svc.submit_reminder(realm, first_inv, send_to="ap@client.example", actor="ana")
    assert later.outcome == "executed", later.message
    # sent from QuickBooks itself (not by us): the cooldown still applies
    world.send_invoice_outside(realm, second_inv)
    assert svc.submit_reminder(realm, second_inv, actor="ana").reason_code == "cooldown"
    no_email = world.open_invoices_all(realm)[2]
    assert svc.submit_reminder(realm, no_email, actor="ana").reason_code == "no_email"
    svc.close()


def test_reconnect_needed_is_refused_before_any_request(world):
    from sync.connections import mark_reconnect_needed

    realm, bill = world.realms[1], world.open_bills(world.realms[1])[0]
    mark_reconnect_needed(world.settings, realm, "revoked in test")
    svc = world.service()
    result = svc.submit_pay_bill(realm, bill, actor="ana")
    assert result.outcome == "refused" and result.reason_code == "reconnect_needed"
    assert world.payments_for(realm, bill) == []
    svc.close()


# ---- restart mid-queue, two executors, token refresh -----------------------------------------
def selection(world) -> list:
    items = []
    for realm in world.realms:
        bills = world.open_bills(realm)
        items += [
            PayBill(realm, bills[0], Decimal("100.00")),
            PayBill(realm, bills[1]),
            DelayBill(realm, bills[2], "2026-12-31"),
            SendReminder(realm, world.open_invoices(realm)[0]),
        ]
    return items


def test_restart_mid_queue_loses_nothing_doubles_nothing(world):
    runs = []

    def crash_on_fourth(intent) -> None:
        runs.append(intent.id)
        if len(runs) == 4:
            raise Crash("power cut")

    svc = world.service(lease_seconds=0.0, hooks=ExecutorHooks(after_send=crash_on_fourth))
    with pytest.raises(Crash):
        svc.approve(selection(world), actor="ana")
    svc.close()
    fresh = world.service()
    fresh.reconcile()
    intents = fresh.ledger.list()
    assert len(intents) == 8 and all(i.state == "succeeded" for i in intents), [
        (i.state, i.reason) for i in intents
    ]
    for realm in world.realms:
        for _marker, docs in world.payments_by_marker(realm).items():
            assert len(docs) == 1
        assert len(world.payments_by_marker(realm)) == 2
    assert len({i.approval_id for i in intents}) == 1
    fresh.close()


def test_two_executor_processes_at_once(world, tmp_path):
    svc = world.service()
    for realm in world.realms:
        for bill in world.open_bills(realm):
            for amount in ("10.00", "20.00", "30.00"):
                svc.submit(PayBill(realm, bill, Decimal(amount)), actor="ana", execute=False)
    svc.close()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        spawn_child(str(world.settings.data_dir), "run-pending", str(barrier), "2")
        for _ in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    fresh = world.service()
    intents = fresh.ledger.list()
    assert len(intents) == 18 and all(i.state == "succeeded" for i in intents)
    for realm in world.realms:
        by_marker = world.payments_by_marker(realm)
        assert len(by_marker) == 9 and all(len(d) == 1 for d in by_marker.values())
    for intent in intents:  # one recorded success and at most one attempt that reached QBO each
        events = [e["event"] for e in fresh.audit(intent_id=intent.id)]
        assert events.count("succeeded") == 1 and events.count("sending") == 1, events
    fresh.close()


def test_access_token_expires_and_refreshes_during_a_batch(world):
    from sync.tokens import TokenStore

    realm = world.realms[0]
    before = TokenStore(world.settings).access_token(realm).generation
    svc = world.service()

    def progress(done: int, total: int, result) -> None:
        if done == 2:
            world.db.advance_clock(2 * 3600)  # the access token (1 h) is now expired in QBO's eyes

    results = svc.approve(selection(world)[:4], actor="ana", on_progress=progress)
    assert [r.outcome for r in results] == ["executed"] * 4, [r.message for r in results]
    assert TokenStore(world.settings).access_token(realm).generation > before
    svc.close()


def test_outcome_lands_in_warehouse_audit_and_sync_queue(world):
    from sync.queue import pending_requests
    from sync.store import Warehouse

    realm, bill = world.realms[0], world.open_bills(world.realms[0])[0]
    svc = world.service()
    result = svc.submit_pay_bill(realm, bill, actor="ana")
    with Warehouse(world.settings.warehouse_path).read() as con:
        row = con.execute(
            "SELECT count(*) FROM log_bill_payment WHERE realm_id=? AND id=?",
            [realm, result.qbo_id],
        ).fetchone()
        bill_row = con.execute(
            "SELECT balance FROM cur_bill WHERE realm_id=? AND id=?", [realm, bill]
        ).fetchone()
    assert row[0] == 1 and bill_row[0] == 0
    assert [r["realm_id"] for r in pending_requests(world.settings)] == [realm]
    assert all(o["applied_at"] for o in svc.ledger.outbox_rows(result.intent_id))
    svc.outbox.apply()  # applying again is harmless
    with Warehouse(world.settings.warehouse_path).read() as con:
        assert (
            con.execute(
                "SELECT count(*) FROM log_bill_payment WHERE id=?", [result.qbo_id]
            ).fetchone()[0]
            == 1
        )
    entries = svc.audit(realm)
    assert {"submitted", "attempt_started", "sending", "succeeded"} <= {e["event"] for e in entries}
    assert all(e["actor"] == "ana" for e in entries)
    done = next(e for e in entries if e["event"] == "succeeded")
    assert done["detail"]["qbo_id"] == result.qbo_id and done["correlation_id"]
    svc.close()
