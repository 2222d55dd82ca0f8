"""Process sharing and real HTTP: a reader process keeps reading while a sync writes from another
process; the whole flow over loopback HTTP against ``oodaloo sandbox serve``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from oodaloo.config import Settings, load_settings
from sandbox.testing import api_client, make_sandbox, serve_in_subprocess
from sync.engine import sync_company
from sync.oauth import connect_sandbox_companies
from sync.store import Warehouse
from tests.sync.conftest import (
    SMALL_PAGES,
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
    build_world,
)
from tests.sync.test_crash_safety import start_child


def test_reader_keeps_reading_while_another_process_syncs(settings: Settings) -> None:
    world = build_world(settings, demo=True, companies=1, scale=0.3, seed=3)
    try:
        realm = world.realms[0]
        reader = Warehouse(settings.warehouse_path, lock_timeout=60)
        with reader.read():
            pass  # the file exists before the writer starts
        proc = start_child(settings, realm, kind="full", loops=2)
        reads, seen, errors = 0, set(), []
        while proc.poll() is None:
            try:
                with reader.read() as con:
                    seen.add(con.execute("SELECT count(*) FROM log_purchase").fetchall()[0][0])
                reads += 1
            except Exception as exc:
                errors.append(repr(exc))
            time.sleep(0.005)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert errors == []
        assert (
            reads >= 10 and len(seen) >= 3
        )  # we read between the writer's slices, seeing its progress
        assert all(json.loads(line)["outcome"] == "ok" for line in out.strip().splitlines())
        assert_store_matches_truth(world)
    finally:
        world.close()


def test_sync_over_loopback_http(tmp_path: Path) -> None:
    sandbox_file = tmp_path / "served.sqlite"
    make_sandbox(sandbox_file, companies=2).close()
    with serve_in_subprocess(sandbox_file) as base:
        settings = load_settings(data_dir=tmp_path / "data", qbo_base_url=base)
        realms = connect_sandbox_companies(settings)
        assert len(realms) == 2
        from sandbox.state import SandboxDB

        world = World(settings, SandboxDB(sandbox_file), realms, served_file=sandbox_file)
        for realm in realms:
            assert sync_company(settings, realm, options=SMALL_PAGES).outcome == "ok"
        from tests.sync.mutations import Mutator

        for realm in realms:
            with api_client(base, realm) as api:
                assert len(Mutator(api, seed=9).run(10)) >= 4
        for realm in realms:
            result = sync_company(settings, realm, options=SMALL_PAGES)
            assert result.outcome == "ok" and result.steps == ("cdc",)
        assert_store_matches_truth(world)
        assert_no_duplicate_versions(world.warehouse)
        world.db.close()
