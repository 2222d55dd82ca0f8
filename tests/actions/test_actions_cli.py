"""The CLI in process (``oodaloo.cli.main``) against the embedded sandbox: outputs and exit
codes."""

from __future__ import annotations

import getpass
import json

from actions_world import ONE_SHOT

from oodaloo.cli import main


def run(world, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(world.settings.data_dir), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_act_commands_list_and_reconcile(world, capsys):
    realm = world.realms[0]
    bills, invoices = world.open_bills(realm), world.open_invoices(realm)
    code, out, _ = run(
        world,
        capsys,
        "act",
        "pay-bill",
        "--company",
        realm,
        "--bill",
        bills[0],
        "--amount",
        "120.50",
        "--date",
        "2026-11-19",
    )
    assert code == 0 and "done: BillPayment" in out and "120.5" in out
    payment = world.payments_for(realm, bills[0])[0]
    assert (
        payment["TxnDate"] == "2026-11-19"
        and payment["CheckPayment"]["BankAccountRef"]["value"] == "1"
    )
    code, out, _ = run(
        world,
        capsys,
        "act",
        "delay-bill",
        "--company",
        realm,
        "--bill",
        bills[1],
        "--until",
        "2026-12-04",
        "--note",
        "after the retainer lands",
    )
    assert code == 0 and "updated" in out
    code, out, _ = run(
        world,
        capsys,
        "act",
        "remind",
        "--company",
        realm,
        "--invoice",
        invoices[0],
        "--to",
        "ap@client.example",
    )
    assert code == 0 and "sent" in out
    assert world.doc(realm, "Invoice", invoices[0])["BillEmail"]["Address"] == "ap@client.example"

    code, out, _ = run(
        world,
        capsys,
        "act",
        "remind",
        "--company",
        realm,
        "--invoice",
        invoices[0],
        "--to",
        "other@client.example",
    )
    assert code == 1 and "refused" in out and "cooldown" in out

    code, out, _ = run(world, capsys, "actions", "list", "--company", realm, "--json")
    rows = json.loads(out)
    assert code == 0 and [r["state"] for r in rows] == [
        "succeeded",
        "succeeded",
        "succeeded",
        "failed",
    ]
    assert {r["actor"] for r in rows} == {f"local:{getpass.getuser()}"}  # a named local operator
    code, out, _ = run(world, capsys, "actions", "list")
    assert code == 0 and out.count("\n") == 4 and "cooldown" in out
    code, out, _ = run(world, capsys, "actions", "reconcile")
    assert code == 0 and "succeeded: 3" in out and "failed: 1" in out


def test_bad_input_exits_2_with_a_named_error(world, capsys):
    realm = world.realms[0]
    code, _, err = run(
        world, capsys, "act", "pay-bill", "--company", realm, "--bill", "60", "--amount", "-5"
    )
    assert code == 2 and "amount must be greater than zero" in err
    code, _, err = run(
        world, capsys, "act", "delay-bill", "--company", realm, "--bill", "60", "--until", "soon"
    )
    assert code == 2 and "planned pay date" in err
    code, _, err = run(
        world, capsys, "act", "remind", "--company", realm, "--invoice", "40", "--to", "nobody"
    )
    assert code == 2 and "not an e-mail address" in err
    assert world.payments_for(realm, "60") == []


def test_unknown_outcome_exit_code_and_later_reconcile(world, capsys, monkeypatch):
    import actions.cli
    from actions.executor import ExecutorHooks

    def marker_search_fails(intent) -> None:
        world.script(
            "GET /bill/*", "unavailable"
        )  # after the guard's read: the marker search fails

    hooks = ExecutorHooks(before_send=marker_search_fails)
    monkeypatch.setattr(
        actions.cli, "_service", lambda settings: world.service(retry=ONE_SHOT, hooks=hooks)
    )
    realm, bill = world.realms[0], world.open_bills(world.realms[0])[2]
    world.script("POST /billpayment", "lost_response")  # QBO records it, the answer is lost
    code, out, _ = run(world, capsys, "act", "pay-bill", "--company", realm, "--bill", bill)
    assert code == 4 and "outcome not known yet" in out, out
    assert len(world.payments_for(realm, bill)) == 1
    code, out, _ = run(world, capsys, "actions", "reconcile")
    assert code == 0 and "succeeded: 1" in out
    assert len(world.payments_for(realm, bill)) == 1
