"""The per-company daily request budget (Settings): background sync stops at the budget with
outcome "quota" and resumes from its checkpoint later; owners' clicks go on up to the hard cap.
And the operator's knobs reach the limiter and the sync options."""

from __future__ import annotations

import pytest

from oodaloo.config import Settings
from sync import quota
from sync.client import QBOClient
from sync.context import SyncOptions
from sync.engine import sync_company
from sync.errors import QuotaExceeded
from sync.limiter import LimiterRegistry, Limits
from sync.retry import FAST
from tests.sync.conftest import SMALL_PAGES, World, assert_store_matches_truth

TINY_PAGES = SyncOptions(
    page_size=5, lag_seconds=0, overlap_seconds=60
)  # several batch rounds per company


def client_for(world: World, settings: Settings) -> QBOClient:
    client = QBOClient(settings, retry=FAST, limiters=LimiterRegistry())
    world.clients.append(client)
    return client


def test_budget_stops_background_sync_but_not_owner_clicks(world: World) -> None:
    realm = world.realms[0]
    used_before = quota.counter(world.settings).used(realm)
    tight = world.settings.model_copy(
        update={
            "sync_daily_request_budget": used_before + 3,
            "daily_request_hard_cap": used_before + 5,
        }
    )
    result = sync_company(tight, realm, client=client_for(world, tight), options=TINY_PAGES)
    assert result.outcome == "quota" and "budget" in (result.error or ""), result
    assert result.requests == 3  # exactly the budget, then nothing more
    assert quota.requests_on(tight, realm) == used_before + 3
    with world.warehouse.read() as con:
        assert (
            con.execute(
                "SELECT outcome FROM sync_runs WHERE run_id = ?", [result.run_id]
            ).fetchone()[0]
            == "quota"
        )
    user = client_for(world, tight)
    assert (
        user.company_info(realm, lane="user")["Id"] == "1"
    )  # past the sync budget, under the hard cap
    assert user.company_info(realm, lane="user")["Id"] == "1"
    with pytest.raises(QuotaExceeded, match="budget for all requests"):
        user.company_info(realm, lane="user")
    with pytest.raises(QuotaExceeded):
        user.company_info(world.realms[0], lane="sync")
    assert (
        sync_company(
            tight, world.realms[1], client=client_for(world, tight), options=SMALL_PAGES
        ).outcome
        == "ok"
    )  # per company
    # the next day (here: a larger budget) the pull resumes from its checkpoint and completes
    roomy = world.settings.model_copy(
        update={"sync_daily_request_budget": 10_000, "daily_request_hard_cap": 10_000}
    )
    again = sync_company(roomy, realm, client=client_for(world, roomy), options=TINY_PAGES)
    assert again.outcome == "ok" and "resume-backfill" in again.steps
    assert_store_matches_truth(world)


def test_settings_reach_limits_and_options(settings: Settings) -> None:
    custom = settings.model_copy(
        update={
            "qbo_requests_per_minute": 300.0,
            "qbo_requests_per_second": 5.0,
            "sync_user_reserve": 0.4,
            "qbo_throttle_pause_seconds": 12.0,
            "sync_cdc_overlap_seconds": 90.0,
            "sync_reconcile_interval_days": 3.0,
        }
    )
    limits = Limits.from_settings(custom)
    assert (limits.per_minute, limits.per_second, limits.throttle_pause_seconds) == (
        300.0,
        5.0,
        12.0,
    )
    assert (limits.sync_per_minute, limits.sync_per_second) == (
        pytest.approx(180.0),
        pytest.approx(3.0),
    )
    default = Limits.from_settings(settings)
    assert (default.sync_per_second, default.sync_per_minute) == (
        pytest.approx(6.4),
        pytest.approx(400.0),
    )
    options = SyncOptions.from_settings(custom, page_size=50)
    assert (options.overlap_seconds, options.reconcile_every_days, options.page_size) == (
        90.0,
        3.0,
        50,
    )
    registry = LimiterRegistry()
    limiter = registry.for_realm("1")
    registry.configure(limits)
    assert limiter.limits is limits and registry.for_realm("2").limits is limits
