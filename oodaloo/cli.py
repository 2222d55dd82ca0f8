"""The ``oodaloo`` command: a thin dispatcher; each package registers its own subcommands.

Global options (``--data-dir``, ``-v``) are accepted before or after the subcommand. Only the
module of the chosen subcommand is imported (``oodaloo sync`` loads neither Polars nor pandas nor
Streamlit); ``oodaloo --help`` and an unknown command load them all to list every command."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from oodaloo.config import load_settings, private_umask

# Each module exposes register(subparsers) and sets a `handler(args, settings) -> int` default;
# this table names the commands each one registers (a test checks it against the modules).
COMMANDS: dict[str, str] = {
    "sandbox": "sandbox.cli",
    "demo": "oodaloo.demo",
    "sync": "sync.cli",
    "status": "sync.cli",
    "scheduler": "sync.cli",
    "webhooks": "sync.cli",
    "report": "runway.cli",
    "backtest": "runway.cli",
    "act": "actions.cli",
    "actions": "actions.cli",
    "digest": "digest.cli",
    "access": "oodaloo.auth_cli",
    "keys": "oodaloo.auth_cli",
    "console": "oodaloo.console_cli",
}
COMMAND_MODULES = tuple(dict.fromkeys(COMMANDS.values()))
GLOBAL_FLAGS = ("-v", "--verbose")
GLOBAL_VALUES = ("--data-dir",)


class MissingValueError(ValueError):
    """A global option that takes a value was given none."""


def split_global_options(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(global options, the rest) wherever the globals stand, so ``oodaloo demo --data-dir D``
    means what ``oodaloo --data-dir D demo`` does. Nothing after ``--`` is touched."""
    found: list[str] = []
    rest: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--":
            rest += items[i:]
            break
        if item in GLOBAL_FLAGS or any(item.startswith(f"{v}=") for v in GLOBAL_VALUES):
            found.append(item)
        elif item in GLOBAL_VALUES:
            value = items[i + 1] if i + 1 < len(items) else None
            if value is None or value.startswith("-"):
                raise MissingValueError(item)
            found += [item, value]
            i += 1
        else:
            rest.append(item)
        i += 1
    return found, rest


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (globals already removed), if it is one we know."""
    for item in argv:
        if not item.startswith("-"):
            return item if item in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the chosen command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="oodaloo", description="Cash-runway console for agencies on QuickBooks Online."
    )
    parser.add_argument(
        "--data-dir",
        help="data directory (default: $OODALOO_DATA_DIR or ./data); before or after COMMAND",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    command = _command_of(argv) if argv is not None else None
    modules = (COMMANDS[command],) if command is not None else COMMAND_MODULES
    for module_name in modules:
        importlib.import_module(module_name).register(subparsers)
    return parser


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line, global options taken from wherever they stand."""
    try:
        found, rest = split_global_options(argv)
    except MissingValueError as missing:
        build_parser(argv).error(f"argument {missing}: expected one argument")
    return build_parser(rest).parse_args([*found, *rest])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    private_umask()  # data files 0600, folders 0700
    settings = load_settings(data_dir=args.data_dir)
    try:
        return int(args.handler(args, settings) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
