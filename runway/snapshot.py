"""Snapshots of the store: Polars frames per table for one company or all, current or as of a time.

A snapshot is pure data read through ``sync.store`` (the one reading of "latest version",
``sync.store.latest_versions``): the documents, their tombstones, and when each company last
synced successfully. It computes no freshness status and reads no clock: how fresh that is *now*
is the freshness service's answer (``sync.freshness``), which callers stamp onto the snapshot
with ``Snapshot.with_freshness`` after refreshing (``sync.freshness.ensure_fresh``).

Historical snapshots come from the change log: for each (realm_id, id) the latest version with
``source_updated_at <= T`` ("what QBO said at T") or ``ingested_at <= T`` ("what we knew at T"),
tombstoned documents excluded. Calculators never touch DuckDB; they get these frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

import duckdb
import polars as pl

from oodaloo.config import Settings
from runway.tables import TABLES, TIMESTAMP, conform, empty_table, table_schema
from sync.store import last_success_in, latest_versions, warehouse_for

Basis = Literal["source", "ingest"]

FRESHNESS_SCHEMA = pl.Schema(
    {
        "realm_id": pl.String(),
        "last_success_at": TIMESTAMP,
        "status": pl.String(),
        "badge": pl.String(),
    }
)
DELETED_SCHEMA = pl.Schema(
    {"realm_id": pl.String(), "entity": pl.String(), "id": pl.String(), "deleted_at": TIMESTAMP}
)


class FreshnessRow(Protocol):
    """One company's freshness as the freshness service reports it (``sync.freshness``)."""

    @property
    def realm_id(self) -> str: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def badge(self) -> str: ...


def freshness_frame(rows: Iterable[FreshnessRow]) -> pl.DataFrame:
    """The freshness service's answer as a frame (FRESHNESS_SCHEMA), one row per company."""
    data = [
        {
            "realm_id": r.realm_id,
            "last_success_at": r.last_success_at,
            "status": r.status,
            "badge": r.badge,
        }
        for r in rows
    ]
    return pl.DataFrame(data, schema=FRESHNESS_SCHEMA).sort("realm_id")


@dataclass(frozen=True)
class Snapshot:
    """Frames per table (keys of ``runway.tables.TABLES``), tombstones, freshness and a cache key.

    ``freshness`` holds what the store knows (``last_success_at``); ``status`` and ``badge`` stay
    null until a caller stamps the freshness service's answer (``with_freshness``)."""

    tables: dict[str, pl.DataFrame]
    freshness: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=FRESHNESS_SCHEMA))
    deleted: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=DELETED_SCHEMA))
    version: str = "memory"
    at: datetime | None = None
    basis: Basis = "source"

    def __getitem__(self, table: str) -> pl.DataFrame:
        frame = self.tables.get(table)
        return empty_table(table) if frame is None else frame

    @property
    def realm_ids(self) -> list[str]:
        realms: list[str] = self["company_info"]["realm_id"].unique().sort().to_list()
        return realms

    def only(self, realm_ids: Sequence[str]) -> Snapshot:
        """The same snapshot restricted to some companies (no new read)."""
        keep = pl.col("realm_id").is_in(list(realm_ids))
        return Snapshot(
            tables={name: frame.filter(keep) for name, frame in self.tables.items()},
            freshness=self.freshness.filter(keep),
            deleted=self.deleted.filter(keep),
            version=f"{self.version}|{','.join(sorted(realm_ids))}",
            at=self.at,
            basis=self.basis,
        )

    def with_freshness(self, rows: Iterable[FreshnessRow]) -> Snapshot:
        """The same data with the freshness service's answer (status, badge) for its companies;
        companies the answer leaves out keep the stored facts. The version (the data's cache
        key) is unchanged: freshness is not data, so callers caching on it key on both."""
        stamped = freshness_frame(rows)
        kept = self.freshness.join(stamped.select("realm_id"), on="realm_id", how="anti")
        merged = pl.concat([kept, stamped.filter(pl.col("realm_id").is_in(self.realm_ids))])
        return replace(self, freshness=merged.sort("realm_id"))


def snapshot_from_frames(
    tables: dict[str, pl.DataFrame],
    *,
    freshness: pl.DataFrame | None = None,
    deleted: pl.DataFrame | None = None,
    version: str = "memory",
    at: datetime | None = None,
    basis: Basis = "source",
) -> Snapshot:
    """A snapshot from in-memory frames (tests, benchmarks), conformed to the store schema."""
    conformed = {name: conform(name, tables.get(name, empty_table(name))) for name in TABLES}
    return Snapshot(
        tables=conformed,
        freshness=pl.DataFrame(schema=FRESHNESS_SCHEMA) if freshness is None else freshness,
        deleted=pl.DataFrame(schema=DELETED_SCHEMA) if deleted is None else deleted,
        version=version,
        at=at,
        basis=basis,
    )


def _split(table: str, latest: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(live rows, tombstones) of one table's latest versions, in a canonical order (realm, id):
    DuckDB hands rows back in no fixed order, and a snapshot is the same data whatever the read."""
    latest = latest.sort("realm_id", "id")
    live = latest.filter(pl.col("op") != "delete")
    tomb = latest.filter(pl.col("op") == "delete").select(
        pl.col("realm_id").cast(pl.String),
        pl.lit(table).alias("entity"),
        pl.col("id").cast(pl.String),
        pl.col("ingested_at").cast(TIMESTAMP).alias("deleted_at"),
    )
    return conform(table, live), tomb


def _stored_freshness(last: dict[str, datetime], realm_ids: Sequence[str]) -> pl.DataFrame:
    """What the store knows: each company's last successful sync; no status (no clock here)."""
    rows = [{"realm_id": r, "last_success_at": last.get(r)} for r in realm_ids]
    return (
        pl.DataFrame(rows, schema={"realm_id": pl.String(), "last_success_at": TIMESTAMP})
        .with_columns(status=pl.lit(None, pl.String()), badge=pl.lit(None, pl.String()))
        .select(FRESHNESS_SCHEMA.names())
        .sort("realm_id")
    )


def load_snapshot(
    settings: Settings,
    realm_ids: Sequence[str] | None = None,
    at: datetime | None = None,
    basis: Basis = "source",
) -> Snapshot:
    """Every table for the given companies (all when None), current or as of ``at`` (aware
    datetime). Reads the store only: no clock, no network."""
    if basis not in ("source", "ingest"):
        raise ValueError(f"basis must be 'source' or 'ingest', not {basis!r}")
    if at is not None and at.tzinfo is None:
        raise ValueError(
            "at must be timezone-aware (UTC), e.g. datetime(2026, 11, 13, tzinfo=timezone.utc)"
        )
    if not settings.warehouse_path.exists():
        return snapshot_from_frames({}, version="empty", at=at, basis=basis)
    warehouse = warehouse_for(settings)
    store_version = warehouse.version()
    with warehouse.read() as con:
        return read_snapshot(con, realm_ids, at, basis, store_version=store_version)


def read_snapshot(
    con: duckdb.DuckDBPyConnection,
    realm_ids: Sequence[str] | None = None,
    at: datetime | None = None,
    basis: Basis = "source",
    *,
    store_version: str = "memory",
) -> Snapshot:
    """The snapshot inside an open read of a store (``load_snapshot``'s, or a test's in-memory
    DuckDB filled through ``sync.ingest.ingest_into``): one reading for both."""
    realms = None if realm_ids is None else sorted(set(realm_ids))
    tables: dict[str, pl.DataFrame] = {}
    tombs: list[pl.DataFrame] = [pl.DataFrame(schema=DELETED_SCHEMA)]
    for table in TABLES:  # a fixed dozen tables, each read for all companies at once
        latest = latest_versions(
            con, table, columns=table_schema(table).names(), realm_ids=realms, at=at, basis=basis
        )
        tables[table], tomb = _split(table, latest)
        tombs.append(tomb)
    last = last_success_in(con, realms, at)
    known = realms if realms is not None else tables["company_info"]["realm_id"].unique().to_list()
    scope = ",".join(realms or ["*"])
    return Snapshot(
        tables=tables,
        freshness=_stored_freshness(last, sorted(known)),
        deleted=pl.concat(tombs).sort("realm_id", "entity", "id"),
        version=f"{store_version}|{at.isoformat() if at else 'current'}|{basis}|{scope}",
        at=at,
        basis=basis,
    )
