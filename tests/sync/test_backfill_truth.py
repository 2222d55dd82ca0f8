"""Backfill and incremental sync against the sandbox reproduce its truth, field by field."""

from __future__ import annotations

from sync.engine import sync_company
from tests.sync.conftest import (
    MID_PAGES,
    SMALL_PAGES,
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
)


def test_backfill_reproduces_truth(demo_world: World) -> None:
    client = demo_world.client()
    for realm in demo_world.realms:
        result = sync_company(demo_world.settings, realm, client=client, options=MID_PAGES)
        assert result.outcome == "ok", result.error
        assert result.steps == ("backfill", "cdc")
    assert assert_store_matches_truth(demo_world) > 500
    assert_no_duplicate_versions(demo_world.warehouse)


def test_incremental_after_random_changes_reproduces_truth(world: World) -> None:
    from sandbox.testing import api_client
    from sandbox.transport import embedded_transport
    from tests.sync.mutations import Mutator

    client = world.client()
    for realm in world.realms:
        assert (
            sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
        )
    transport = embedded_transport(world.settings.sandbox_path)
    for round_no in range(2):
        for realm in world.realms:
            world.db.advance_clock(90)
            with api_client(transport, realm) as api:
                done = Mutator(api, seed=round_no * 100 + int(realm[-2:])).run(10)
            assert len(done) >= 5, done
        for realm in world.realms:
            result = sync_company(world.settings, realm, client=client, options=SMALL_PAGES)
            assert result.outcome == "ok", result.error
            assert result.steps == ("cdc",)
        assert_store_matches_truth(world)
    assert_no_duplicate_versions(world.warehouse)
    with world.warehouse.read() as con:
        tombstones = con.execute("SELECT count(*) FROM log_invoice WHERE op = 'delete'").fetchone()[
            0
        ]
        tombstones += sum(
            con.execute(f"SELECT count(*) FROM log_{t} WHERE op = 'delete'").fetchone()[0]
            for t in ("bill", "purchase", "deposit", "journal_entry")
        )
    assert tombstones > 0
