"""Cash Console approval: totals shown before anything runs; each selected action runs exactly
once, also when the approve fires twice, on a rerun, or from a second tab."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from ui_support import open_app, qbo_all, table_with, texts

from actions.service import ActionService
from oodaloo import present
from oodaloo.clock import today
from oodaloo.config import Settings
from pages import _approval, _company
from runway.api import company_view, selection_effect
from sync.client import QBOClient
from sync.connections import list_companies


def tray_choice(settings: Settings) -> tuple[str, list[int], list[int]]:
    """A company with payable bills in Must Pay and invoices in Chase; two bills, one invoice."""
    for company in list_companies(settings):
        view = company_view(settings, company.realm_id, today(settings))
        must = _company.tray_section(view, "must_pay")
        bills = [i for i, kind in enumerate(must["doc_type"].to_list()) if kind == "bill"][:2]
        rows = _company.tray_section(view, "chase").to_dicts()
        chase = [  # a row the tray offers as a reminder (not reminded lately, not a call)
            i
            for i, row in enumerate(rows)
            if row.get("selectable", True) and row.get("contact", "email") != "call"
        ][:1]
        if bills and chase:
            return company.realm_id, bills, chase
    raise AssertionError(
        "the demo firm has no company with both bills to pay and invoices to chase"
    )


def select(at: object, section: str, realm_id: str, rows: list[int]) -> None:
    """Tick rows of a tray table (its key is per company and tray generation, 0 in a new
    session)."""
    key = f"tray_{section}_{realm_id}_0"
    at.session_state[key] = {"selection": {"rows": rows, "columns": [], "cells": []}}  # type: ignore[attr-defined]


def bill_payments_for(settings: Settings, realm_id: str, bill_ids: set[str]) -> Counter[str]:
    """How many BillPayments in QuickBooks (the sandbox) pay each bill."""
    payments: list[dict] = []
    with QBOClient(settings) as client:
        while True:
            page = client.query(
                realm_id,
                f"SELECT * FROM BillPayment STARTPOSITION {len(payments) + 1} MAXRESULTS 1000",
            )
            payments += page
            if len(page) < 1000:
                break
    counts: Counter[str] = Counter()
    for payment in payments:
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Bill" and link.get("TxnId") in bill_ids:
                    counts[link["TxnId"]] += 1
    return counts


def test_approve_executes_each_action_exactly_once(demo_settings: Settings) -> None:
    realm, bill_rows, chase_rows = tray_choice(demo_settings)
    view = company_view(demo_settings, realm, today(demo_settings))
    must = _company.tray_section(view, "must_pay")[bill_rows]
    bill_ids = {str(b) for b in must["doc_id"].to_list()}
    before = bill_payments_for(demo_settings, realm, bill_ids)

    at = open_app("console", realm)
    second_tab = open_app("console", realm)  # another tab open on the same tray
    for tab in (at, second_tab):
        select(tab, "must_pay", realm, bill_rows)
        select(tab, "chase", realm, chase_rows)
        tab.run()
        assert not tab.exception
        tab.button(key="review_approve").click().run()
    pending = at.session_state[_approval.SELECTION_KEY]
    ident = pending["id"]
    assert (
        second_tab.session_state[_approval.SELECTION_KEY]["id"] == ident
    )  # derived from the selection
    assert len(pending["requests"]) == len(bill_rows) + len(chase_rows)
    cash_out = sum((Decimal(str(a)) for a in must["amount"].to_list()), Decimal(0))
    assert f"cash out now **{present.money(cash_out)}**" in texts(at)  # shown before anything runs
    # the combined effect: one re-run of the forecast with every selected change, not a sum of rows
    combined = selection_effect(demo_settings, realm, view.as_of, pending["requests"], view=view)
    assert pending["facts"]["effect"] == combined
    words = texts(at)
    assert "After paying the selected bills" in words  # effects in the terms they hold
    assert "if the reminded invoices are collected" in words  # a reminder is not cash yet
    # the review names each payee, document number and amount, read from QuickBooks itself
    review = table_with(at, "Action", "Paid from")
    bills = {b["Id"]: b for b in qbo_all(demo_settings, realm, "Bill")}
    for bill_id in bill_ids:
        bill = bills[bill_id]
        row = review[review["Document"] == f"Bill {bill['DocNumber']}"]
        assert len(row) == 1, (bill["DocNumber"], review.to_dict("records"))
        assert row["Who"].iloc[0] == bill["VendorRef"]["name"]
        assert row["Amount"].iloc[0] == present.money_exact(bill["Balance"])
        assert row["Paid from"].iloc[0] != "—"  # the bank account the payment is drawn on
    assert "Send reminder" in set(review["Action"])
    assert not ActionService(demo_settings).list_intents(realm)  # nothing ran yet

    at.button(key="approve_run").click().run()
    assert not at.exception
    results = at.session_state[_approval.RESULTS_KEY][ident]
    assert [r["outcome"] for r in results] == ["executed"] * len(results), [
        r["message"] for r in results
    ]
    assert at.button(key="approve_run").disabled  # a second click cannot reach the server
    outcome = table_with(at, "Result", "Detail")
    assert set(outcome["Result"]) == {"● Done"} and "Finished" in texts(at)

    at.session_state[_approval.RUN_KEY] = ident  # the approve fires again (stale click, rerun)
    at.run()
    assert not at.exception
    assert at.session_state[_approval.RESULTS_KEY][ident] == results  # shown again, not run again

    second_tab.button(key="approve_run").click().run()  # the other tab approves the same rows
    assert not second_tab.exception
    again = second_tab.session_state[_approval.RESULTS_KEY][ident]
    assert all(r["outcome"] != "executed" for r in again), again

    intents = ActionService(demo_settings).list_intents(realm)
    per_target = Counter((i["action"], i["target_id"]) for i in intents)
    assert len(per_target) == len(results) and set(per_target.values()) == {1}
    after = bill_payments_for(demo_settings, realm, bill_ids)
    assert {b: after[b] - before[b] for b in bill_ids} == {b: 1 for b in bill_ids}
    assert all(r["qbo_id"] for r in results if r["action"] == "pay_bill"), (
        results
    )  # the BillPayment ids
    audit = ActionService(demo_settings).audit(
        realm
    )  # the console's approval id, in ledger and audit
    assert audit and {e["approval_id"] for e in audit} == {ident}
    assert {i["approval_id"] for i in intents} == {ident}


def open_review(settings: Settings) -> tuple[object, str]:
    """A console session with one Must Pay bill selected and its review dialog open."""
    realm, bill_rows, _ = tray_choice(settings)
    at = open_app("console", realm)
    select(at, "must_pay", realm, bill_rows[:1])
    at.run()
    at.button(key="review_approve").click().run()
    assert not at.exception and at.session_state[_approval.OPEN_KEY]
    return at, realm


def test_close_and_dismiss_close_the_review_cleanly(demo_settings: Settings) -> None:
    at, _ = open_review(demo_settings)
    at.button(key="approval_close").click().run()
    assert not at.exception, at.exception  # was KeyError 'approval_selection'
    assert not at.session_state[_approval.OPEN_KEY]
    assert not [x for x in at.table if "Paid from" in x.value.columns]

    again, _ = open_review(demo_settings)
    # × is the dialog's on_dismiss, ``close_approval``: it leaves the state below behind
    again.session_state[_approval.OPEN_KEY] = False
    del again.session_state[_approval.SELECTION_KEY]
    again.run()
    assert not again.exception
    assert not [x for x in again.table if "Paid from" in x.value.columns]


def test_an_action_quickbooks_does_not_confirm_stays_pending_on_console_and_runway(
    demo_settings: Settings,
) -> None:
    from sandbox.faults import Faults

    at, realm = open_review(demo_settings)
    payee = table_with(at, "Action", "Paid from")["Who"].iloc[0]
    Faults(demo_settings.sandbox_path).script(
        realm, [{"match": "* /*", "action": "unavailable", "times": 200}]
    )
    at.button(key="approve_run").click().run()
    assert not at.exception
    words = texts(at)
    assert "Finished" not in words and "Not finished" in words, words
    results = table_with(at, "Result", "Detail")
    assert results["Result"].iloc[0] == "▲ Pending", results.to_dict("records")

    intents = ActionService(demo_settings).list_intents(realm)
    assert intents and not intents[0]["terminal"]  # the ledger agrees: not finished
    for page in ("console", "runway"):
        view = open_app(page, realm)
        assert not view.exception
        assert any("not finished yet" in w.value for w in view.warning), page
        pending = table_with(view, "Next try")
        assert list(pending["Who"]) == [payee] and pending["Next try"].iloc[0] != "—"
