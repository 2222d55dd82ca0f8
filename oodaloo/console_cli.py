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
    ]


def _console(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from streamlit.web import cli as streamlit_cli

    sys.argv = streamlit_arguments(settings, args.port)
    return int(streamlit_cli.main() or 0)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = subparsers.add_parser(
        "console", help="serve the console (on the configured address: loopback by default)"
    )
    console.add_argument("--port", type=int, default=8501)
    console.set_defaults(handler=_console)
