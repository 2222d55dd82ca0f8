"""Snapshots of the store: Polars frames per table for one company or all, current or as of a time.

Historical snapshots come from the change log: for each (realm_id, id) the latest version with
``source_updated_at <= T`` ("what QBO said at T") or ``ingested_at <= T`` ("what we knew at T"),
tombstoned documents excluded. Calculators never touch DuckDB; they get these frames.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import duckdb
import polars as pl

from oodaloo.config import Settings
from runway.tables import TABLES, TIMESTAMP, conform, empty_table, table_schema

Basis = Literal["source", "ingest"]

FRESHNESS_SCHEMA = pl.Schema(
    {"realm_id": pl.String, "last_success_at": TIMESTAMP, "status": pl.String, "badge": pl.String}
)
DELETED_SCHEMA = pl.Schema(
    {"realm_id": pl.String, "entity": pl.String, "id": pl.String, "deleted_at": TIMESTAMP}
)


@dataclass(frozen=True)
class Snapshot:
    """Frames per table (keys of ``runway.tables.TABLES``), tombstones, freshness and a cache key."""

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
        realms = self["company_info"]["realm_id"].unique().sort().to_list()
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


def snapshot_from_frames(tables: dict[str, pl.DataFrame], **kwargs: object) -> Snapshot:
    """A snapshot from in-memory frames (tests, benchmarks), conformed to the store schema."""
    conformed = {name: conform(name, tables.get(name, empty_table(name))) for name in TABLES}
    return Snapshot(tables=conformed, **kwargs)  # type: ignore[arg-type]


# ---- reading the store ---------------------------------------------------------------------
@contextlib.contextmanager
def _read_connection(settings: Settings) -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    """A read connection through sync.store.Warehouse (the one sanctioned way), with its version."""
    try:
        from sync.store import Warehouse  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # sync helper not built yet: open read-only directly
        Warehouse = None  # noqa: N806
    if Warehouse is not None:
        warehouse = Warehouse(settings.warehouse_path)
        version = str(warehouse.version())
        with warehouse.read() as con:
            yield con, version
        return
    stat = settings.warehouse_path.stat()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        yield con, f"{stat.st_mtime_ns}:{stat.st_size}"
    finally:
        con.close()


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql("SELECT table_name FROM information_schema.tables").fetchall()
    return {row[0] for row in rows}


def _realm_filter(realm_ids: Sequence[str] | None) -> tuple[str, list[object]]:
    if realm_ids is None:
        return "TRUE", []
    return "list_contains(?, realm_id)", [list(realm_ids)]


def _load_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    relations: set[str],
    realm_ids: Sequence[str] | None,
    at: datetime | None,
    basis: Basis,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(live rows, tombstones) of one table."""
    columns = ", ".join(f'"{name}"' for name in table_schema(table))
    where, params = _realm_filter(realm_ids)
    log = f"log_{table}"
    if log not in relations:
        return empty_table(table), pl.DataFrame(schema=DELETED_SCHEMA)
    clock = "source_updated_at" if basis == "source" else "ingested_at"
    time_cond = f"{clock} <= ?" if at is not None else "TRUE"
    time_params: list[object] = [at] if at is not None else []
    ranked = (
        f"SELECT {columns}, row_number() OVER (PARTITION BY realm_id, id ORDER BY {clock} DESC, sync_token DESC) AS rn "
        f"FROM {log} WHERE {where} AND {time_cond}"
    )
    if at is None and f"cur_{table}" in relations:
        live = con.sql(f"SELECT {columns} FROM cur_{table} WHERE {where}", params=params).pl()
        tomb = con.sql(
            f"SELECT realm_id, id, ingested_at AS deleted_at FROM ({ranked}) WHERE rn = 1 AND op = 'delete'",
            params=params + time_params,
        ).pl()
    else:
        latest = con.sql(
            f"SELECT * EXCLUDE (rn) FROM ({ranked}) WHERE rn = 1", params=params + time_params
        ).pl()
        live = latest.filter(pl.col("op") != "delete")
        tomb = latest.filter(pl.col("op") == "delete").select(
            "realm_id", "id", pl.col("ingested_at").alias("deleted_at")
        )
    tomb = tomb.select(
        pl.col("realm_id").cast(pl.String),
        pl.lit(table).alias("entity"),
        pl.col("id").cast(pl.String),
        pl.col("deleted_at").cast(TIMESTAMP),
    )
    return conform(table, live), tomb


def _has_sync_freshness() -> bool:
    try:
        import sync.freshness  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def _freshness(
    settings: Settings,
    con: duckdb.DuckDBPyConnection | None,
    relations: set[str],
    realm_ids: list[str],
    at: datetime | None,
    now: datetime | None = None,
) -> pl.DataFrame:
    """Freshness per company: sync.freshness when it exists, else derived from sync_status."""
    try:
        from sync.freshness import company_freshness  # type: ignore[import-not-found]
    except ModuleNotFoundError:
        company_freshness = None
    if company_freshness is not None:
        items = company_freshness(settings, realm_ids or None, now=now or at)
        rows = [
            {
                "realm_id": f.realm_id,
                "last_success_at": f.last_success_at,
                "status": f.status,
                "badge": f.badge,
            }
            for f in items
        ]
        return pl.DataFrame(rows, schema=FRESHNESS_SCHEMA)
    if con is None or "sync_status" not in relations:
        frame = pl.DataFrame({"realm_id": realm_ids}, schema={"realm_id": pl.String})
        last = pl.lit(None, dtype=TIMESTAMP)
    else:
        frame = con.sql(
            "SELECT realm_id, min(last_success_at) AS last_success_at FROM sync_status GROUP BY realm_id"
        ).pl()
        frame = pl.DataFrame({"realm_id": realm_ids}, schema={"realm_id": pl.String}).join(
            frame.with_columns(pl.col("realm_id").cast(pl.String)), on="realm_id", how="left"
        )
        last = pl.col("last_success_at").cast(TIMESTAMP)
    reference = (
        now or at or datetime.now(UTC)
    )  # freshness is about the wall clock, not a calculation
    stale_after = timedelta(minutes=settings.freshness_minutes)
    return (
        frame.with_columns(last_success_at=last)
        .with_columns(
            status=pl.when(pl.col("last_success_at").is_null())
            .then(pl.lit("never"))
            .when(pl.lit(reference, dtype=TIMESTAMP) - pl.col("last_success_at") > stale_after)
            .then(pl.lit("stale"))
            .otherwise(pl.lit("fresh"))
        )
        .with_columns(
            badge=pl.when(pl.col("status") == "never")
            .then(pl.lit("Never synced"))
            .otherwise(
                pl.lit("Synced ") + pl.col("last_success_at").dt.strftime("%Y-%m-%d %H:%M UTC")
            )
        )
        .select(FRESHNESS_SCHEMA.names())
        .cast(dict(FRESHNESS_SCHEMA))
        .sort("realm_id")
    )


def load_snapshot(
    settings: Settings,
    realm_ids: Sequence[str] | None = None,
    at: datetime | None = None,
    basis: Basis = "source",
    *,
    now: datetime | None = None,
) -> Snapshot:
    """Every table for the given companies (all when None), current or as of ``at`` (aware datetime)."""
    if basis not in ("source", "ingest"):
        raise ValueError(f"basis must be 'source' or 'ingest', not {basis!r}")
    if at is not None and at.tzinfo is None:
        raise ValueError(
            "at must be timezone-aware (UTC), e.g. datetime(2026, 11, 13, tzinfo=timezone.utc)"
        )
    realms = None if realm_ids is None else sorted(set(realm_ids))
    if not settings.warehouse_path.exists():
        empty = snapshot_from_frames({}, version="empty", at=at, basis=basis)
        return empty
    with _read_connection(settings) as (con, store_version):
        relations = _relations(con)
        tables: dict[str, pl.DataFrame] = {}
        tombs: list[pl.DataFrame] = [pl.DataFrame(schema=DELETED_SCHEMA)]
        for table in TABLES:  # a fixed dozen tables, each read for all companies at once
            tables[table], tomb = _load_table(con, table, relations, realms, at, basis)
            tombs.append(tomb)
        known = (
            realms
            if realms is not None
            else tables["company_info"]["realm_id"].unique().sort().to_list()
        )
        freshness = (
            None if _has_sync_freshness() else _freshness(settings, con, relations, known, at, now)
        )
    if freshness is None:  # outside the read: sync.freshness opens the store itself
        freshness = _freshness(settings, None, set(), known, at, now)
    version = (
        f"{store_version}|{at.isoformat() if at else 'current'}|{basis}|{','.join(realms or ['*'])}"
    )
    return Snapshot(
        tables=tables,
        freshness=freshness,
        deleted=pl.concat(tombs).sort("realm_id", "entity", "id"),
        version=version,
        at=at,
        basis=basis,
    )
