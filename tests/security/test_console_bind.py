"""The console listens where Settings say (loopback by default), whatever folder it starts in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from oodaloo.config import load_settings
from oodaloo.console_cli import streamlit_arguments


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses in LISTEN state on ``port``, read from the kernel's own table."""
    found: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if int(hex_port, 16) == port and state == "0A":
            octets = [str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)]
            found.add(".".join(octets))
    return found


def test_the_launcher_binds_the_configured_address(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    args = streamlit_arguments(settings, 8600)
    assert args[args.index("--server.address") + 1] == "127.0.0.1"
    assert args[args.index("--client.showErrorDetails") + 1] == "none"
    opened = load_settings(data_dir=tmp_path, bind_address="10.0.0.5")
    opened_args = streamlit_arguments(opened, 8600)
    assert opened_args[opened_args.index("--server.address") + 1] == "10.0.0.5"


def test_a_console_started_outside_the_repository_listens_on_loopback_only(
    tmp_path: Path, isolated_env: Path
) -> None:
    port = free_port()
    elsewhere = tmp_path / "elsewhere"  # no .streamlit/config.toml here
    elsewhere.mkdir()
    env = {**os.environ, "OODALOO_DATA_DIR": str(isolated_env)}
    process = subprocess.Popen(
        [sys.executable, "-m", "oodaloo.cli", "console", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        addresses: set[str] = set()
        for _ in range(240):  # bounded: at most ~60 s for Streamlit to start
            addresses = listening_addresses(port)
            if addresses or process.poll() is not None:
                break
            time.sleep(0.25)
        assert addresses == {"127.0.0.1"}
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
