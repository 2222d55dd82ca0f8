"""Stateful property test: clicks, double clicks, executor steps, crashes at every phase boundary,
dropped answers, throttling, outside payments and restarts, against the sandbox with faults.

Invariants: never two payments for one intent; no success without a QBO document; after
quiescing, every intent is terminal and each succeeded payment is the only one carrying its
marker."""

from __future__ import annotations

import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

from actions_world import ONE_SHOT, Crash, make_world
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from actions.executor import ExecutorHooks
from actions.model import PayBill, SendReminder

BILL_AMOUNTS = [None, Decimal("100.00"), Decimal("250.00")]


class ActionsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="oodaloo-actions-sm-"))
        self.world = make_world(self.tmp, companies=1)
        self.realm = self.world.realms[0]
        self.bills = self.world.open_bills(self.realm)
        self.invoices = self.world.open_invoices(self.realm)
        self.svc = self.world.service(retry=ONE_SHOT)
        self.intents: set[str] = set()

    def teardown(self) -> None:
        try:
            self.world.clear_faults()
            for _ in range(20):
                fresh = self.world.service(lease_seconds=0.0)
                fresh.reconcile()
                fresh.close()
                if self.world.open_intents() == 0:
                    break
            assert self.world.open_intents() == 0, "every intent is terminal after quiescing"
            self.check_payments()
            self.svc.close()
        finally:
            self.world.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    @rule(bill=st.integers(0, 2), amount=st.sampled_from(BILL_AMOUNTS), twice=st.booleans())
    def click_pay(self, bill: int, amount: Decimal | None, twice: bool) -> None:
        request = PayBill(self.realm, self.bills[bill % len(self.bills)], amount)
        first = self.svc.submit(request, actor="prop", execute=False)
        self.intents.add(first.intent_id)
        if twice:
            second = self.svc.submit(request, actor="prop", execute=False)
            assert second.intent_id == first.intent_id

    @rule(invoice=st.integers(0, 1))
    def click_remind(self, invoice: int) -> None:
        result = self.svc.submit(
            SendReminder(self.realm, self.invoices[invoice % len(self.invoices)]),
            actor="prop",
            execute=False,
        )
        self.intents.add(result.intent_id)

    @rule()
    def step(self) -> None:
        self.svc.executor.run_pending(max_rounds=1)

    @rule(phase=st.sampled_from(["after_claim", "before_send", "after_send"]))
    def crash_step(self, phase: str) -> None:
        def die(intent):
            raise Crash(phase)

        crashing = self.world.service(
            lease_seconds=0.0, hooks=ExecutorHooks(**{phase: die}), retry=ONE_SHOT
        )
        try:
            crashing.executor.run_pending(max_rounds=1)
        except Crash:
            pass
        finally:
            crashing.close()

    @rule()
    def drop_next_response(self) -> None:
        self.world.lose_next_write()

    @rule()
    def throttle_next(self) -> None:
        self.world.throttle_next()

    @rule(bill=st.integers(0, 2))
    def pay_outside(self, bill: int) -> None:
        self.world.pay_outside(self.realm, self.bills[bill % len(self.bills)])

    @rule()
    def restart(self) -> None:
        self.svc.close()
        self.svc = self.world.service(retry=ONE_SHOT)
        self.svc.reconcile()

    @invariant()
    def check_payments(self) -> None:
        by_marker = self.world.payments_by_marker(self.realm)
        assert all(len(docs) <= 1 for docs in by_marker.values()), (
            "never two payments for one intent"
        )
        for intent in self.svc.ledger.list(states=["succeeded"]):
            if intent.action == "pay_bill":
                docs = by_marker.get(intent.marker, [])
                assert [d["Id"] for d in docs] == [intent.qbo_id], (
                    "no success without a QBO document"
                )


def test_actions_state_machine() -> None:
    run_state_machine_as_test(
        ActionsMachine,
        settings=hsettings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
