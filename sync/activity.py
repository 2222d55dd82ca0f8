"""Read-only views of sync activity for the console's Data & audit page: recent sync runs and
"what changed since T" from the change log. (Written by the console helper; owned by sync.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from oodaloo.config import Settings
from sync.schema import ENTITIES
from sync.store import Warehouse

if TYPE_CHECKING:  # Polars is imported when the console asks, never by a sync run
    import polars as pl


def change_schema() -> dict[str, Any]:
    import polars as pl

    return {
        "realm_id": pl.String,
        "entity": pl.String,
        "id": pl.String,
        "change": pl.String,
        "sync_token": pl.Int64,
        "doc_number": pl.String,
        "total_amt": pl.Decimal(18, 2),
        "balance": pl.Decimal(18, 2),
        "source_updated_at": pl.Datetime("us", "UTC"),
        "ingested_at": pl.Datetime("us", "UTC"),
    }


def run_schema() -> dict[str, Any]:
    import polars as pl

    return {
        "run_id": pl.Int64,
        "realm_id": pl.String,
        "kind": pl.String,
        "started_at": pl.Datetime("us", "UTC"),
        "finished_at": pl.Datetime("us", "UTC"),
        "requests": pl.Int64,
        "rows": pl.Int64,
        "outcome": pl.String,
        "error": pl.String,
    }


def _realm_clause(
    realm_ids: Sequence[str] | None, column: str = "realm_id"
) -> tuple[str, list[Any]]:
    if realm_ids is None:
        return "TRUE", []
    return f"{column} IN ({', '.join('?' for _ in realm_ids) or 'NULL'})", list(realm_ids)


def recent_runs(
    settings: Settings, realm_ids: Sequence[str] | None = None, limit: int = 200
) -> pl.DataFrame:
    """The latest sync runs, newest first (outcome running/ok/failed..., error text as recorded)."""
    import polars as pl

    run_columns = run_schema()
    if not settings.warehouse_path.exists():
        return pl.DataFrame(schema=run_columns)
    where, params = _realm_clause(realm_ids)
    sql = (
        f"SELECT * FROM sync_runs WHERE {where} "
        f"ORDER BY started_at DESC, run_id DESC LIMIT {int(limit)}"
    )
    frame = Warehouse(settings.warehouse_path).frame(sql, params or None)
    return frame.select([pl.col(c).cast(t) for c, t in run_columns.items() if c in frame.columns])


def changes_since(
    settings: Settings,
    since: datetime,
    realm_ids: Sequence[str] | None = None,
    *,
    basis: str = "source",
    limit: int = 5000,
) -> pl.DataFrame:
    """Documents changed after ``since``, newest first, one row per document (its latest version),
    labelled created / updated / deleted.

    basis "source": changed in QuickBooks after ``since`` (MetaData times; created = its creation
    time is after ``since``). basis "ingest": versions we stored after ``since`` (created = no
    earlier version in our log)."""
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    if basis not in ("source", "ingest"):
        raise ValueError(f"basis must be 'source' or 'ingest', not {basis!r}")
    import polars as pl

    change_columns = change_schema()
    if not settings.warehouse_path.exists():
        return pl.DataFrame(schema=change_columns)
    where, params = _realm_clause(realm_ids)
    stamp = "source_updated_at" if basis == "source" else "ingested_at"
    created = "source_created_at > ?" if basis == "source" else "first_token = sync_token"
    parts: list[str] = []
    args: list[Any] = []
    for spec in ENTITIES:
        names = {c.name for c in spec.columns}
        doc = (
            "doc_number"
            if "doc_number" in names
            else ("display_name" if "display_name" in names else "NULL")
        )
        total = "total_amt" if "total_amt" in names else "NULL"
        balance = "balance" if "balance" in names else "NULL"
        parts.append(
            f"SELECT realm_id, '{spec.qbo_name}' AS entity, id, "
            "CASE WHEN op = 'delete' THEN 'deleted' "
            f"WHEN {created} THEN 'created' ELSE 'updated' END AS change, "
            f"sync_token, CAST({doc} AS VARCHAR) AS doc_number, "
            f"CAST({total} AS DECIMAL(18,2)) AS total_amt, "
            f"CAST({balance} AS DECIMAL(18,2)) AS balance, source_updated_at, ingested_at FROM ("
            "SELECT *, min(sync_token) OVER (PARTITION BY realm_id, id) AS first_token, "
            "row_number() OVER (PARTITION BY realm_id, id "
            "ORDER BY sync_token DESC, ingested_at DESC) AS newest "
            f"FROM {spec.log_table} WHERE {where}) WHERE newest = 1 AND {stamp} > ?"
        )
        args += [
            *([since] if basis == "source" else []),
            *params,
            since,
        ]  # placeholders in text order
    sql = (
        " UNION ALL ".join(parts)
        + f" ORDER BY {stamp} DESC, realm_id, entity, id LIMIT {int(limit)}"
    )
    frame = Warehouse(settings.warehouse_path).frame(sql, args)
    return frame.select([pl.col(c).cast(t) for c, t in change_columns.items()])
