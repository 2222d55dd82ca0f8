"""``oodaloo console``: the Streamlit console started with its address decided here, in code.

Streamlit reads ``.streamlit/config.toml`` only from the folder it is started in, so a console
started elsewhere used to listen on every interface. This launcher passes the bind address from
``Settings.bind_address`` (loopback unless an operator names another address, which then makes
everyone sign in) together with the hardening options, whatever the working folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from oodaloo.config import Settings

APP = Path(__file__).resolve().parent.parent / "app.py"


def streamlit_arguments(settings: Settings, port: int) -> list[str]:
    """The ``streamlit run`` command line: the address and the protections, never left to a
    config file that may not be read."""
    return [
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        settings.bind_address.strip() or "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.enableXsrfProtection",
        "true",
        "--server.enableCORS",
        "true",
        "--client.showErrorDetails",
        "none",
        "--browser.gatherUsageStats",
        "false",
        # a served console is not a development session: no watching of the source files
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        # speed, wherever the console is started from (.streamlit/config.toml says why)
        "--runner.magicEnabled",
        "false",
        "--runner.postScriptGC",
        "false",
    ]


def _console(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the console in this process, after warming it (``pages._warm``): the libraries,
    the snapshot, the default company's views and charts and the firm grid are ready before
    the port opens, so the first visitor of a fresh server does not wait for them."""
    import os
    import sys

    from streamlit.web import cli as streamlit_cli

    # the pages read their settings from the environment: the data folder chosen on this
    # command line (``oodaloo --data-dir D console``) must be the one they serve
    os.environ["OODALOO_DATA_DIR"] = str(settings.data_dir)
    if not args.no_warm:
        _warm()
    sys.argv = streamlit_arguments(settings, args.port)
    return int(streamlit_cli.main() or 0)


def _warm() -> None:
    """Run ``pages._warm`` in this (the server's) process; a failure only costs the speed."""
    import sys

    from oodaloo.config import load_settings

    root = str(APP.parent)  # the pages live beside app.py, which puts this folder on the path
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        from pages._warm import warm

        took = warm(load_settings())  # the settings exactly as a page will read them
    except Exception as exc:  # the console starts anyway; its pages compute what they need
        print(f"console warm-up skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
        return
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items())
    print(f"console warmed: {steps}", file=sys.stderr)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = subparsers.add_parser(
        "console", help="serve the console (on the configured address: loopback by default)"
    )
    console.add_argument("--port", type=int, default=8501)
    console.add_argument(
        "--no-warm",
        action="store_true",
        help="start listening at once, without computing the default views first",
    )
    console.set_defaults(handler=_console)
