"""``oodaloo digest (--company REALM | --firm) [--week 2026-W47] --out PATH [--email]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from digest import fmt
from oodaloo.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "digest", help="make the Friday digest PDF of a company or of the firm"
    )
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--company", metavar="REALM", help="realm id of the company")
    scope.add_argument("--firm", action="store_true", help="the firm roll-up and every company")
    parser.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the week of today)")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="where to write the PDF (a .json manifest goes next to it)",
    )
    parser.add_argument(
        "--email", action="store_true", help="also e-mail it to the configured recipients"
    )
    parser.set_defaults(handler=run_digest_command)


def run_digest_command(args: argparse.Namespace, settings: Settings) -> int:
    from digest.delivery import email_digest
    from digest.mail import MailNotConfigured
    from digest.make import FIRM, make_digest
    from digest.weeks import IsoWeek
    from oodaloo.clock import now as clock_now
    from oodaloo.clock import today

    try:
        week = IsoWeek.parse(args.week) if args.week else IsoWeek.of(today(settings))
    except ValueError as exc:
        print(f"oodaloo digest: {exc}", file=sys.stderr)
        return 2
    scope = FIRM if args.firm else args.company
    now = clock_now(settings)
    try:
        produced = make_digest(settings, scope, week, now=now, store=True)
    except (LookupError, ValueError) as exc:
        print(f"oodaloo digest: {exc}", file=sys.stderr)
        return 1
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(produced.pdf)
    out.with_suffix(".json").write_bytes(
        orjson.dumps(produced.manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    note = " (early preview: the week's Friday 07:00 has not come yet)" if produced.early else ""
    print(
        f"Wrote {out} ({produced.pages} pages, week {week}, data as known at "
        f"{fmt.moment(produced.data_as_of)}){note}."
    )
    if args.email:
        try:
            results = email_digest(settings, produced, now)
        except MailNotConfigured as exc:
            print(f"oodaloo digest: {exc}", file=sys.stderr)
            return 1
        if not results:
            print("No recipients configured for this digest; nothing sent.")
        for result in results:
            state = (
                "sent"
                if result.ok
                else f"FAILED after {result.attempts} attempt(s): {result.error}"
            )
            print(f"  {result.recipient}: {state}")
        if any(not r.ok for r in results):
            return 1
    return 0
