"""Who may move money, enforced by the code that acts (ActionService.approve_as), not only by
the pages: a viewer is refused, a preparer's selection waits for an approver, above a company's
threshold one approver is not enough, and the people are named in the ledger and the audit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.service import ActionService
from oodaloo import auth
from tests.security.conftest import World

OWNER, PARTNER, ANALYST, VIEWER = (
    auth.Identity("owner@demo.local"),
    auth.Identity("partner@demo.local"),
    auth.Identity("analyst@demo.local"),
    auth.Identity("viewer@demo.local"),
)


@pytest.fixture
def service(world: World, monkeypatch: pytest.MonkeyPatch) -> ActionService:
    monkeypatch.delenv("OODALOO_AUTH_ADMINS")  # only the role table decides here
    from oodaloo.config import load_settings

    world.settings = load_settings(data_dir=world.settings.data_dir)
    auth.seed_demo_roles(world.settings)
    svc = ActionService(world.settings, qbo_clock=world.db.now)
    yield svc
    svc.close()


def pay(world: World, realm: str, bill_id: str) -> dict[str, str]:
    return {
        "action": "pay_bill",
        "realm_id": realm,
        "bill_id": bill_id,
        "approved_amount": str(world.balance(realm, bill_id)),
    }


def test_roles_resolve_per_company(world: World, service: ActionService) -> None:
    realm, other = world.realms
    auth.grant(world.settings, "ana@firm.example", auth.APPROVER, realm)
    auth.grant(world.settings, "ana@firm.example", auth.VIEWER)  # every other company
    ana = auth.Identity("ana@firm.example")
    assert auth.can(world.settings, ana, "approve", realm)
    assert not auth.can(world.settings, ana, "approve", other)
    assert auth.can(world.settings, ana, "view", other)
    assert not auth.can(world.settings, auth.Identity("stranger@x.example"), "view", realm)
    assert auth.is_admin(world.settings, OWNER) and not auth.is_admin(world.settings, PARTNER)
    with pytest.raises(ValueError, match="firm role"):
        auth.grant(world.settings, "x@y.example", auth.ADMIN, realm)


def test_viewer_cannot_approve_and_nothing_is_recorded(
    world: World, service: ActionService
) -> None:
    realm = world.realms[0]
    bill = world.seeded[realm]["open_bills"][0]
    before = world.balance(realm, bill)
    with pytest.raises(auth.AccessDenied, match="viewer@demo.local may not prepare"):
        service.approve_as(VIEWER, [pay(world, realm, bill)], approval_id="ap-viewer")
    with pytest.raises(auth.AccessDenied):
        service.approve_as(None, [pay(world, realm, bill)], approval_id="ap-anon")
    assert service.ledger.proposal("ap-viewer") is None and service.list_intents() == []
    assert world.balance(realm, bill) == before


def test_preparer_selection_waits_for_an_approver(world: World, service: ActionService) -> None:
    realm = world.realms[0]
    bill = world.seeded[realm]["open_bills"][0]
    before = world.balance(realm, bill)
    auth.set_threshold(world.settings, realm, before + Decimal("1"))  # one approver suffices

    waiting = service.approve_as(ANALYST, [pay(world, realm, bill)], approval_id="ap-prep")
    assert [r.outcome for r in waiting] == ["waiting_for_approval"]
    assert service.list_intents() == [] and world.balance(realm, bill) == before
    assert [p["approval_id"] for p in service.waiting_approvals(realm)] == ["ap-prep"]
    with pytest.raises(auth.AccessDenied, match="it takes an approver"):
        service.approve_proposal(ANALYST, "ap-prep")  # a preparer never approves

    done = service.approve_proposal(PARTNER, "ap-prep")
    assert [r.outcome for r in done] == ["executed"], done
    assert world.balance(realm, bill) == Decimal("0")
    [intent] = service.list_intents()
    assert intent["actor"] == PARTNER.email and intent["approval_id"] == "ap-prep"
    events = {(a["event"], a["actor"]) for a in service.audit(realm)}
    assert ("submitted_for_approval", ANALYST.email) in events
    assert ("approval_given", PARTNER.email) in events
    assert service.waiting_approvals(realm) == []


def test_above_threshold_one_approver_is_not_enough(world: World, service: ActionService) -> None:
    realm = world.realms[0]
    bills = world.seeded[realm]["open_bills"][:2]
    selection = [pay(world, realm, b) for b in bills]
    total = sum(Decimal(r["approved_amount"]) for r in selection)
    auth.set_threshold(world.settings, realm, total - Decimal("0.01"))

    first = service.approve_as(OWNER, selection, approval_id="ap-big")
    assert {r.outcome for r in first} == {"waiting_for_approval"}
    assert "1 of 2" in first[0].message
    again = service.approve_as(OWNER, selection, approval_id="ap-big")  # same person twice
    assert {r.outcome for r in again} == {"waiting_for_approval"} and "1 of 2" in again[0].message
    assert service.list_intents() == []
    assert all(world.balance(realm, b) > 0 for b in bills)

    done = service.approve_proposal(PARTNER, "ap-big")
    assert [r.outcome for r in done] == ["executed", "executed"], done
    assert all(world.balance(realm, b) == 0 for b in bills)
    actors = {i["actor"] for i in service.list_intents()}
    assert actors == {f"{OWNER.email}, {PARTNER.email}"}  # both approvers named


def test_at_the_threshold_one_approver_suffices(world: World, service: ActionService) -> None:
    realm = world.realms[0]
    bill = world.seeded[realm]["open_bills"][0]
    request = pay(world, realm, bill)
    auth.set_threshold(world.settings, realm, request["approved_amount"])  # "above" is strict
    done = service.approve_as(PARTNER, [request], approval_id="ap-exact")
    assert [r.outcome for r in done] == ["executed"]


def test_threshold_input_is_validated(world: World) -> None:
    for bad in ("NaN", "inf", "-1", "1e400", "twelve"):
        with pytest.raises(ValueError, match="threshold"):
            auth.set_threshold(world.settings, world.realms[0], bad)
    assert auth.threshold(world.settings, world.realms[0]) == Decimal(
        world.settings.second_approver_threshold
    )


def test_cli_acts_as_a_named_local_operator() -> None:
    import getpass

    assert auth.cli_identity().actor == f"local:{getpass.getuser()}"
    assert auth.cli_identity("ops-night").actor == "ops-night"


def test_the_digest_names_who_approved(world: World, service: ActionService) -> None:
    """'Actions this week' shows the signed-in approver recorded in the ledger."""
    from datetime import UTC, timedelta

    import polars as pl

    from digest.actions_feed import executed_actions

    realm = world.realms[0]
    bill = world.seeded[realm]["open_bills"][0]
    auth.set_threshold(world.settings, realm, "1000000")
    [result] = service.approve_as(PARTNER, [pay(world, realm, bill)], approval_id="ap-digest")
    assert result.outcome == "executed"
    now = world.db.now().astimezone(UTC)
    empty = {"bill": pl.DataFrame(), "invoice": pl.DataFrame()}
    rows = executed_actions(
        service.list_intents(), realm, now - timedelta(days=7), now + timedelta(days=1), empty
    )
    assert [r["approved_by"] for r in rows] == [PARTNER.email]
