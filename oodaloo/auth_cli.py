"""``oodaloo access ...`` (who may do what) and ``oodaloo keys rotate`` (the token key).

Whoever runs these holds the data folder and the key already: the command line acts as the
local operator (``local:<os user>``) and is recorded as such.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from oodaloo import auth
from oodaloo.config import Settings

DEMO_SANDBOX_URL = "http://127.0.0.1:8765"


def _grant(args: argparse.Namespace, settings: Settings) -> int:
    try:
        auth.grant(
            settings,
            args.email,
            args.role,
            args.company or auth.ALL_COMPANIES,
            by=auth.cli_identity(args.actor).actor,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.email}: {args.role} in {args.company or 'every company'}")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    auth.revoke(settings, args.email, args.company or auth.ALL_COMPANIES)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    for row in auth.grants(settings):
        where = "every company" if row["realm_id"] == auth.ALL_COMPANIES else row["realm_id"]
        print(f"{row['email']}  {row['role']:<8}  {where}")
    return 0


def _threshold(args: argparse.Namespace, settings: Settings) -> int:
    if args.amount is None:
        print(auth.threshold(settings, args.company))
        return 0
    try:
        value = auth.set_threshold(
            settings, args.company, args.amount, by=auth.cli_identity(args.actor).actor
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.company}: a second approver above {value}")
    return 0


def demo_secrets_text(port: int, sandbox_url: str) -> str:
    """The demo's ``[auth]`` section: st.login against the sandbox's OIDC provider."""
    from sandbox.oidc import CONSOLE_CLIENT_ID, CONSOLE_CLIENT_SECRET, PREFIX

    return (
        "# Written by `make run` for the local demo (never committed; see .gitignore).\n"
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
        f'client_id = "{CONSOLE_CLIENT_ID}"\n'
        f'client_secret = "{CONSOLE_CLIENT_SECRET}"\n'
        f'server_metadata_url = "{sandbox_url.rstrip("/")}{PREFIX}'
        '/.well-known/openid-configuration"\n'
    )


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    """Grant the demo users their roles; write the demo secrets.toml unless one exists."""
    auth.seed_demo_roles(settings)
    if args.secrets:
        path = Path(args.secrets)
        if path.exists() and not args.force:
            print(f"{path} exists: kept (use --force to replace it)")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(demo_secrets_text(args.port, args.sandbox_url))
            os.replace(path.with_suffix(".tmp"), path)
            print(f"wrote {path} (sign-in against {args.sandbox_url}/oidc)")
    return 0


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    from sync.tokens import reencrypt_with_configured_keys, rotate_keys

    try:
        if settings.encryption_key is not None:
            count = reencrypt_with_configured_keys(settings)
            print(
                f"re-encrypted {count} token row(s) under the first key of "
                "OODALOO_ENCRYPTION_KEY; the other keys can now be removed from it"
            )
        else:
            count = rotate_keys(settings)
            print(f"new key in {settings.resolved_key_file}; re-encrypted {count} token row(s)")
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("restart running consoles and schedulers so they read the new key")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    access = subparsers.add_parser("access", help="who may prepare, approve and administer")
    commands = access.add_subparsers(dest="access_command", required=True, metavar="ACTION")

    grant = commands.add_parser("grant", help="give someone a role")
    grant.add_argument("email")
    grant.add_argument("role", choices=auth.ROLES)
    grant.add_argument("--company", metavar="REALM", help="one company (default: every company)")
    grant.add_argument("--as", dest="actor", metavar="NAME", help="operator name for the record")
    grant.set_defaults(handler=_grant)

    revoke = commands.add_parser("revoke", help="remove someone's role")
    revoke.add_argument("email")
    revoke.add_argument("--company", metavar="REALM")
    revoke.set_defaults(handler=_revoke)

    commands.add_parser("list", help="every role given").set_defaults(handler=_list)

    threshold = commands.add_parser(
        "threshold", help="show or set a company's second-approver threshold"
    )
    threshold.add_argument("company", metavar="REALM")
    threshold.add_argument("amount", nargs="?", help="payments above this need two approvers")
    threshold.add_argument("--as", dest="actor", metavar="NAME")
    threshold.set_defaults(handler=_threshold)

    demo = commands.add_parser("demo", help="demo users' roles (and the demo secrets.toml)")
    demo.add_argument("--secrets", help="write the demo [auth] secrets.toml here")
    demo.add_argument("--port", type=int, default=8501, help="the console's port")
    demo.add_argument("--sandbox-url", default=DEMO_SANDBOX_URL)
    demo.add_argument("--force", action="store_true", help="replace an existing secrets file")
    demo.set_defaults(handler=_demo)

    keys = subparsers.add_parser("keys", help="the token encryption key")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    key_commands.add_parser(
        "rotate", help="new key, every token re-encrypted (MultiFernet)"
    ).set_defaults(handler=_rotate)
