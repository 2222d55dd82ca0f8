"""Polars schemas of the store's tables, derived from ``sync/schema.py`` (the store contract)."""

from __future__ import annotations

import re
from functools import cache

import polars as pl

from sync.schema import BY_TABLE, COMMON_COLUMNS, ENTITIES

LINK = pl.Struct({"txn_id": pl.String, "txn_type": pl.String, "amount": pl.Decimal(18, 2)})
JE_LINE = pl.Struct(
    {
        "posting_type": pl.String,
        "account_id": pl.String,
        "amount": pl.Decimal(18, 2),
        "entity_type": pl.String,
        "entity_id": pl.String,
        "description": pl.String,
    }
)
EXPENSE_LINE = pl.Struct(
    {"account_id": pl.String, "amount": pl.Decimal(18, 2), "description": pl.String}
)
TIMESTAMP = pl.Datetime("us", "UTC")

_SCALARS: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "BIGINT": pl.Int64(),
    "INTEGER": pl.Int32(),
    "BOOLEAN": pl.Boolean(),
    "DATE": pl.Date(),
    "TIMESTAMPTZ": TIMESTAMP,
}


def polars_type(sql_type: str) -> pl.DataType:
    """Map one DuckDB type of the schema to its Polars dtype."""
    if sql_type in _SCALARS:
        return _SCALARS[sql_type]
    match = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", sql_type)
    if match:
        return pl.Decimal(int(match[1]), int(match[2]))
    if "posting_type" in sql_type:
        return pl.List(JE_LINE)
    if "txn_type" in sql_type:
        return pl.List(LINK)
    if sql_type.endswith("[]"):
        return pl.List(EXPENSE_LINE)
    raise ValueError(f"unmapped store type {sql_type!r}")


@cache
def table_schema(table: str) -> pl.Schema:
    """COMMON_COLUMNS + the entity's typed columns (without ``raw``)."""
    spec = BY_TABLE[table]
    cols = [(name, polars_type(t)) for name, t in COMMON_COLUMNS]
    cols += [(col.name, polars_type(col.sql_type)) for col in spec.columns]
    return pl.Schema(cols)


def empty_table(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=table_schema(table))


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast a frame read from DuckDB (or built in a test) to the exact contract schema."""
    schema = table_schema(table)
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        frame = frame.with_columns(pl.lit(None).alias(name) for name in missing)
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


TABLES: tuple[str, ...] = tuple(spec.table for spec in ENTITIES)
