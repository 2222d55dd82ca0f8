"""The less common incremental paths: saturated CDC answers, a checkpoint older than the CDC
window (windowed re-pull + full Id reconciliation), the weekly reconciliation; and the pure
cursor arithmetic of the windowed backfill."""

from __future__ import annotations

from dataclasses import replace

from sandbox.testing import api_client
from sandbox.transport import embedded_transport
from sync.backfill import advance
from sync.engine import sync_company
from sync.errors import QBOError
from sync.rawpages import Page
from tests.sync.conftest import (
    SMALL_PAGES,
    World,
    assert_no_duplicate_versions,
    assert_store_matches_truth,
)
from tests.sync.mutations import Mutator


def rows(*stamps: str) -> Page:
    return Page.of(
        [{"Id": str(i), "MetaData": {"LastUpdatedTime": s}} for i, s in enumerate(stamps)]
    )


T1, T2, T3 = "2026-11-20T09:00:00-08:00", "2026-11-20T09:00:01-08:00", "2026-11-20T09:00:02-08:00"


def test_cursor_moves_to_the_max_timestamp_and_uses_offsets_only_inside_one() -> None:
    start = {"lo": None, "offset": 0, "done": False}
    assert advance(start, rows(T1, T2), 3, 1)["done"] is True  # short page: finished
    mixed = advance(start, rows(T1, T2, T3), 3, 1)
    assert mixed["offset"] == 0 and mixed["lo"].startswith(
        "2026-11-20T17:00:02"
    )  # next page from the max seen
    same = advance(start, rows(T2, T2, T2), 3, 1)
    assert same["offset"] == 2  # one timestamp fills the page: offset inside it (stepping back 1)
    deeper = advance(same, rows(T2, T2, T2), 3, 1)
    assert deeper["offset"] == 4 and deeper["lo"] == same["lo"]
    moved = advance({**same, "offset": 4}, rows(T3, T3, T3), 3, 1)
    assert moved["offset"] == 0  # rows left mid-scan: look at the new timestamp from its start


def test_saturated_cdc_narrows_then_pulls_by_window(world: World) -> None:
    realm = world.realms[0]
    client = world.client()
    assert sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    world.db.advance_clock(120)
    with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
        mutator = Mutator(api, seed=3)
        for _ in range(6):
            mutator.create_invoice()
        mutator.delete_one()
        mutator.run(6)
    tiny = replace(
        SMALL_PAGES, cdc_max_objects=3, page_size=2, reconcile_page_size=2
    )  # offset paging everywhere
    result = sync_company(world.settings, realm, client=client, options=tiny)
    assert result.outcome == "ok", result.error
    assert "reconcile-saturated" in result.steps
    assert_store_matches_truth(world, [realm])
    assert_no_duplicate_versions(world.warehouse)


def test_checkpoint_older_than_cdc_window_repulls_and_reconciles_ids(world: World) -> None:
    realm = world.realms[0]
    client = world.client()
    assert sync_company(world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    world.db.advance_clock(3600)
    with api_client(embedded_transport(world.settings.sandbox_path), realm) as api:
        for entity, doc_id in (("Purchase", "80"), ("Invoice", "41")):
            doc = api.get(f"/{entity.lower()}/{doc_id}").json()[entity]
            assert (
                api.post(
                    f"/{entity.lower()}",
                    params={"operation": "delete"},
                    json={"Id": doc_id, "SyncToken": doc["SyncToken"]},
                ).status_code
                == 200
            )
        Mutator(api, seed=8).run(5)
    world.db.advance_clock(31 * 86400)  # the deletions are now beyond CDC's 30 days
    result = sync_company(world.settings, realm, client=client, options=SMALL_PAGES)
    assert result.outcome == "ok", result.error
    assert result.steps == ("window-repull", "cdc", "reconcile")
    assert_store_matches_truth(world, [realm])
    with world.warehouse.read() as con:
        gone = con.execute(
            "SELECT id FROM log_purchase WHERE op = 'delete' UNION ALL "
            "SELECT id FROM log_invoice WHERE op = 'delete' ORDER BY 1"
        ).fetchall()
    assert [r[0] for r in gone] == ["41", "80"]
    # a week later the reconciliation runs again on its own; within the week it does not
    world.db.advance_clock(3600)
    assert (
        "reconcile"
        not in sync_company(world.settings, realm, client=client, options=SMALL_PAGES).steps
    )
    world.db.advance_clock(8 * 86400)
    assert (
        sync_company(world.settings, realm, client=client, options=SMALL_PAGES).steps[-1]
        == "reconcile"
    )


def test_reconciliation_lists_1000_rows_a_page_and_every_request_counts(demo_world: World) -> None:
    from sync import quota

    realm = demo_world.realms[0]
    client = demo_world.client()
    assert (
        sync_company(demo_world.settings, realm, client=client, options=SMALL_PAGES).outcome == "ok"
    )
    sent_before = client.requests_for(realm)
    first = sync_company(
        demo_world.settings, realm, "reconcile", client=client, options=SMALL_PAGES
    )
    # whatever it cost (the first listing in a process learns whether "SELECT Id" is refused),
    # the run says so
    assert first.outcome == "ok" and first.requests == client.requests_for(realm) - sent_before >= 3
    statements: list[str] = []
    real_batch = client.batch_pages

    def spy(realm_id: str, queries: list[str], **kw: object) -> list[Page | QBOError]:
        statements.extend(queries)
        return real_batch(realm_id, queries, **kw)  # type: ignore[arg-type]

    client.batch_pages = spy  # type: ignore[method-assign]
    used_before, sent_before = (
        quota.requests_on(demo_world.settings, realm),
        client.requests_for(realm),
    )
    result = sync_company(
        demo_world.settings, realm, "reconcile", client=client, options=SMALL_PAGES
    )
    assert result.outcome == "ok" and result.steps[-1] == "reconcile"
    listings = [s for s in statements if "ORDERBY Id" in s]
    assert listings and all(
        s.endswith("MAXRESULTS 1000") for s in listings
    )  # not the 20-row backfill pages
    # CDC + CompanyInfo + one batch for every listing page (the demo company has < 1000 of each)
    assert result.requests == 3 == client.requests_for(realm) - sent_before
    assert quota.requests_on(demo_world.settings, realm) - used_before == 3
    with demo_world.warehouse.read() as con:
        assert (
            con.execute(
                "SELECT requests FROM sync_runs WHERE run_id = ?", [result.run_id]
            ).fetchone()[0]
            == 3
        )
