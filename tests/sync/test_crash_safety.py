"""kill -9 at random instants while a sync runs in a child process; then it completes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from oodaloo.config import Settings
from sync.backfill import BACKFILL_KEY
from sync.schema import parse_ts
from sync.store import get_checkpoint
from tests.sync.conftest import (
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
    build_world,
    truth,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = 25


def start_child(
    settings: Settings, realm: str, kind: str = "incremental", loops: int = 1
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OODALOO_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sync.child_sync",
            str(settings.data_dir),
            realm,
            str(PAGE),
            kind,
            str(loops),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def assert_checkpoint_consistent(world: World, realm: str) -> None:
    """Rows and cursor commit together: every document the cursor claims to be past is stored."""
    with world.warehouse.read() as con:
        state = get_checkpoint(con, realm, BACKFILL_KEY)
        stored = {
            entity: {
                r[0]
                for r in con.execute(
                    f"SELECT id FROM log_{table} WHERE realm_id = ?", [realm]
                ).fetchall()
            }
            for entity, table in (
                ("Invoice", "invoice"),
                ("Bill", "bill"),
                ("Purchase", "purchase"),
                ("BillPayment", "bill_payment"),
            )
        }
    if state is None:
        return
    expected = truth(world.truth_path, realm)
    hi = datetime.fromisoformat(state["hi"])
    for entity, ids in stored.items():
        cursor = state["entities"][entity]
        lo = datetime.fromisoformat(cursor["lo"]) if cursor["lo"] else None
        for doc_id, doc in expected[entity].items():
            ts = parse_ts(doc["MetaData"]["LastUpdatedTime"])
            assert ts is not None
            passed = ts <= hi and (cursor["done"] or (lo is not None and ts < lo))
            if passed:
                assert doc_id in ids, f"{entity} {doc_id} is behind the cursor but not stored"


def test_sigkill_at_random_instants_then_complete(settings: Settings) -> None:
    world = build_world(settings, demo=True, companies=1, scale=0.2, seed=11)
    realm = world.realms[0]
    rng = random.Random(20261120)
    killed_runs: set[int] = set()
    kills, attempts = 0, 0
    try:
        while kills < 20:  # 20 kills that landed inside a run (a 'running' row was left behind)
            attempts += 1
            assert attempts < 200, f"only {kills} of {attempts} kills landed inside a run"
            proc = start_child(settings, realm, loops=3)
            time.sleep(rng.uniform(0.0, 0.8))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(30)
                killed_runs |= _running_runs(world, realm)
                kills = len(killed_runs)
            proc.wait(30)
            if proc.stdout:
                proc.stdout.close()
            if proc.stderr:
                proc.stderr.close()
            assert_no_duplicate_versions(world.warehouse)
            assert_checkpoint_consistent(world, realm)
            if kills % 5 == 0:  # QBO keeps changing between crashes
                world.db.advance_clock(60)
                _touch_some(world, realm, rng)
        proc = start_child(settings, realm)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["outcome"] == "ok", result
        assert_store_matches_truth(world)
        assert_no_duplicate_versions(world.warehouse)
        with world.warehouse.read() as con:
            assert get_checkpoint(con, realm, BACKFILL_KEY) is None
            outcomes = dict(
                con.execute(
                    "SELECT outcome, count(*) FROM sync_runs WHERE realm_id = ? GROUP BY 1", [realm]
                ).fetchall()
            )
        assert outcomes.get("abandoned", 0) >= 20 and "running" not in outcomes, outcomes
    finally:
        world.close()


def _running_runs(world: World, realm: str) -> set[int]:
    """Runs a kill cut short (still 'running' until the next run marks them abandoned)."""
    with world.warehouse.read() as con:
        rows = con.execute(
            "SELECT run_id FROM sync_runs WHERE realm_id = ? AND outcome = 'running'", [realm]
        ).fetchall()
    return {int(r[0]) for r in rows}


def _touch_some(world: World, realm: str, rng: random.Random) -> None:
    from sandbox.testing import api_client
    from sandbox.transport import embedded_transport
    from tests.sync.mutations import Mutator

    with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
        Mutator(api, seed=rng.randrange(10**6)).run(4)
