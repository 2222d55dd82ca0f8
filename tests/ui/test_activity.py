"""sync.activity (the Data & audit page's queries) on the synced demo firm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from oodaloo.config import Settings
from sync.activity import changes_since, recent_runs
from sync.store import warehouse_for


def test_changes_since_lists_each_changed_document_once(demo_settings: Settings) -> None:
    since = datetime(2026, 11, 13, 5, 0, tzinfo=UTC)
    changes = changes_since(demo_settings, since)
    assert changes.height > 0
    assert changes.select("realm_id", "entity", "id").is_duplicated().sum() == 0
    assert (changes["source_updated_at"] > since).all()
    assert set(changes["change"]) <= {"created", "updated", "deleted"}
    bills = warehouse_for(demo_settings).frame(
        "SELECT count(*) AS n FROM cur_bill WHERE source_updated_at > ?", [since]
    )["n"][0]
    assert (
        changes.filter((pl.col("entity") == "Bill") & (pl.col("change") != "deleted")).height
        == bills
    )
    assert changes_since(demo_settings, since + timedelta(days=3650)).is_empty()


def test_ingest_basis_and_runs(demo_settings: Settings) -> None:
    everything = changes_since(demo_settings, datetime(2000, 1, 1, tzinfo=UTC), basis="ingest")
    assert set(everything["change"]) <= {"created", "updated", "deleted"} and everything.height > 0
    runs = recent_runs(demo_settings)
    assert runs.height > 0 and set(runs["outcome"]) == {"ok"}
    assert runs["started_at"].is_sorted(descending=True)


def test_bad_arguments_are_named(demo_settings: Settings) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        changes_since(demo_settings, datetime(2026, 11, 13))
    with pytest.raises(ValueError, match="basis"):
        changes_since(demo_settings, datetime(2026, 11, 13, tzinfo=UTC), basis="other")
