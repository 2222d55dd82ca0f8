"""The ``oodaloo`` dispatcher: global options anywhere, one module imported per command."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from oodaloo.cli import COMMAND_MODULES, COMMANDS, parse, split_global_options


def registered_commands(module_name: str) -> set[str]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    importlib.import_module(module_name).register(subparsers)
    return set(subparsers.choices)


def test_the_command_table_names_exactly_what_each_module_registers() -> None:
    for module_name in COMMAND_MODULES:
        listed = {name for name, module in COMMANDS.items() if module == module_name}
        assert registered_commands(module_name) == listed, module_name


@pytest.mark.parametrize(
    "argv",
    [
        ["--data-dir", "D", "-v", "report", "firm"],
        ["report", "firm", "--data-dir", "D", "-v"],
        ["report", "--data-dir=D", "firm", "--verbose"],
        ["-v", "report", "firm", "--data-dir", "D"],
    ],
)
def test_global_options_stand_before_or_after_the_command(argv: list[str]) -> None:
    args = parse(argv)
    assert (args.command, args.kind, args.data_dir, args.verbose) == ("report", "firm", "D", True)


def test_demo_accepts_data_dir_after_the_command(tmp_path: Path) -> None:
    args = parse(["demo", "--data-dir", str(tmp_path), "--if-missing"])
    assert (args.command, args.data_dir, args.if_missing) == ("demo", str(tmp_path), True)


def test_nothing_after_a_double_dash_is_taken_for_a_global_option() -> None:
    found, rest = split_global_options(["sync", "--", "--data-dir", "x"])
    assert found == [] and rest == ["sync", "--", "--data-dir", "x"]


def test_a_missing_value_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(["sync", "--data-dir"])
    assert exit_info.value.code == 2
    assert "--data-dir: expected one argument" in capsys.readouterr().err


def test_the_sync_command_loads_no_dataframe_library_or_streamlit() -> None:
    """What ``oodaloo sync`` imports before it runs: the dispatcher, sync's command and the sync
    engine its handler calls — none of Polars, pandas, pyarrow (imported on the first page read:
    an incremental sync with nothing new reads none) or Streamlit."""
    code = (
        "import sys\n"
        "from oodaloo.cli import parse\n"
        "args = parse(['sync', '--all'])\n"
        "import sync.engine\n"
        "heavy = [m for m in ('polars', 'pandas', 'pyarrow', 'streamlit') if m in sys.modules]\n"
        "print(','.join(heavy) or 'none')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "none"
