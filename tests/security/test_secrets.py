"""Secrets kept apart: the data folder alone decrypts nothing, the key is refused inside it,
rotation re-encrypts, two processes creating the key agree, files are private, nothing is
pickled."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken

from oodaloo.config import KeyLocationError, load_settings
from sync.tokens import TokenStore, rotate_keys
from tests.security.conftest import World

ROOT = Path(__file__).resolve().parents[2]


def _plain_tokens(world: World) -> list[bytes]:
    """Every access and refresh token in clear, read with the configured key."""
    import sqlite3

    fernet = Fernet(world.settings.fernet_key())
    con = sqlite3.connect(world.settings.state_path)
    rows = con.execute("SELECT access_token, refresh_token FROM qbo_tokens").fetchall()
    con.close()
    return [fernet.decrypt(v) for row in rows for v in row]


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_the_data_folder_alone_decrypts_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = world.settings.fernet_key()
    secrets_in_clear = _plain_tokens(world)
    assert len(secrets_in_clear) == 2 * len(world.realms)
    content = _all_bytes(world.settings.data_dir)
    assert key not in content  # the key is not beside the ciphertext
    assert not any(token in content for token in secrets_in_clear)

    copy = tmp_path / "stolen"
    shutil.copytree(world.settings.data_dir, copy)
    monkeypatch.setenv("OODALOO_KEY_FILE", str(tmp_path / "thief" / "key"))  # another machine
    stolen = load_settings(data_dir=copy)
    with pytest.raises(InvalidToken):
        TokenStore(stolen).access_token(world.realms[0])


def test_a_key_inside_the_data_folder_is_refused_except_in_demo_mode(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = world.settings.data_dir / "keys" / "k"
    monkeypatch.setenv("OODALOO_KEY_FILE", str(inside))
    with pytest.raises(KeyLocationError, match="inside the data folder"):
        load_settings().fernet_keys()
    assert not inside.exists()
    monkeypatch.setenv("OODALOO_DEMO_MODE", "true")
    demo = load_settings()
    assert demo.fernet_keys() and demo.key_inside_data_dir


def test_an_old_key_in_the_data_folder_is_moved_out(
    isolated_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    old_key = Fernet.generate_key()
    (isolated_env / ".secret.key").write_bytes(old_key)
    cipher = Fernet(old_key).encrypt(b"refresh-token")
    monkeypatch.setenv("OODALOO_KEY_FILE", str(tmp_path / "cfg" / "key"))
    settings = load_settings()
    assert settings.fernet_keys() == [old_key]  # tokens it encrypted stay readable
    assert Fernet(settings.fernet_key()).decrypt(cipher) == b"refresh-token"
    assert not (isolated_env / ".secret.key").exists()
    assert old_key not in _all_bytes(isolated_env)
    assert "moved the token encryption key out of the data folder" in caplog.text


def test_rotation_reencrypts_every_token(world: World) -> None:
    before = _plain_tokens(world)
    old_key = world.settings.fernet_key()
    assert rotate_keys(world.settings) == len(world.realms)
    settings = load_settings(data_dir=world.settings.data_dir)
    assert settings.fernet_keys() != [old_key] and len(settings.fernet_keys()) == 1
    assert sorted(_plain_tokens(world)) == sorted(before)  # same tokens, new key
    import sqlite3

    con = sqlite3.connect(settings.state_path)
    [cipher] = con.execute(
        "SELECT refresh_token FROM qbo_tokens WHERE realm_id=?", (world.realms[0],)
    ).fetchone()
    con.close()
    with pytest.raises(InvalidToken):
        Fernet(old_key).decrypt(cipher)
    token = TokenStore(settings).access_token(world.realms[0])
    assert token is not None and token.value.encode() in before


def test_two_processes_creating_the_key_at_once_agree(tmp_path: Path) -> None:
    key_file = tmp_path / "cfg" / "secret.key"
    code = (
        "import sys, time; from oodaloo.config import load_settings\n"
        "while time.time() < float(sys.argv[1]): pass\n"
        "print(load_settings().fernet_key().decode())"
    )
    start = __import__("time").time() + 1.5
    env = {**os.environ, "OODALOO_KEY_FILE": str(key_file)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, repr(start)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    keys = {out.strip() for out, _ in outs}
    assert keys == {key_file.read_text().strip()}
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no temp left


def test_data_files_and_folders_are_private(tmp_path: Path) -> None:
    data = tmp_path / "cli-data"
    env = {
        **os.environ,
        "OODALOO_DATA_DIR": str(data),
        "OODALOO_KEY_FILE": str(tmp_path / "cfg" / "key"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "oodaloo.cli", "access", "grant", "a@b.example", "viewer"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    entries = [data, *data.rglob("*")]
    assert any(p.name == "state.sqlite" for p in entries)
    for path in entries:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


def test_the_cache_never_unpickles(world: World) -> None:
    """Rows in the diskcache folder are JSON (or raw bytes), never pickle: a pickled row would
    run code when read. Every cache the product opens uses JSONDisk."""
    import pickle
    import sqlite3

    import diskcache

    from actions.clickguard import ClickGuard

    guard = ClickGuard(world.settings.cache_dir, 10.0)
    assert guard.first("k1")
    guard.close()
    for db_file in world.settings.cache_dir.rglob("cache.db"):
        con = sqlite3.connect(db_file)
        rows = con.execute("SELECT key, raw, mode, value FROM Cache").fetchall()
        con.close()
        assert rows
        for key, _raw, mode, value in rows:
            assert mode != diskcache.core.MODE_PICKLE
            for blob in (key, value):
                if isinstance(blob, bytes):
                    with pytest.raises(Exception):  # noqa: B017 - any failure: not a pickle
                        pickle.loads(blob)


def test_no_pickle_in_the_product() -> None:
    offenders = []
    for package in ("oodaloo", "sync", "runway", "actions", "digest", "sandbox", "pages"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            if "import pickle" in text or "pickle.load" in text or "dill" in text.split():
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
