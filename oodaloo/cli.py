"""The ``oodaloo`` command: a thin dispatcher; each package registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from oodaloo.config import load_settings, private_umask

# Each module exposes register(subparsers) and sets a `handler(args, settings) -> int` default.
COMMAND_MODULES = (
    "sandbox.cli",
    "oodaloo.demo",
    "sync.cli",
    "runway.cli",
    "actions.cli",
    "digest.cli",
    "oodaloo.auth_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oodaloo", description="Cash-runway console for agencies on QuickBooks Online."
    )
    parser.add_argument("--data-dir", help="data directory (default: $OODALOO_DATA_DIR or ./data)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
