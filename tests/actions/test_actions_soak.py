"""Soak: 2,000 approved payments over four companies, ~30% of QBO requests faulted (429, 503,
lost answers after the commit), 30% duplicate submissions and random executor crashes at every
phase boundary. Afterwards, straight from the sandbox file: exactly one BillPayment per succeeded
intent, none for the others, no stray marker, every intent terminal with a reason."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

from actions_world import ONE_SHOT, Crash, SandboxWorld

from actions.executor import ExecutorHooks
from actions.model import PayBill

ACTIONS = 2000
BATCH = 70
CRASH_PROBABILITY = 0.004  # per phase boundary: ~3 boundaries per action → ~25 crashes


def test_soak_exactly_one_effect_per_intent(tmp_path):
    world = SandboxWorld(tmp_path, companies=4)
    rng = random.Random(20261120)
    crashes = Counter()

    def maybe_crash(phase: str):
        def hook(intent) -> None:
            if rng.random() < CRASH_PROBABILITY:
                crashes[phase] += 1
                raise Crash(phase)

        return hook

    hooks = ExecutorHooks(
        after_claim=maybe_crash("after_claim"),
        before_send=maybe_crash("before_send"),
        after_send=maybe_crash("after_send"),
    )

    def new_service():
        svc = world.service(lease_seconds=0.0, hooks=hooks, retry=ONE_SHOT, max_attempts=30)
        svc.outbox_inline = False  # the outbox is applied in bulk by reconcile()
        return svc

    requests = []
    for n in range(ACTIONS):
        realm = world.realms[n % len(world.realms)]
        bill = world.open_bills(realm)[n % 3]
        requests.append(
            PayBill(realm, bill, Decimal("0.10") + Decimal(n % 7) / 100, scope=f"soak-{n}")
        )
    world.faults.set({"throttle": 0.1, "unavailable": 0.1, "lost_response": 0.15})

    def restart_and_recover():
        while True:  # a crash during recovery is just another crash
            fresh_svc = new_service()
            try:
                fresh_svc.reconcile()
                return fresh_svc
            except Crash:
                fresh_svc.close()

    svc = new_service()
    submitted = 0
    duplicates = 0
    while submitted < ACTIONS:
        fresh = requests[submitted : submitted + BATCH]
        submitted += len(fresh)
        repeats = [
            rng.choice(requests[:submitted]) for _ in range(int(len(fresh) * 0.43))
        ]  # 30% of the batch
        duplicates += len(repeats)
        batch = fresh + repeats
        rng.shuffle(batch)
        try:
            svc.approve(batch, actor="soak")
        except Crash:
            svc.close()
            svc = restart_and_recover()  # the recovery scan runs before new work
    assert sum(crashes.values()) >= 5, crashes

    world.clear_faults()
    for _ in range(20):
        svc.close()
        svc = restart_and_recover()
        if world.open_intents() == 0:
            break
    intents = svc.ledger.list()
    assert len(intents) == ACTIONS, (
        "one intent per intended action, duplicates collapsed, nothing lost"
    )
    assert all(i.terminal and (i.state == "succeeded" or i.reason) for i in intents)
    by_marker: dict[str, list[dict]] = {}
    for realm in world.realms:
        by_marker.update(world.payments_by_marker(realm))
    known = {i.marker for i in intents}
    assert set(by_marker) <= known, "no payment that no intent asked for"
    for intent in intents:
        docs = by_marker.get(intent.marker, [])
        if intent.state == "succeeded":
            assert [d["Id"] for d in docs] == [intent.qbo_id], intent
            assert Decimal(str(docs[0]["TotalAmt"])) == Decimal(intent.params["amount"])
        else:
            assert docs == [], intent
    states = Counter(i.state for i in intents)
    assert states["succeeded"] >= ACTIONS * 0.95, states
    faults_seen = sum(1 for i in intents if i.attempts > 1 or i.reason_code)
    assert faults_seen > 0 and duplicates >= ACTIONS * 0.4
    svc.close()
    world.close()
