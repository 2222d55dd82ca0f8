"""``oodaloo sync``, ``oodaloo status`` and ``oodaloo scheduler``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from oodaloo.config import Settings
from sync import connections


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sync", help="pull QuickBooks data into the local store")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--company", metavar="REALM", help="one company (realm id)")
    who.add_argument("--all", action="store_true", help="every connected company (the default)")
    p.add_argument(
        "--full",
        action="store_true",
        help="full re-pull (with Id reconciliation) instead of incremental",
    )
    p.add_argument(
        "--reconcile", action="store_true", help="incremental plus the full Id reconciliation"
    )
    p.set_defaults(handler=cmd_sync)

    s = subparsers.add_parser(
        "status", help="connection, freshness and document counts per company"
    )
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(handler=cmd_status)

    r = subparsers.add_parser(
        "scheduler", help="run the sync / reconcile / digest schedule (blocking)"
    )
    r.set_defaults(handler=cmd_scheduler)

    w = subparsers.add_parser("webhooks", help="QuickBooks change notifications (webhooks)")
    ws = w.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    serve = ws.add_parser(
        "serve", help="receive QuickBooks webhooks and refresh the notified companies at once"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8766, help="port to listen on")
    serve.add_argument("--path", default="/webhooks/qbo", help="the endpoint's path")
    serve.add_argument(
        "--verifier-token-file",
        type=Path,
        help="file with the app's webhook verifier token "
        "(default: $OODALOO_WEBHOOK_VERIFIER_TOKEN)",
    )
    serve.add_argument(
        "--register",
        choices=("cloudevents", "legacy"),
        help="ask the sandbox to notify this endpoint of every change, in this format",
    )
    serve.set_defaults(handler=cmd_webhooks_serve)


class Progress:
    """A bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.done, self.out = total, 0, out
        self.tty = out.isatty()

    def __call__(self, result: Any) -> None:
        self.done += 1
        line = (
            f"{result.realm_id}: {result.outcome} ({result.requests} requests, {result.rows} rows)"
        )
        if result.error:
            line += f" — {result.error}"
        if self.tty:
            width = 30
            filled = int(width * self.done / max(1, self.total))
            self.out.write(
                f"\r\033[K{line}\n[{'#' * filled}{'.' * (width - filled)}] "
                f"{self.done}/{self.total} companies"
            )
            if self.done == self.total:
                self.out.write("\n")
        else:
            self.out.write(f"[{self.done}/{self.total}] {line}\n")
        self.out.flush()


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from sync.engine import sync_all

    kind = (
        "full" if args.full else "reconcile" if getattr(args, "reconcile", False) else "incremental"
    )
    realms = [args.company] if args.company else connections.connected_realm_ids(settings)
    if args.company and connections.get_company(settings, args.company) is None:
        print(
            f"unknown company {args.company!r}: not connected (see `oodaloo status`)",
            file=sys.stderr,
        )
        return 2
    if not realms:
        print("no connected companies (run `oodaloo demo` or connect one first)", file=sys.stderr)
        return 1
    results = sync_all(settings, realms, kind=kind, on_done=Progress(len(realms), sys.stdout))
    return 0 if all(r.outcome in ("ok", "skipped") for r in results) else 1


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from sync.status import status_report

    report = status_report(settings)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    if not report:
        print("no companies connected")
        return 0
    for row in report:
        docs = ", ".join(f"{k} {v}" for k, v in row["documents"].items() if v)
        print(
            f"{row['name'] or row['realm_id']} ({row['realm_id']}): "
            f"{row['connection']}, {row['badge']}"
        )
        print(f"    requests today: {row['requests_today']}; documents: {docs or 'none'}")
        if row["last_error"]:
            print(f"    last error: {row['last_error']}")
    return 0


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from oodaloo.jobs import build_scheduler  # sync's jobs and the digest's

    scheduler = build_scheduler(settings, background=False)
    print("scheduler running (Ctrl-C to stop)")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):  # Ctrl-C is the way to stop it
        scheduler.start()
    return 0


def cmd_webhooks_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from sync.webhooks import register_with_sandbox, verifier_token, webhook_app

    try:
        token = verifier_token(settings, args.verifier_token_file)
        app = webhook_app(settings, token, path=args.path)
    except (OSError, ValueError) as exc:
        print(f"cannot serve webhooks: {exc}", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{args.port}{app.path}"
    if args.register:
        register_with_sandbox(settings, url, token, args.register)
        print(f"the sandbox notifies {url} of every change ({args.register})")
    print(f"receiving QuickBooks webhooks at {url} (Ctrl-C to stop)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
