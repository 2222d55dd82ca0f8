"""What one company's sync run carries around: client, warehouse, run id, the run's clock,
counters and the tunables (``SyncOptions``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from oodaloo import clock
from oodaloo.config import Settings
from sync.client import QBOClient
from sync.schema import parse_ts
from sync.store import Warehouse

T = TypeVar("T")


@dataclass(frozen=True)
class SyncOptions:
    page_size: int = 1000
    use_batch: bool = True
    lag_seconds: float = 60.0  # a backfill window ends this far before its start
    overlap_seconds: float = 300.0  # CDC asks again from this far before the stored checkpoint
    cdc_window_days: float = 29.0  # older checkpoints: windowed re-pull + full Id reconciliation
    cdc_max_objects: int = 1000  # a CDC answer this full is treated as incomplete
    offset_overlap: int = 50  # offset paging inside one timestamp steps back this many rows
    reconcile_every_days: float = 7.0
    reconcile_page_size: int = 1000  # Id listing pages: the largest QBO allows (MAXRESULTS 1000)
    verify_chunk: int = 100  # Ids per "Id IN (...)" check before tombstoning

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> SyncOptions:
        """Defaults with the operator's knobs from ``Settings`` (CDC overlap, reconcile
        interval)."""
        values: dict[str, object] = {
            "overlap_seconds": settings.sync_cdc_overlap_seconds,
            "reconcile_every_days": settings.sync_reconcile_interval_days,
        }
        return cls(**{**values, **overrides})  # type: ignore[arg-type]  # fields by name, checked by the dataclass


class RunClock:
    """The product's clock for one run, asked ONCE (``oodaloo.clock.now``: the sandbox's when
    there is one, which costs a request). The run then reads that instant: a sandbox clock is
    treated as standing still for the run's length, which is how tests and the demo drive it.
    Against a real QBO the system clock is free to ask, so it keeps flowing."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = clock.now(settings)
        self._real = settings.api_base in clock._not_a_sandbox

    def now(self) -> datetime:
        if self._real:
            return datetime.now(UTC)
        return self.started


@dataclass
class RunContext:
    settings: Settings
    realm_id: str
    client: QBOClient
    warehouse: Warehouse
    run_id: int
    clock: RunClock
    options: SyncOptions = field(default_factory=SyncOptions)
    rows: int = 0
    heartbeat: object = None  # a callable refreshing the company's try-lock
    _last_beat: float = field(default_factory=time.monotonic)

    def now(self) -> datetime:
        return self.clock.now()

    def read(self, query: Callable[..., T]) -> T:
        """Run a read on the run's one write connection (the coalescing writer's), so a run
        never closes and reopens the file just to look at its own checkpoints."""
        return self.warehouse.transact(query)

    def beat(self) -> None:
        """Keep the company's try-lock alive during long pulls (at most once a minute)."""
        if callable(self.heartbeat) and time.monotonic() - self._last_beat > 60.0:
            self._last_beat = time.monotonic()
            self.heartbeat()


def server_time(body: dict[str, Any], fallback: datetime) -> datetime:
    """The ``time`` member of an answer (QBO's clock), else our own."""
    value = body.get("time") if isinstance(body, dict) else None
    try:
        return parse_ts(value) or fallback
    except ValueError:
        return fallback
