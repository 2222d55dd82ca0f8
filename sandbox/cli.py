"""``oodaloo sandbox serve | companies | clock``: run the simulated QBO over HTTP and inspect it."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from oodaloo.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("sandbox", help="the simulated QuickBooks Online server")
    commands = parser.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")

    serve = commands.add_parser("serve", help="serve the sandbox over HTTP (uvicorn)")
    serve.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="bind address (default loopback 127.0.0.1)"
    )
    serve.add_argument("--db", type=Path, help="sandbox file (default: <data-dir>/sandbox.sqlite)")
    serve.add_argument("--client-id", help="register an extra OAuth app with this client id")
    serve.add_argument("--client-secret", help="the extra app's client secret")
    serve.add_argument("--no-limits", action="store_true", help="turn off QBO's throttling limits")
    serve.add_argument(
        "--fault-seed", type=int, default=0, help="seed of the random fault generator"
    )
    serve.set_defaults(handler=run_serve)

    companies = commands.add_parser("companies", help="list the sandbox's companies")
    companies.add_argument(
        "--db", type=Path, help="sandbox file (default: <data-dir>/sandbox.sqlite)"
    )
    companies.add_argument("--json", action="store_true", help="print JSON [{realm_id, name}]")
    companies.set_defaults(handler=run_companies)

    clock = commands.add_parser("clock", help="show, set or advance the sandbox clock")
    clock.add_argument("--db", type=Path, help="sandbox file (default: <data-dir>/sandbox.sqlite)")
    group = clock.add_mutually_exclusive_group()
    group.add_argument("--set", dest="set_to", help="ISO timestamp (naive = UTC) or date")
    group.add_argument("--advance", type=float, help="seconds to move the clock forward")
    clock.set_defaults(handler=run_clock)


def _db_path(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.db) if args.db else settings.sandbox_path


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from sandbox.app import create_app
    from sandbox.config import RateLimits, SandboxConfig

    if bool(args.client_id) != bool(args.client_secret):
        print("--client-id and --client-secret go together")
        return 2
    apps = ((args.client_id, args.client_secret),) if args.client_id else ()
    config = SandboxConfig(
        limits=RateLimits.unlimited() if args.no_limits else RateLimits(),
        apps=apps,
        fault_seed=args.fault_seed,
    )
    app = create_app(_db_path(args, settings), config)
    print(
        f"Sandbox QBO on http://{args.host}:{args.port} (db {_db_path(args, settings)})", flush=True
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def run_companies(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.state import SandboxDB

    path = _db_path(args, settings)
    companies = SandboxDB(path).companies() if path.exists() else []
    if args.json:
        print(json.dumps(companies))
    else:
        for company in companies:
            print(f"{company['realm_id']}  {company['name']}")
    return 0


def run_clock(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.state import SandboxDB

    db = SandboxDB(_db_path(args, settings))
    if args.set_to:
        try:
            moment = datetime.fromisoformat(args.set_to.replace("Z", "+00:00"))
        except ValueError:
            print(f"--set needs an ISO date or timestamp, got {args.set_to!r}")
            return 2
        db.set_clock(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    elif args.advance is not None:
        db.advance_clock(args.advance)
    print(db.now().isoformat())
    return 0
