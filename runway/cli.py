"""``oodaloo report KIND --company REALM [--as-of DATE] [--json]`` and ``oodaloo report firm``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import orjson

from oodaloo.config import Settings

if TYPE_CHECKING:
    from runway.snapshot import Basis


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def register(subparsers: Any) -> None:
    from runway.api import REPORT_KINDS

    parser = subparsers.add_parser(
        "report", help="runway reports (aging, forecast, runway, payroll, tray, firm...)"
    )
    parser.add_argument("kind", choices=[*REPORT_KINDS, "firm"], help="which report")
    parser.add_argument("--company", help="realm id of the company (all reports but 'firm')")
    parser.add_argument(
        "--as-of", type=_date, help="report date (default: today in the company's zone)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print JSON (stable, see docs/reports.md)"
    )
    parser.add_argument(
        "--basis",
        choices=["source", "ingest"],
        default="source",
        help="a past --as-of: 'source' = what QuickBooks says now about that day (rebuilt from "
        "the documents' dates; default), 'ingest' = what we had synced by then (change log)",
    )
    parser.set_defaults(handler=handle)

    bt = subparsers.add_parser(
        "backtest",
        help="the forecast's backtest: forecasts as of past Fridays against the real bank balance",
    )
    bt.add_argument("--company", help="realm id of one company (default: every company)")
    bt.add_argument(
        "--weeks", type=_weeks, default=26, help="Fridays to forecast from (default 26, max 52)"
    )
    bt.add_argument("--json", action="store_true", help="print JSON")
    bt.set_defaults(handler=handle_backtest)


def _weeks(value: str) -> int:
    try:
        weeks = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of weeks: {value!r}") from None
    if not 1 <= weeks <= 52:
        raise argparse.ArgumentTypeError(f"--weeks must be between 1 and 52, not {weeks}")
    return weeks


def handle_backtest(args: argparse.Namespace, settings: Settings) -> int:
    """``oodaloo backtest``: per company and overall, errors at weeks 1/4/8/12 beside the naive
    baseline, P90 calibration and reserve breaches (see runway.backtest)."""
    from oodaloo.clock import today
    from runway.backtest import backtest_json, backtest_report, backtest_text

    realms = [args.company] if args.company else None
    try:
        result, names = backtest_report(settings, today(settings), args.weeks, realms)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    payload = backtest_json(result, names)
    if args.json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(backtest_text(payload))
    return 0


def _text(payload: Any, indent: str = "") -> str:
    """A plain, readable rendering of the JSON payload."""
    lines: list[str] = []
    if isinstance(payload, list):
        for item in payload:
            lines.append(
                indent + "- " + ", ".join(f"{k}={v}" for k, v in item.items())
                if isinstance(item, dict)
                else f"{indent}- {item}"
            )
    elif isinstance(payload, dict):
        for key, value in payload.items():
            if isinstance(value, (list, dict)) and value:
                lines.append(f"{indent}{key}:")
                lines.append(_text(value, indent + "  "))
            else:
                lines.append(f"{indent}{key}: {value}")
    return "\n".join(lines)


def handle(args: argparse.Namespace, settings: Settings) -> int:
    from oodaloo.clock import today
    from runway.api import firm_report, report, snapshot_for
    from sync.freshness import ensure_fresh

    if args.kind != "firm" and not args.company:
        print("error: --company REALM is required for this report", file=sys.stderr)
        return 2
    realms = None if args.kind == "firm" else [args.company]
    now = today(settings)
    as_of = args.as_of or now
    # the one freshness service: refresh stale companies (bounded wait), then read
    fresh = ensure_fresh(settings, realms)
    basis: Basis = "ingest" if getattr(args, "basis", "source") == "ingest" else "source"
    snapshot = snapshot_for(settings, as_of, realms, today=now, basis=basis).with_freshness(fresh)
    try:
        if args.kind == "firm":
            payload: Any = firm_report(settings, as_of, snapshot)
        else:
            payload = report(args.kind, settings, args.company, as_of, snapshot)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    if args.json:
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(_text(payload))
    return 0
