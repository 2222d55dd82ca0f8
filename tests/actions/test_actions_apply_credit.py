"""Apply credit and the likely-duplicate guard, end to end: the embedded sandbox with fault
injection, the real QBO client, a real child process for the SIGKILL row.

Apply credit links a customer's unapplied payment to its open invoice (a Payment update); it
joins the failure table: lost answer, SIGKILL after send, double click — one effect each time."""

from __future__ import annotations

import os
import signal
import threading
import time
from decimal import Decimal

from actions_procs import spawn_child
from actions_world import ONE_SHOT

from actions.executor import ExecutorHooks


def unapplied_payment(world, realm: str, customer: str, amount: str) -> str:
    """The customer pays without naming an invoice (QBO keeps it as unapplied)."""
    bank = world.seeded[realm]["bank_account"]
    doc = world.outside(
        realm,
        "POST",
        "payment",
        json={
            "CustomerRef": {"value": customer},
            "TotalAmt": float(amount),
            "DepositToAccountRef": {"value": bank},
        },
    )["Payment"]
    assert Decimal(str(doc["UnappliedAmt"])) == Decimal(amount)
    return str(doc["Id"])


def overdue_invoice(world, realm: str) -> tuple[str, str, Decimal]:
    """(invoice id, its customer, its balance): Client A's overdue invoice from the seed."""
    invoice = world.doc(realm, "Invoice", world.open_invoices(realm)[0])
    return (
        str(invoice["Id"]),
        str(invoice["CustomerRef"]["value"]),
        Decimal(str(invoice["Balance"])),
    )


def links_to(world, realm: str, payment_id: str, invoice_id: str) -> list[Decimal]:
    payment = world.doc(realm, "Payment", payment_id)
    return [
        Decimal(str(line["Amount"]))
        for line in payment.get("Line") or []
        for link in line.get("LinkedTxn") or []
        if link["TxnType"] == "Invoice" and str(link["TxnId"]) == invoice_id
    ]


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def test_apply_credit_links_the_unapplied_payment_once(world):
    realm = world.realms[0]
    invoice, customer, balance = overdue_invoice(world, realm)
    payment = unapplied_payment(world, realm, customer, "1500.00")
    svc = world.service()
    result = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=payment, actor="ana"
    )
    assert result.outcome == "executed", result.message
    assert result.qbo_entity == "Payment" and result.qbo_id == payment
    assert links_to(world, realm, payment, invoice) == [balance]
    assert Decimal(str(world.doc(realm, "Invoice", invoice)["Balance"])) == 0
    left = Decimal("1500.00") - balance
    assert Decimal(str(world.doc(realm, "Payment", payment)["UnappliedAmt"])) == left
    again = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=payment, actor="ana"
    )
    assert again.outcome == "already_succeeded"
    assert links_to(world, realm, payment, invoice) == [balance]
    svc.close()


def test_apply_credit_double_click_one_effect(world):
    realm = world.realms[0]
    invoice, customer, balance = overdue_invoice(world, realm)
    payment = unapplied_payment(world, realm, customer, "400.00")
    svc = world.service()
    barrier = threading.Barrier(6)
    results = []

    def click() -> None:
        barrier.wait()
        results.append(
            svc.submit_apply_credit(
                realm, invoice, credit_type="Payment", credit_id=payment, actor="ana"
            )
        )

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.intent_id for r in results}) == 1
    assert [r.outcome for r in results].count("executed") == 1
    assert links_to(world, realm, payment, invoice) == [Decimal("400.00")]
    assert Decimal(str(world.doc(realm, "Invoice", invoice)["Balance"])) == balance - 400
    svc.close()


def test_apply_credit_lost_answer_is_reconciled_by_marker(world):
    realm = world.realms[0]
    invoice, customer, balance = overdue_invoice(world, realm)
    payment = unapplied_payment(world, realm, customer, "2000.00")
    world.script("POST /payment", "lost_response")
    svc = world.service(retry=ONE_SHOT)
    result = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=payment, actor="ana"
    )
    assert result.state == "succeeded", result.message
    assert links_to(world, realm, payment, invoice) == [balance]
    events = [e["event"] for e in svc.audit(realm)]
    assert events.index("outcome_unknown") < events.index("succeeded")
    svc.close()


def test_apply_credit_sigkill_after_send_finds_the_link(world, tmp_path):
    realm = world.realms[0]
    invoice, customer, balance = overdue_invoice(world, realm)
    payment = unapplied_payment(world, realm, customer, "1000.00")
    signal_file = tmp_path / "sent"
    proc = spawn_child(
        str(world.settings.data_dir),
        "credit-pause-after-send",
        realm,
        invoice,
        payment,
        str(signal_file),
    )
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "child never reached the hook"
        time.sleep(0.05)
    kill(proc)
    assert links_to(world, realm, payment, invoice) == [balance]  # QBO did it; we never heard
    svc = world.service()
    (intent,) = svc.ledger.list()
    assert intent.state == "in_flight" and intent.phase == "sending"
    time.sleep(0.6)  # the child's lease (0.5 s) runs out
    svc.reconcile()
    intent = svc.ledger.get(intent.id)
    assert intent.state == "succeeded" and intent.qbo_id == payment
    assert any(  # found by its marker on the Payment, not by sending again
        e["event"] == "succeeded" and "marker found" in e["detail"]["how"] for e in svc.audit(realm)
    )
    assert links_to(world, realm, payment, invoice) == [balance]
    again = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=payment, actor="child"
    )
    assert again.outcome == "already_succeeded"
    assert links_to(world, realm, payment, invoice) == [balance]
    svc.close()


def test_apply_credit_guards(world):
    realm = world.realms[0]
    invoice, customer, _ = overdue_invoice(world, realm)
    other_customer = world.seeded[realm]["customers"][1]
    theirs = unapplied_payment(world, realm, other_customer, "300.00")
    svc = world.service()
    wrong = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=theirs, actor="ana"
    )
    assert wrong.outcome == "refused" and wrong.reason_code == "other_customer"
    ours = unapplied_payment(world, realm, customer, "200.00")
    too_much = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=ours, amount="250.00", actor="ana"
    )
    assert too_much.outcome == "refused" and too_much.reason_code == "amount_exceeds_credit"
    used = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=ours, actor="ana"
    )
    assert used.outcome == "executed"
    # the whole credit is used now: another invoice of the customer cannot get it
    partial = world.open_invoices_all(realm)[2]
    world_payment = world.doc(realm, "Payment", ours)
    assert Decimal(str(world_payment["UnappliedAmt"])) == 0
    gone = svc.submit_apply_credit(
        realm, partial, credit_type="Payment", credit_id=ours, actor="ana"
    )
    assert gone.outcome == "refused" and gone.reason_code in ("credit_used", "other_customer")
    svc.close()


def test_apply_credit_stale_sync_token_reguards(world):
    realm = world.realms[0]
    invoice, customer, balance = overdue_invoice(world, realm)
    payment = unapplied_payment(world, realm, customer, "5000.00")
    edited = []

    def edit_payment(intent) -> None:  # someone edits the payment between our guard and send
        if not edited:
            doc = world.doc(realm, "Payment", payment)
            world.outside(
                realm,
                "POST",
                "payment",
                json={
                    "Id": payment,
                    "SyncToken": doc["SyncToken"],
                    "sparse": True,
                    "PrivateNote": "edited by the bookkeeper",
                },
            )
            edited.append(True)

    svc = world.service(hooks=ExecutorHooks(before_send=edit_payment))
    result = svc.submit_apply_credit(
        realm, invoice, credit_type="Payment", credit_id=payment, actor="ana"
    )
    assert result.outcome == "executed", result.message
    assert links_to(world, realm, payment, invoice) == [balance]
    note = world.doc(realm, "Payment", payment)["PrivateNote"]
    assert note.startswith("edited by the bookkeeper")  # the re-guard kept their edit
    assert "stale_sync_token" in [e["event"] for e in svc.audit(realm)]
    svc.close()


# ---- likely duplicates --------------------------------------------------------------------
def enter_twin(world, realm: str, bill_id: str) -> str:
    """The same vendor invoice typed in again two days later (same vendor and amount)."""
    from datetime import date, timedelta

    first = world.doc(realm, "Bill", bill_id)
    day = date.fromisoformat(first["TxnDate"]) + timedelta(days=2)
    doc = world.outside(
        realm,
        "POST",
        "bill",
        json={
            "VendorRef": first["VendorRef"],
            "TxnDate": day.isoformat(),
            "DueDate": first["DueDate"],
            "Line": first["Line"],
        },
    )["Bill"]
    assert Decimal(str(doc["TotalAmt"])) == Decimal(str(first["TotalAmt"]))
    return str(doc["Id"])


def test_paying_a_likely_duplicate_needs_an_override_with_a_reason(world):
    realm = world.realms[0]
    original = world.open_bills(realm)[0]
    twin = enter_twin(world, realm, original)
    svc = world.service()
    refused = svc.submit_pay_bill(realm, twin, actor="ana")
    assert refused.outcome == "refused" and refused.reason_code == "likely_duplicate"
    assert original in refused.message
    assert world.payments_for(realm, twin) == []
    # the original stays payable: only the later copy is held back
    assert svc.submit_pay_bill(realm, original, actor="ana").outcome == "executed"
    # now the twin repeats a paid bill; the override pays it, and the audit says who and why
    paid = svc.submit_pay_bill(
        realm, twin, actor="ana", override_reason="vendor confirmed two separate deliveries"
    )
    assert paid.outcome == "executed", paid.message
    assert len(world.payments_for(realm, twin)) == 1
    (entry,) = [e for e in svc.audit(realm, paid.intent_id) if e["event"] == "duplicate_override"]
    assert entry["detail"]["duplicate_of"] == original
    assert entry["detail"]["reason"] == "vendor confirmed two separate deliveries"
    assert entry["detail"]["actor"] == "ana"
    svc.close()


def test_a_blank_override_is_no_override(world):
    realm = world.realms[0]
    twin = enter_twin(world, realm, world.open_bills(realm)[0])
    svc = world.service()
    blank = svc.submit_pay_bill(realm, twin, actor="ana", override_reason="   ")
    assert blank.outcome == "refused" and blank.reason_code == "likely_duplicate"
    assert world.payments_for(realm, twin) == []
    svc.close()


def open_credit_memo(world, realm: str, customer: str, amount: str) -> str:
    line = {
        "Amount": float(amount),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
    }
    doc = world.outside(
        realm, "POST", "creditmemo", json={"CustomerRef": {"value": customer}, "Line": [line]}
    )["CreditMemo"]
    assert Decimal(str(doc["Balance"])) == Decimal(amount)
    return str(doc["Id"])


def test_apply_credit_memo_lost_answer_found_on_the_invoice(world):
    realm = world.realms[0]
    invoice, customer, balance = overdue_invoice(world, realm)
    memo = open_credit_memo(world, realm, customer, "250.00")
    world.script("POST /payment", "lost_response")
    svc = world.service(retry=ONE_SHOT)
    result = svc.submit_apply_credit(
        realm, invoice, credit_type="CreditMemo", credit_id=memo, actor="ana"
    )
    assert result.state == "succeeded", result.message
    assert Decimal(str(world.doc(realm, "CreditMemo", memo)["Balance"])) == 0
    assert Decimal(str(world.doc(realm, "Invoice", invoice)["Balance"])) == balance - 250
    # exactly one zero-total Payment carries the application, linked to both documents
    assert links_to(world, realm, result.qbo_id, invoice) == [Decimal("250.00")]
    applications = [
        p for p in world.docs(realm, "Payment") if result.intent_id in str(p.get("PrivateNote"))
    ]
    assert len(applications) == 1 and Decimal(str(applications[0]["TotalAmt"])) == 0
    again = svc.submit_apply_credit(
        realm, invoice, credit_type="CreditMemo", credit_id=memo, actor="ana"
    )
    assert again.outcome == "already_succeeded"
    svc.close()
