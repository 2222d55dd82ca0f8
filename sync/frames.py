"""QBO documents -> rows of ``log_<table>``, typed by DuckDB in one vectorised pass per page.

A page's documents go to DuckDB as their JSON texts (query pages: as the client's DuckDB scan
of the answer split them, read where it staged them when the connection is of the same DuckDB
instance — the coalescing writer's — see ``sync.rawpages``; documents already parsed: ONE JSON
array, ``orjson.dumps`` of the list, a single C call); ``from_json`` reads every element against a
structure DERIVED from the column extractors in sync/schema.py (``path``, ``ref``, ``money``,
``as_date``, ``as_ts``, ``as_bool`` and a few named helpers have SQL twins here), and each
column is cast to its SQL type in the same statement. No Python runs per document, so
schema.py stays the one contract: a new entity built from those extractors is typed here
without any change. A column whose extractor has no SQL twin (an ad-hoc lambda) is computed in
Python for that column only, then typed by DuckDB the same way. Casting rules: "" and
unparsable values become NULL; money rounds half-up to the cent (DuckDB's string -> DECIMAL
cast); timestamps without an offset are UTC."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import orjson

from sync import schema
from sync.rawpages import Page
from sync.schema import COMMON_COLUMNS, EntitySpec

Doc = dict[str, Any]
EXTRA_COLUMNS: list[tuple[str, str]] = [
    ("raw", "VARCHAR"),
    ("source", "VARCHAR"),
]  # source: backfill | cdc | reconcile | action


def log_columns(spec: EntitySpec) -> list[tuple[str, str]]:
    """The column list of ``log_<table>``, in order."""
    return COMMON_COLUMNS + [(c.name, c.sql_type) for c in spec.columns] + EXTRA_COLUMNS


def is_deleted_stub(doc: Doc) -> bool:
    return str(doc.get("status", "")).lower() == "deleted"


def utc_now() -> datetime:
    return datetime.now(UTC)


# ---- from SQL types to from_json structures ------------------------------------------------
def split_top(text: str) -> list[str]:
    """Split at commas outside parentheses ("a INT, b STRUCT(c INT, d INT)" -> 2 parts)."""
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


def json_structure(sql_type: str) -> Any:
    """The ``from_json`` structure for a SQL type ("STRUCT(a INT)[]" -> [{"a": "INT"}])."""
    t = sql_type.strip()
    if t.endswith("[]"):
        return [json_structure(t[:-2])]
    if t.upper().startswith("STRUCT("):
        inner = t[t.index("(") + 1 : t.rindex(")")]
        return {
            name: json_structure(ftype)
            for name, ftype in (part.split(None, 1) for part in split_top(inner))
        }
    return t


# ---- extractors -> SQL ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """How one column is read: the JSON paths it needs and the SQL computing it from ``j``."""

    paths: tuple[tuple[str, ...], ...]
    sql: Callable[[Callable[[tuple[str, ...]], str]], str]


def _closure(fn: Callable[..., Any]) -> dict[str, Any]:
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None) or ()
    if code is None:
        return {}
    return {name: cell.cell_contents for name, cell in zip(code.co_freevars, cells, strict=False)}


def _path_keys(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """The keys of a ``schema.path(...)`` getter (``ref`` is one too), else None."""
    if getattr(fn, "__qualname__", "") != "path.<locals>.get":
        return None
    keys = _closure(fn).get("keys")
    return tuple(keys) if isinstance(keys, tuple) and keys else None


def _text(v: str) -> str:
    return f"nullif({v}, '')"


def _ts_sql(v: str) -> str:
    t = _text(v)
    return (
        f"CASE WHEN {t} IS NULL THEN NULL "
        rf"WHEN regexp_matches({t}, '(Z|[+-]\d\d:?\d\d)$') THEN TRY_CAST({t} AS TIMESTAMPTZ) "
        f"ELSE TRY_CAST({t} AS TIMESTAMP) AT TIME ZONE 'UTC' END"
    )


def _typed_sql(v: str, sql_type: str) -> str:
    """A JSON value read as text, coerced to ``sql_type`` the way the store expects."""
    upper = sql_type.upper()
    if upper == "VARCHAR":
        return _text(v)
    if upper in ("BIGINT", "INTEGER"):
        return f"TRY_CAST(trunc(TRY_CAST({_text(v)} AS DECIMAL(38,9))) AS {upper})"
    if upper.startswith("DECIMAL"):
        return f"TRY_CAST({_text(v)} AS {sql_type})"
    if upper == "BOOLEAN":
        return f"CASE WHEN {_text(v)} IS NULL THEN NULL ELSE lower({v}) = 'true' END"
    if upper == "DATE":
        return f"TRY_CAST(substr({_text(v)}, 1, 10) AS DATE)"
    if upper == "TIMESTAMPTZ":
        return _ts_sql(v)
    return f"TRY_CAST({_text(v)} AS {sql_type})"


def _amount(v: str) -> str:
    """``Decimal(str(x or 0))`` to the cent."""
    return f"coalesce(TRY_CAST({_text(v)} AS DECIMAL(18,2)), 0::DECIMAL(18,2))"


def _lines(col: Callable[[tuple[str, ...]], str]) -> str:
    return f"coalesce({col(('Line',))}, [])"


def _voided(col: Callable[[tuple[str, ...]], str]) -> str:
    note, total = col(("PrivateNote",)), col(("TotalAmt",))
    return (
        f"(starts_with(lower(coalesce({note}, '')), 'voided') "
        f"AND coalesce(TRY_CAST({_text(total)} AS DECIMAL(38,10)), 0) = 0)"
    )


def _linked(col: Callable[[tuple[str, ...]], str]) -> str:
    return (
        f"flatten(list_transform({_lines(col)}, lambda l: "
        "list_transform(coalesce(l.LinkedTxn, []), "
        f"lambda k: {{'txn_id': coalesce(k.TxnId, 'None'), 'txn_type': k.TxnType, "
        f"'amount': {_amount('l.Amount')}}})))"
    )


def _je_lines(col: Callable[[tuple[str, ...]], str]) -> str:
    return (
        f"list_transform({_lines(col)}, lambda l: {{"
        "'posting_type': l.JournalEntryLineDetail.PostingType, "
        "'account_id': l.JournalEntryLineDetail.AccountRef.value, "
        f"'amount': {_amount('l.Amount')}, "
        "'entity_type': l.JournalEntryLineDetail.Entity.Type, "
        "'entity_id': l.JournalEntryLineDetail.Entity.EntityRef.value, "
        "'description': l.Description})"
    )


def _expense_lines(col: Callable[[tuple[str, ...]], str]) -> str:
    return (
        f"list_transform({_lines(col)}, lambda l: {{'account_id': "
        "l.AccountBasedExpenseLineDetail.AccountRef.value, "
        f"'amount': {_amount('l.Amount')}, 'description': l.Description}})"
    )


_LINE_SHAPE = {
    "Amount": "VARCHAR",
    "Description": "VARCHAR",
    "LinkedTxn": [{"TxnId": "VARCHAR", "TxnType": "VARCHAR"}],
    "JournalEntryLineDetail": {
        "PostingType": "VARCHAR",
        "AccountRef": {"value": "VARCHAR"},
        "Entity": {"Type": "VARCHAR", "EntityRef": {"value": "VARCHAR"}},
    },
    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "VARCHAR"}},
}

# named helpers of schema.py with their SQL twins: (paths read, SQL)
_TWINS: dict[Callable[..., Any], _Plan] = {
    schema.currency: _Plan((("CurrencyRef", "value"),), lambda col: col(("CurrencyRef", "value"))),
    schema.is_voided: _Plan((("PrivateNote",), ("TotalAmt",)), _voided),
    schema.linked: _Plan((("Line",),), _linked),
    schema.je_lines: _Plan((("Line",),), _je_lines),
    schema.expense_lines: _Plan((("Line",),), _expense_lines),
}


def plan_column(column: schema.Column) -> _Plan | None:
    """The SQL plan of a column's extractor, or None (computed per row in Python instead)."""
    fn, sql_type = column.extract, column.sql_type
    twin = _TWINS.get(fn)
    if twin is not None:
        return _Plan(twin.paths, lambda col: f"CAST({twin.sql(col)} AS {sql_type})")
    keys = _path_keys(fn)
    if keys is not None:
        return _Plan((keys,), lambda col: _typed_sql(col(keys), sql_type))
    kind = getattr(fn, "__qualname__", "")
    inner = _closure(fn).get("get")
    inner_keys = _path_keys(inner) if callable(inner) else None
    if inner_keys is None:
        return None
    if kind == "money.<locals>.conv":
        # money() quantises to the cent first, then the column type applies
        return _Plan(
            (inner_keys,),
            lambda col: f"CAST(TRY_CAST({_text(col(inner_keys))} AS DECIMAL(18,2)) AS {sql_type})",
        )
    if kind == "as_date.<locals>.conv":
        return _Plan((inner_keys,), lambda col: _typed_sql(col(inner_keys), "DATE"))
    if kind == "as_ts.<locals>.<lambda>":
        return _Plan((inner_keys,), lambda col: _typed_sql(col(inner_keys), "TIMESTAMPTZ"))
    if kind == "as_bool.<locals>.conv":
        default = _closure(fn).get("default")
        fallback = "NULL" if default is None else ("TRUE" if default else "FALSE")
        return _Plan(
            (inner_keys,),
            lambda col: (
                f"CASE WHEN {_text(col(inner_keys))} IS NULL THEN {fallback}::BOOLEAN "
                f"ELSE lower({col(inner_keys)}) = 'true' END"
            ),
        )
    return None


def _merge(tree: dict[str, Any], keys: tuple[str, ...], leaf: Any) -> bool:
    """Add a path to a from_json structure; False when it clashes with what is there."""
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return False
        node = child
    last = keys[-1]
    if last in node:
        return node[last] == leaf or (isinstance(node[last], dict) and isinstance(leaf, dict))
    node[last] = leaf
    return True


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class _EntityPlan:
    structure: str  # from_json structure of a document (JSON text)
    selects: tuple[str, ...]  # typed columns, in log order, each "expr AS name"
    python_columns: tuple[schema.Column, ...]  # extractors without a SQL twin


_plans: dict[str, _EntityPlan] = {}


def entity_plan(spec: EntitySpec) -> _EntityPlan:
    """Derived once per entity from schema.py (cached)."""
    cached = _plans.get(spec.qbo_name)
    if cached is not None:
        return cached
    tree: dict[str, Any] = {
        "Id": "VARCHAR",
        "SyncToken": "VARCHAR",
        "MetaData": {"CreateTime": "VARCHAR", "LastUpdatedTime": "VARCHAR"},
    }
    planned: dict[str, _Plan] = {}
    python_columns: list[schema.Column] = []
    for column in spec.columns:
        plan = plan_column(column)
        ok = plan is not None
        if plan is not None:
            for keys in plan.paths:
                leaf: Any = [_LINE_SHAPE] if keys == ("Line",) else "VARCHAR"
                ok = ok and _merge(tree, keys, leaf)
        if ok and plan is not None:
            planned[column.name] = plan
        else:
            python_columns.append(column)

    def col(keys: tuple[str, ...]) -> str:
        return "j." + ".".join(_quote(k) for k in keys)

    selects = [
        "CAST($realm AS VARCHAR) AS realm_id",
        f"CAST({col(('Id',))} AS VARCHAR) AS id",
        f"coalesce(TRY_CAST({_text(col(('SyncToken',)))} AS BIGINT), 0) AS sync_token",
        "'upsert' AS op",
        f"{_ts_sql(col(('MetaData', 'CreateTime')))} AS source_created_at",
        f"{_ts_sql(col(('MetaData', 'LastUpdatedTime')))} AS source_updated_at",
        "CAST($ingested_at AS TIMESTAMPTZ) AS ingested_at",
        "CAST($run_id AS BIGINT) AS sync_run_id",
    ]
    python_names = {c.name for c in python_columns}
    for column in spec.columns:
        if column.name in python_names:
            selects.append(
                f"CAST(x.{_quote(column.name)} AS {column.sql_type}) AS {_quote(column.name)}"
            )
        else:
            selects.append(f"{planned[column.name].sql(col)} AS {_quote(column.name)}")
    selects += ["CAST(d AS VARCHAR) AS raw", "CAST($source AS VARCHAR) AS source"]
    made = _EntityPlan(orjson.dumps(tree).decode(), tuple(selects), tuple(python_columns))
    _plans[spec.qbo_name] = made
    return made


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a column")


def _python_structure(columns: tuple[schema.Column, ...]) -> str:
    return orjson.dumps({c.name: json_structure(c.sql_type) for c in columns}).decode()


def versions_select(
    spec: EntitySpec,
    realm_id: str,
    docs: list[Doc] | Page,
    *,
    ingested_at: datetime,
    run_id: int,
    source: str = "sync",
) -> tuple[str, dict[str, Any]]:
    """A SELECT (and its parameters) giving one typed row per document (``log_<table>``
    columns) of ``docs``: parsed documents, or a query ``Page`` whose documents' JSON texts, as
    the client's scan of the answer left them (``sync.rawpages``), DuckDB reads here without
    Python ever parsing them. Deleted stubs are not filtered out: see ``stage_tombstones``."""
    plan = entity_plan(spec)
    params: dict[str, Any] = {
        "realm": realm_id,
        "ingested_at": ingested_at,
        "run_id": run_id,
        "source": source,
    }
    if plan.python_columns:
        listed = docs.docs() if isinstance(docs, Page) else docs
        wrapped = [
            {"d": doc, "x": {c.name: c.extract(doc) for c in plan.python_columns}} for doc in listed
        ]
        params["page"] = orjson.dumps(wrapped, default=_json_default).decode()
        elements = (
            "SELECT json_extract(e, '$.d') AS d, "
            f"from_json(json_extract(e, '$.x'), '{_python_structure(plan.python_columns)}') AS x "
            "FROM (SELECT unnest(from_json($page::JSON, '[\"JSON\"]')) AS e)"
        )
    elif isinstance(docs, Page):
        return pages_select(spec, [PagePart(realm_id, run_id, ingested_at, source, docs.texts)])
    else:
        params["page"] = orjson.dumps(docs).decode()
        elements = "SELECT unnest(from_json($page::JSON, '[\"JSON\"]')) AS d"
    structure = plan.structure.replace("'", "''")
    sql = (
        f"SELECT {', '.join(plan.selects)} "
        f"FROM (SELECT *, from_json(d, '{structure}') AS j FROM ({elements}))"
    )
    return sql, params


@dataclass(frozen=True)
class PagePart:
    """One query page of a ``pages_select``, with what its rows carry besides the document."""

    realm_id: str
    run_id: int
    ingested_at: datetime
    source: str
    texts: list[str]
    # or, for a connection of the scans' DuckDB instance, where the client's scan staged the
    # documents (``rawpages.Page.source``: table, answer, item): ``texts`` is then unused
    staged: tuple[str, int, int] | None = None


# the columns a page's rows share, each a parameter of ``entity_plan``'s selects
_PAGE_CONSTANTS = (
    ("realm", "realm_id"),
    ("run_id", "run_id"),
    ("ingested_at", "ingested_at"),
    ("source", "source"),
)


def pages_select(spec: EntitySpec, parts: Sequence[PagePart]) -> tuple[str, dict[str, Any]]:
    """``versions_select`` of several query pages of one entity at once — of several companies
    and runs: DuckDB spends a fixed 5-9 ms binding and optimising each statement, more than it
    takes to type a small page. A value shared by every page stays a constant; one that differs
    (the realm, the run...) is a list indexed by each document's page number ``p``. Pages whose
    parts are all ``staged`` are read where the client's scan left them (a connection of the
    scans' instance only), otherwise from their texts as a list parameter. The entity's
    columns must all have SQL twins (no ``python_columns``)."""
    plan = entity_plan(spec)
    if plan.python_columns:
        raise ValueError(f"{spec.qbo_name}: columns computed in Python, not a pages_select")
    staged = [part.staged for part in parts]
    params: dict[str, Any] = {}
    if not parts or None in staged:
        params["docs"] = [text for part in parts for text in part.texts]
    selects = list(plan.selects)
    varying = False
    for name, attribute in _PAGE_CONSTANTS:
        values = [getattr(part, attribute) for part in parts]
        if all(value == values[0] for value in values):
            params[name] = values[0] if values else None
            continue
        varying = True
        params[name] = values
        selects = [
            s.replace(f"CAST(${name} AS", f"CAST(list_extract(${name}, p) AS") for s in selects
        ]
    if "docs" not in params:  # each page read where it is staged, numbered p = 1, 2...
        elements = _staged_elements([s for s in staged if s is not None])
    else:
        elements = "SELECT unnest($docs::VARCHAR[]) AS d"
        if varying:
            params["page"] = [n for n, part in enumerate(parts, 1) for _ in part.texts]
            elements += ", unnest($page::INTEGER[]) AS p"
    structure = entity_plan(spec).structure.replace("'", "''")
    sql = (
        f"SELECT {', '.join(selects)} "
        f"FROM (SELECT *, from_json(d, '{structure}') AS j FROM ({elements}))"
    )
    return sql, params


def _staged_elements(staged: list[tuple[str, int, int]]) -> str:
    """The documents ``d`` of staged pages with their page number ``p``: one scan per stage
    table (a page's row picked by a join on (answer, item)), not one per page — a scan costs
    DuckDB ~0.35 ms to plan in each statement."""
    by_table: dict[str, list[tuple[int, int, int]]] = {}
    for p, (table, answer, item) in enumerate(staged, 1):
        by_table.setdefault(table, []).append((int(answer), int(item), p))
    scans = []
    for table, rows in by_table.items():
        if len(rows) == 1:  # a filter alone is cheaper than a join
            ((answer, item, p),) = rows
            scans.append(
                f"SELECT docs, {p} AS p FROM {table} WHERE answer = {answer} AND n = {item}"
            )
            continue
        answers = ", ".join(str(a) for a in sorted({answer for answer, _, _ in rows}))
        values = ", ".join(f"({answer}, {item}, {p})" for answer, item, p in rows)
        scans.append(
            f"SELECT t.docs, v.p FROM {table} t JOIN (VALUES {values}) v(answer, n, p) "
            f"USING (answer, n) WHERE t.answer IN ({answers})"
        )
    return f"SELECT unnest(docs) AS d, p FROM ({' UNION ALL '.join(scans)})"


def stage_versions(
    con: duckdb.DuckDBPyConnection,
    name: str,
    spec: EntitySpec,
    realm_id: str,
    docs: list[Doc] | Page,
    *,
    ingested_at: datetime,
    run_id: int,
    source: str = "sync",
) -> None:
    """Make temp table ``name`` holding ``versions_select``'s rows. Drop it with ``unstage``."""
    sql, params = versions_select(
        spec, realm_id, docs, ingested_at=ingested_at, run_id=run_id, source=source
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)


def stage_tombstones(
    con: duckdb.DuckDBPyConnection,
    name: str,
    spec: EntitySpec,
    realm_id: str,
    stubs: list[Doc],
    *,
    ingested_at: datetime,
    run_id: int,
    deleted_at: datetime | None = None,
    source: str = "sync",
) -> None:
    """Temp table ``name``: deleted stubs as rows with only the common columns (``sync_token``
    is filled in at write time from the latest stored version)."""
    slim = [
        {
            "domain": "QBO",
            "status": "Deleted",
            "Id": str(stub["Id"]),
            "MetaData": stub.get("MetaData") or {},
        }
        for stub in stubs
    ]
    typed = ", ".join(
        f"CAST(NULL AS {sql}) AS {_quote(col)}" for col, sql in log_columns(spec)[8:-2]
    )
    updated = _ts_sql("j.MetaData.LastUpdatedTime")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT CAST($realm AS VARCHAR) AS realm_id, "
        "CAST(j.Id AS VARCHAR) AS id, CAST(NULL AS BIGINT) AS sync_token, 'delete' AS op, "
        "CAST(NULL AS TIMESTAMPTZ) AS source_created_at, "
        f"coalesce({updated}, CAST($deleted_at AS TIMESTAMPTZ), CAST($ingested_at AS TIMESTAMPTZ)) "
        "AS source_updated_at, CAST($ingested_at AS TIMESTAMPTZ) AS ingested_at, "
        f"CAST($run_id AS BIGINT) AS sync_run_id{', ' + typed if typed else ''}, "
        "CAST(d AS VARCHAR) AS raw, CAST($source AS VARCHAR) AS source FROM ("
        'SELECT d, from_json(d, \'{"Id": "VARCHAR", "MetaData": {"LastUpdatedTime": '
        '"VARCHAR"}}\') AS j FROM (SELECT unnest(from_json($page::JSON, \'["JSON"]\')) AS d))',
        {
            "realm": realm_id,
            "page": orjson.dumps(slim).decode(),
            "deleted_at": deleted_at,
            "ingested_at": ingested_at,
            "run_id": run_id,
            "source": source,
        },
    )


def unstage(con: duckdb.DuckDBPyConnection, name: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {name}")
