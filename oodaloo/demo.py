"""``oodaloo demo``: build the demo firm in the sandbox and connect every company through the
sandbox's OAuth flow, so the product holds sandbox-issued tokens exactly as it would Intuit's."""

from __future__ import annotations

import argparse
import sys
import time

from oodaloo.config import Settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="build the demo firm in the sandbox and connect it")
    parser.add_argument(
        "--companies", type=int, help="number of companies (default: settings.demo_companies)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="document volume multiplier (benchmarks)"
    )
    parser.add_argument("--seed", type=int, help="generator seed (default: settings.demo_seed)")
    parser.add_argument(
        "--if-missing", action="store_true", help="do nothing when the demo firm already exists"
    )
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    from sandbox.demo import build_demo_firm
    from sandbox.state import SandboxDB
    from sync.connections import list_companies
    from sync.oauth import connect_sandbox_companies

    if not settings.uses_embedded_sandbox:
        print(
            "oodaloo demo builds the embedded sandbox; unset OODALOO_QBO_BASE_URL first.",
            file=sys.stderr,
        )
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    existing = (
        SandboxDB(settings.sandbox_path).companies() if settings.sandbox_path.exists() else []
    )
    if existing and args.if_missing:
        connected = {c.realm_id for c in list_companies(settings)}
        missing = [c for c in existing if c["realm_id"] not in connected]
        if not missing:
            # already synced by the run that built it; the console refreshes what is stale
            print(f"Demo firm present, all connected: {_names(settings)}.")
            return 0
    if not existing:
        started = time.perf_counter()
        built = build_demo_firm(
            settings.sandbox_path,
            seed=args.seed if args.seed is not None else settings.demo_seed,
            today=settings.demo_today,
            companies=args.companies or settings.demo_companies,
            scale=args.scale,
        )
        print(f"Built {len(built)} demo companies in {time.perf_counter() - started:.1f} s.")
    connected_now = connect_sandbox_companies(settings)
    print(
        f"Connected {len(connected_now)} companies through the sandbox's OAuth flow: "
        f"{_names(settings, connected_now)}."
    )
    if connected_now:
        _first_sync_and_confirm_retainers(settings, connected_now)
    return 0


def _first_sync_and_confirm_retainers(settings: Settings, realm_ids: list[str]) -> None:
    """The demo owner has synced once and confirmed the monthly retainers the detector found, as
    a configured product would be (recurring inflows enter the forecast only once confirmed)."""
    from oodaloo.clock import today
    from runway.api import confirm_all_detected_inflows
    from sync.engine import sync_all

    started = time.perf_counter()
    results = sync_all(settings, realm_ids, kind="full")
    failed = [r.realm_id for r in results if r.outcome != "ok"]
    print(
        f"Synced {len(results) - len(failed)} companies in {time.perf_counter() - started:.1f} s."
    )
    if failed:
        print(f"Sync failed for {_names(settings, failed)}; see `oodaloo status`.", file=sys.stderr)
    confirmed = confirm_all_detected_inflows(settings, today(settings), realm_ids)
    print(
        f"Confirmed {sum(len(v) for v in confirmed.values())} recurring retainers across the firm."
    )


def _names(settings: Settings, realm_ids: list[str] | None = None) -> str:
    """Company names for people (realm ids only where a company has no name yet)."""
    from sync.connections import list_companies

    names = {c.realm_id: c.name or c.realm_id for c in list_companies(settings)}
    wanted = realm_ids if realm_ids is not None else list(names)
    return ", ".join(sorted(names.get(r, r) for r in wanted))
