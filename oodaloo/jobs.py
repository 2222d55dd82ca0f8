"""The product's scheduler: sync's jobs plus the digest's, composed here (the wiring layer) so
that ``sync`` never imports the packages built on top of it."""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler

from digest.schedule import add_digest_jobs
from oodaloo.config import Settings
from sync.scheduler import build_scheduler as build_sync_scheduler


def build_scheduler(settings: Settings, background: bool = True) -> BaseScheduler:
    """Incremental sync, weekly reconcile, the sync-request drain and the Friday digests."""
    return build_sync_scheduler(settings, background, extra_jobs=[add_digest_jobs])
