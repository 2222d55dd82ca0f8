"""``oodaloo act ...`` and ``oodaloo actions ...``.

Exit codes (also in docs/actions.md):
  0  succeeded — by this command, or already before (the message says which)
  1  refused or failed (the message gives the reason; nothing was written to QuickBooks)
  2  bad input (argparse usage errors too)
  3  in progress elsewhere or waiting to retry (see ``oodaloo actions list``)
  4  outcome unknown for now; ``oodaloo actions reconcile`` settles it
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from actions.model import (
    ALREADY_SUCCEEDED,
    EXECUTED,
    IN_PROGRESS,
    PENDING_OUTCOME,
    UNKNOWN_OUTCOME,
    ActionResult,
    InvalidRequest,
)
from oodaloo.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_IN_PROGRESS, EXIT_UNKNOWN = 0, 1, 2, 3, 4


def exit_code(result: ActionResult) -> int:
    if result.outcome in (EXECUTED, ALREADY_SUCCEEDED):
        return EXIT_OK
    if result.outcome in (IN_PROGRESS, PENDING_OUTCOME):
        return EXIT_IN_PROGRESS
    if result.outcome == UNKNOWN_OUTCOME:
        return EXIT_UNKNOWN
    return EXIT_FAILED


def _service(settings: Settings) -> Any:
    from actions.service import ActionService

    return ActionService(settings)


def _wait_for_other(svc: Any, result: ActionResult, seconds: float) -> ActionResult:
    """Another process holds the intent: wait (bounded) to report its outcome instead."""
    from actions.messages import result_for

    deadline = time.monotonic() + seconds
    while result.outcome == IN_PROGRESS and time.monotonic() < deadline:
        time.sleep(0.1)
        intent = svc.ledger.get(result.intent_id)
        if intent is not None and intent.terminal:
            return result_for(intent, executed_here=False, duplicate=True)
    return result


def _run_act(args: argparse.Namespace, settings: Settings, submit: str, **kwargs: Any) -> int:
    from oodaloo.auth import cli_identity

    actor = cli_identity(args.actor).actor  # a named local operator: local:<os user> or --as
    from sync.client import InvalidQBOId, check_id

    try:
        for flag in ("bill", "invoice"):
            if getattr(args, flag, None) is not None:
                check_id(getattr(args, flag), f"--{flag}")
    except InvalidQBOId as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _service(settings) as svc:
            result = getattr(svc, submit)(args.company, actor=actor, **kwargs)
            result = _wait_for_other(svc, result, args.wait)
    except InvalidRequest as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(result.as_dict()) if args.json else result.message)
    return exit_code(result)


def _pay_bill(args: argparse.Namespace, settings: Settings) -> int:
    if args.amount is not None:  # NaN, inf and 1e400 would otherwise end in a traceback
        from decimal import Decimal, InvalidOperation

        try:
            finite = Decimal(str(args.amount).strip()).is_finite()
        except InvalidOperation:
            finite = False
        if not finite or abs(Decimal(str(args.amount).strip())) > Decimal("1e12"):
            print(f"error: --amount must be a finite amount, got {args.amount!r}", file=sys.stderr)
            return EXIT_USAGE
    return _run_act(
        args,
        settings,
        "submit_pay_bill",
        bill_id=args.bill,
        amount=args.amount,
        account_id=args.account,
        pay_date=args.date,
        override_reason=args.override_reason,
    )


def _delay_bill(args: argparse.Namespace, settings: Settings) -> int:
    return _run_act(
        args, settings, "submit_delay_bill", bill_id=args.bill, until=args.until, note=args.note
    )


def _remind(args: argparse.Namespace, settings: Settings) -> int:
    return _run_act(args, settings, "submit_reminder", invoice_id=args.invoice, send_to=args.to)


def _apply_credit(args: argparse.Namespace, settings: Settings) -> int:
    credit_type, credit_id = (
        ("Payment", args.payment) if args.payment else ("CreditMemo", args.memo)
    )
    return _run_act(
        args,
        settings,
        "submit_apply_credit",
        invoice_id=args.invoice,
        credit_type=credit_type,
        credit_id=credit_id,
        amount=args.amount,
    )


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from actions.ledger import Ledger
    from actions.service import intent_dict

    ledger = Ledger(settings.actions_path)
    rows = [intent_dict(i) for i in ledger.list(args.company)]
    ledger.close()
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return EXIT_OK
    if not rows:
        print("no actions")
    for row in rows:
        qbo = f" {row['qbo_entity']} {row['qbo_id']}" if row["qbo_id"] else ""
        reason = f" — {row['reason']}" if row["reason"] and row["state"] != "succeeded" else ""
        print(
            f"{row['intent_id']}  {row['realm_id']}  {row['state']:<9}  "
            f"{row['description']}{qbo}{reason}"
        )
    return EXIT_OK


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    with _service(settings) as svc:
        counts = svc.reconcile(drain_seconds=args.wait)
    print(", ".join(f"{state}: {n}" for state, n in sorted(counts.items())) or "no actions")
    open_left = counts.get("unknown", 0) + counts.get("in_flight", 0) + counts.get("pending", 0)
    return EXIT_IN_PROGRESS if open_left else EXIT_OK


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--company", required=True, metavar="REALM", help="the company's realm id")
    parser.add_argument(
        "--actor",
        "--as",
        dest="actor",
        metavar="NAME",
        help="the named operator who approves (default: local:<OS user>)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=10.0,
        metavar="S",
        help="if another process is running the same action, wait up to S seconds for it",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    act = subparsers.add_parser(
        "act", help="pay or delay a bill, send a reminder, apply a credit (exactly once)"
    )
    acts = act.add_subparsers(dest="act_command", required=True, metavar="ACTION")

    pay = acts.add_parser("pay-bill", help="record a BillPayment (check) against a bill")
    _common(pay)
    pay.add_argument("--bill", required=True, metavar="ID")
    pay.add_argument("--amount", help="amount to pay (default: the full open balance)")
    pay.add_argument(
        "--account", metavar="ID", help="bank account id (default: the company's main bank account)"
    )
    pay.add_argument("--date", metavar="YYYY-MM-DD", help="payment date (default: today)")
    pay.add_argument(
        "--override-reason",
        metavar="TEXT",
        help="pay a bill that looks like a duplicate anyway, saying why (kept in the audit)",
    )
    pay.set_defaults(handler=_pay_bill)

    delay = acts.add_parser(
        "delay-bill", help="plan to pay a bill later (optionally note it on the bill)"
    )
    _common(delay)
    delay.add_argument("--bill", required=True, metavar="ID")
    delay.add_argument("--until", required=True, metavar="YYYY-MM-DD", help="planned pay date")
    delay.add_argument("--note", help="also write this note onto the bill in QuickBooks")
    delay.set_defaults(handler=_delay_bill)

    remind = acts.add_parser("remind", help="e-mail an invoice again")
    _common(remind)
    remind.add_argument("--invoice", required=True, metavar="ID")
    remind.add_argument("--to", metavar="EMAIL", help="send to this address instead")
    remind.set_defaults(handler=_remind)

    credit = acts.add_parser(
        "apply-credit", help="apply an unapplied payment or credit memo to an open invoice"
    )
    _common(credit)
    credit.add_argument("--invoice", required=True, metavar="ID")
    source = credit.add_mutually_exclusive_group(required=True)
    source.add_argument("--payment", metavar="ID", help="the customer's unapplied payment")
    source.add_argument("--memo", metavar="ID", help="the customer's open credit memo")
    credit.add_argument("--amount", help="amount to apply (default: as much as both allow)")
    credit.set_defaults(handler=_apply_credit)

    actions = subparsers.add_parser("actions", help="list and reconcile actions")
    sub = actions.add_subparsers(dest="actions_command", required=True, metavar="COMMAND")
    lst = sub.add_parser("list", help="every action with its state")
    lst.add_argument("--company", metavar="REALM")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=_list)
    rec = sub.add_parser("reconcile", help="settle abandoned or unknown actions, run what is due")
    rec.add_argument(
        "--wait", type=float, default=0.0, metavar="S", help="wait up to S seconds for retries"
    )
    rec.set_defaults(handler=_reconcile)
