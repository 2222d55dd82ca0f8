"""How fresh each company's data is, and "refresh before showing if QBO is reachable".

The one freshness service: pages, the digest and the CLI call ``ensure_fresh`` before they read
(and stamp its answer onto their snapshot with ``runway.snapshot.Snapshot.with_freshness``); the
console's badge calls ``company_freshness``. Snapshots themselves compute no freshness.

``company_freshness`` reads the last successful sync (DuckDB ``sync_status``) and the connection
state (state.sqlite); "now" is ``oodaloo.clock.now(settings)`` (the sandbox clock in the demo).
``ensure_fresh`` refreshes stale companies within a bounded wait, then serves what it has while
the refresh finishes in the background."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from oodaloo import clock
from oodaloo.config import Settings
from oodaloo.timezone import DEFAULT_TZ
from sync import connections, store

STATUSES = ("fresh", "stale", "unreachable", "reconnect_needed", "never")
_background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="oodaloo-refresh")
_inflight: dict[tuple[str, str], Future[Any]] = {}
_inflight_lock = threading.Lock()


@dataclass(frozen=True)
class Freshness:
    realm_id: str
    last_success_at: datetime | None
    status: str  # fresh | stale | unreachable | reconnect_needed | never
    badge: str
    name: str | None = None
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["last_success_at"] = self.last_success_at.isoformat() if self.last_success_at else None
        return data


def age_text(age: timedelta) -> str:
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h ago"
    return f"{hours // 24} days ago"


def badge(
    status: str,
    last: datetime | None,
    now: datetime,
    tz: str = DEFAULT_TZ,
    *,
    refreshing: bool = True,
) -> str:
    """The words of the badge. A stale company says "— refreshing" only while a refresh runs
    (``refreshing``), so the badge never promises a refresh that nothing is doing."""
    shown = last.astimezone(ZoneInfo(tz)) if last else None
    if status == "reconnect_needed":
        return "Reconnect needed"
    if status == "never":
        return "Not synced yet"
    assert shown is not None and last is not None
    when = (
        shown.strftime("%H:%M")
        if (now - last) < timedelta(hours=20)
        else shown.strftime("%b %d %H:%M")
    )
    if status == "unreachable":
        return f"QuickBooks unreachable — showing data from {when}"
    if status == "stale" and refreshing:
        return f"Synced {age_text(now - last)} — refreshing"
    return f"Synced {age_text(now - last)}"


FAULT_WORDS = {
    "permanent": "QuickBooks refused a read",
    "quota": "Today's QuickBooks request budget is spent",
    "transient": "QuickBooks unreachable",
}


def fault_or_event_badge(
    health: dict[str, object] | None,
    status: str,
    shown: str,
    at: datetime | None,
    now: datetime,
) -> tuple[str, str]:
    """A fault recorded after the last success (sync_status) outranks "Synced just now"; a
    success brought by a QuickBooks event (webhook) says so with its age in seconds."""
    if not health or status == "reconnect_needed":
        return status, shown
    fault_at = health.get("last_fault_at")
    if isinstance(fault_at, datetime) and (at is None or fault_at >= at):
        words = FAULT_WORDS.get(str(health.get("last_fault_kind")), "QuickBooks refused a read")
        detail = str(health.get("last_fault") or "")
        code = detail.split(":", 1)[0] if detail.startswith("HTTP ") else ""
        words = f"{words} ({code})" if code else words
        if at is None:
            return "unreachable", f"Not synced yet — {words}"
        when = badge("unreachable", at, now).split("showing data from ", 1)[1]
        return "unreachable", f"{words} — showing data from {when}"
    if status == "fresh" and health.get("last_kind") == "event" and at is not None:
        seconds = max(0, int((now - at).total_seconds()))
        age = f"{seconds} s ago" if seconds < 60 else age_text(now - at)
        return status, f"Updated {age} from a QuickBooks change"
    return status, shown


def company_freshness(
    settings: Settings, realm_ids: list[str] | None = None, *, now: datetime | None = None
) -> list[Freshness]:
    now = now or clock.now(settings)
    companies = {c.realm_id: c for c in connections.list_companies(settings)}
    wanted = realm_ids if realm_ids is not None else list(companies)
    # one reading of the store (each opening of the file costs a page render tens of ms): the
    # last success is in the same status row as the faults and events
    health = (
        store.sync_health(store.warehouse_for(settings)) if settings.warehouse_path.exists() else {}
    )
    last = {
        realm: row["last_success_at"]
        for realm, row in health.items()
        if row["last_success_at"] is not None
    }
    out: list[Freshness] = []
    for realm_id in wanted:
        company = companies.get(realm_id)
        at = last.get(realm_id)
        if company is not None and company.state == connections.RECONNECT_NEEDED:
            status = "reconnect_needed"
        elif at is None:
            status = "never"
        elif company is not None and company.last_error_kind == "transient":
            status = "unreachable"
        elif now - at > timedelta(minutes=settings.freshness_minutes):
            status = "stale"
        else:
            status = "fresh"
        shown = badge(status, at, now, refreshing=refreshing(settings, realm_id))
        status, shown = fault_or_event_badge(health.get(realm_id), status, shown, at, now)
        out.append(
            Freshness(
                realm_id,
                at,
                status,
                shown,
                company.name if company else None,
                company.last_error if company else None,
            )
        )
    return out


def refreshing(settings: Settings, realm_id: str) -> bool:
    """A refresh of this company started by ``ensure_fresh`` in this process is still running."""
    with _inflight_lock:
        running = _inflight.get((str(settings.data_dir), realm_id))
    return running is not None and not running.done()


def _refresh_async(settings: Settings, realm_id: str) -> Future[Any]:
    key = (str(settings.data_dir), realm_id)
    with _inflight_lock:
        running = _inflight.get(key)
        if running is not None and not running.done():
            return running
        from sync.engine import sync_company

        future = _background.submit(sync_company, settings, realm_id, "incremental")
        _inflight[key] = future
        return future


def ensure_fresh(
    settings: Settings, realm_ids: list[str] | None = None, max_wait: float | None = None
) -> list[Freshness]:
    """Refresh companies older than the policy, waiting at most ``max_wait`` seconds
    (default settings.refresh_wait_seconds); then answer with what the store holds. A refresh
    that takes longer goes on in the background."""
    max_wait = settings.refresh_wait_seconds if max_wait is None else max_wait
    before = company_freshness(settings, realm_ids)
    connected = {c.realm_id for c in connections.list_companies(settings)}
    futures = [
        _refresh_async(settings, f.realm_id)
        for f in before
        if f.status in ("stale", "never", "unreachable") and f.realm_id in connected
    ]
    if futures and max_wait > 0:
        wait(futures, timeout=max_wait)
    return company_freshness(settings, realm_ids)
