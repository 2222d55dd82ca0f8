"""The previous per-row ingest (Python coercion into Arrow), kept ONLY for the tests: the
vectorised ingest in ``sync.frames`` must produce the same columns, and ``coerce`` types the
sandbox's truth independently of the code under test."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import pyarrow as pa

from sync.frames import log_columns
from sync.schema import EntitySpec, parse_ts

Doc = dict[str, Any]


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def arrow_type(sql_type: str) -> pa.DataType:
    t = sql_type.strip()
    if t.endswith("[]"):
        return pa.list_(arrow_type(t[:-2]))
    upper = t.upper()
    if upper.startswith("STRUCT("):
        inner = t[t.index("(") + 1 : t.rindex(")")]
        fields = []
        for part in _split_top(inner):
            name, ftype = part.split(None, 1)
            fields.append(pa.field(name, arrow_type(ftype)))
        return pa.struct(fields)
    match = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper)
    if match:
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    simple = {
        "VARCHAR": pa.string(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "DOUBLE": pa.float64(),
    }
    if upper not in simple:
        raise ValueError(f"no Arrow type for SQL type {sql_type!r}")
    return simple[upper]


def coerce(value: Any, typ: pa.DataType) -> Any:
    """Make ``value`` acceptable to ``typ`` (None stays None)."""
    if value is None or value == "":
        return None
    if pa.types.is_decimal(typ):
        try:
            return Decimal(str(value)).quantize(Decimal(1).scaleb(-typ.scale))
        except InvalidOperation:
            return None
    if pa.types.is_integer(typ):
        return int(Decimal(str(value)))
    if pa.types.is_boolean(typ):
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if pa.types.is_string(typ):
        return value if isinstance(value, str) else str(value)
    if pa.types.is_date32(typ):
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    if pa.types.is_timestamp(typ):
        return value if isinstance(value, datetime) else parse_ts(str(value))
    if pa.types.is_list(typ):
        return [coerce(v, typ.value_type) for v in value]
    if pa.types.is_struct(typ):
        return {f.name: coerce(value.get(f.name), f.type) for f in typ}
    return value


_Coerce = Callable[[Any], Any]


def coercer(typ: pa.DataType) -> _Coerce:
    """A fast per-column coercion: values already of the right Python type pass straight through."""
    if pa.types.is_decimal(typ):
        quantum = Decimal(1).scaleb(-typ.scale)

        def dec(value: Any) -> Any:
            if value is None or value == "":
                return None
            if type(value) is Decimal and value.as_tuple().exponent == -typ.scale:
                return value
            return (
                coerce(value, typ)
                if not isinstance(value, (int, float, str, Decimal))
                else _quantize(value, quantum)
            )

        return dec
    if pa.types.is_string(typ):
        return lambda v: v if type(v) is str and v != "" else coerce(v, typ)
    if pa.types.is_boolean(typ):
        return lambda v: v if type(v) is bool else coerce(v, typ)
    if pa.types.is_integer(typ):
        return lambda v: v if type(v) is int else coerce(v, typ)
    if pa.types.is_timestamp(typ):
        return lambda v: v if type(v) is datetime else coerce(v, typ)
    if pa.types.is_date32(typ):
        return lambda v: v if type(v) is date else coerce(v, typ)
    return lambda v: coerce(v, typ)


def _quantize(value: Any, quantum: Decimal) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(quantum)
    except InvalidOperation:
        return None


def log_schema(spec: EntitySpec) -> pa.Schema:
    return pa.schema([pa.field(name, arrow_type(sql)) for name, sql in log_columns(spec)])


def version_rows(
    spec: EntitySpec,
    realm_id: str,
    docs: list[Doc],
    *,
    ingested_at: datetime,
    run_id: int,
    source: str = "sync",
) -> pa.Table:
    """One row per document version (deleted stubs excluded: see ``tombstone_rows``)."""
    schema = log_schema(spec)
    coercers = [(f.name, coercer(f.type)) for f in schema]
    columns: dict[str, list[Any]] = {f.name: [] for f in schema}
    extractors = [(c.name, c.extract) for c in spec.columns]
    for doc in docs:
        meta = doc.get("MetaData") or {}
        base = {
            "realm_id": realm_id,
            "id": str(doc["Id"]),
            "sync_token": int(doc.get("SyncToken") or 0),
            "op": "upsert",
            "source_created_at": parse_ts(meta.get("CreateTime")),
            "source_updated_at": parse_ts(meta.get("LastUpdatedTime")),
            "ingested_at": ingested_at,
            "sync_run_id": run_id,
            "raw": orjson.dumps(doc).decode(),
            "source": source,
        }
        for name, extract in extractors:
            base[name] = extract(doc)
        for name, conv in coercers:
            columns[name].append(conv(base.get(name)))
    return pa.Table.from_pydict(columns, schema=schema)


def tombstone_rows(
    spec: EntitySpec,
    realm_id: str,
    stubs: list[Doc],
    *,
    ingested_at: datetime,
    run_id: int,
    deleted_at: datetime | None = None,
    source: str = "sync",
) -> pa.Table:
    """Deleted stubs as rows with only the common columns (sync_token filled in at write time)."""
    schema = log_schema(spec)
    rows = []
    for stub in stubs:
        meta = stub.get("MetaData") or {}
        rows.append(
            {
                "realm_id": realm_id,
                "id": str(stub["Id"]),
                "sync_token": None,
                "op": "delete",
                "source_created_at": None,
                "source_updated_at": parse_ts(meta.get("LastUpdatedTime"))
                or deleted_at
                or ingested_at,
                "ingested_at": ingested_at,
                "sync_run_id": run_id,
                "raw": orjson.dumps(
                    {"domain": "QBO", "status": "Deleted", "Id": str(stub["Id"]), "MetaData": meta}
                ).decode(),
                "source": source,
            }
        )
    return pa.Table.from_pylist(rows, schema=schema)
