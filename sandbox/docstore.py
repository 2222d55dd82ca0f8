"""Row-level access to stored documents: read, insert, update (with history), delete, query, CDC.

Every function takes an open connection, so callers decide the transaction. Queries are SQL over
the ``docs`` table (indexed by (realm, entity, id) and (realm, entity, updated_at)); nothing loads
a whole realm into Python.

Read lag (fault injection): with a cutoff, a query sees each document as it was at the cutoff:
the current row if it was written before, else the newest earlier version kept in ``history``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from sandbox import timeutil
from sandbox.query import Query, order_sql, where_sql
from sandbox.state import dumps, loads

Doc = dict[str, Any]


@dataclass
class Stored:
    doc: Doc
    sync_token: int
    updated_at: float
    deleted: bool


def install_functions(conn: sqlite3.Connection) -> None:
    """SQL helpers the query translation uses (idempotent per connection)."""
    conn.create_function("qbo_ts", 1, _qbo_ts, deterministic=True)


def _qbo_ts(value: Any) -> float | None:
    if not value:
        return None
    try:
        return timeutil.parse_timestamp(str(value), None)
    except ValueError:
        return None


def get(conn: sqlite3.Connection, realm: str, entity: str, doc_id: str | int) -> Stored | None:
    try:
        key = int(doc_id)
    except (TypeError, ValueError):
        return None
    row = conn.execute(
        "SELECT doc, sync_token, updated_at, deleted FROM docs "
        "WHERE realm_id = ? AND entity = ? AND id = ?",
        (realm, entity, key),
    ).fetchone()
    if row is None:
        return None
    return Stored(loads(row[0]), row[1], row[2], bool(row[3]))


def get_live(conn: sqlite3.Connection, realm: str, entity: str, doc_id: str | int) -> Doc | None:
    stored = get(conn, realm, entity, doc_id)
    return None if stored is None or stored.deleted else stored.doc


def insert(conn: sqlite3.Connection, realm: str, entity: str, doc: Doc, now: float) -> None:
    conn.execute(
        "INSERT INTO docs (realm_id, entity, id, sync_token, updated_at, deleted, doc) "
        "VALUES (?, ?, ?, ?, ?, 0, ?)",
        (realm, entity, int(doc["Id"]), int(doc["SyncToken"]), now, dumps(doc)),
    )


def _keep_history(conn: sqlite3.Connection, realm: str, entity: str, doc_id: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO history "
        "(realm_id, entity, id, sync_token, updated_at, deleted, doc) "
        "SELECT realm_id, entity, id, sync_token, updated_at, deleted, doc FROM docs "
        "WHERE realm_id = ? AND entity = ? AND id = ?",
        (realm, entity, doc_id),
    )


def replace(
    conn: sqlite3.Connection, realm: str, entity: str, doc: Doc, now: float, tz: str
) -> Doc:
    """Store a new version: SyncToken + 1, LastUpdatedTime = now.

    The old version goes to history."""
    doc_id = int(doc["Id"])
    current = get(conn, realm, entity, doc_id)
    if current is None:
        raise KeyError(f"{entity} {doc_id} does not exist")
    _keep_history(conn, realm, entity, doc_id)
    token = current.sync_token + 1
    meta = dict(doc.get("MetaData") or current.doc.get("MetaData") or {})
    meta["LastUpdatedTime"] = timeutil.stamp(now, tz)
    doc = {**doc, "SyncToken": str(token), "MetaData": meta}
    conn.execute(
        "UPDATE docs SET sync_token = ?, updated_at = ?, deleted = 0, doc = ? "
        "WHERE realm_id = ? AND entity = ? AND id = ?",
        (token, max(now, current.updated_at), dumps(doc), realm, entity, doc_id),
    )
    return doc


def mark_deleted(
    conn: sqlite3.Connection, realm: str, entity: str, doc_id: int, now: float
) -> None:
    _keep_history(conn, realm, entity, doc_id)
    conn.execute(
        "UPDATE docs SET deleted = 1, sync_token = sync_token + 1, updated_at = max(updated_at, ?) "
        "WHERE realm_id = ? AND entity = ? AND id = ?",
        (now, realm, entity, doc_id),
    )


def _source(realm: str, entity: str, cutoff: float | None) -> tuple[str, list[Any]]:
    """The rows a reader may see: all current rows, or (read lag) each document as of ``cutoff``."""
    if cutoff is None:
        return (
            "SELECT id, doc, updated_at, deleted, sync_token FROM docs "
            "WHERE realm_id = ? AND entity = ?",
            [realm, entity],
        )
    sql = (
        "SELECT id, doc, updated_at, deleted, sync_token FROM docs "
        "WHERE realm_id = ? AND entity = ? AND updated_at <= ? "
        "UNION ALL "
        "SELECT h.id, h.doc, h.updated_at, h.deleted, h.sync_token FROM history h "
        "JOIN docs c ON c.realm_id = h.realm_id AND c.entity = h.entity AND c.id = h.id "
        "WHERE h.realm_id = ? AND h.entity = ? AND c.updated_at > ? AND h.sync_token = ("
        "  SELECT max(h2.sync_token) FROM history h2 "
        "WHERE h2.realm_id = h.realm_id AND h2.entity = h.entity "
        "  AND h2.id = h.id AND h2.updated_at <= ?)"
    )
    return sql, [realm, entity, cutoff, realm, entity, cutoff, cutoff]


def run_query(
    conn: sqlite3.Connection, realm: str, query: Query, tz: str, cutoff: float | None = None
) -> list[Doc] | int:
    """Documents of one page, or the count for COUNT(*)."""
    install_functions(conn)
    source, params = _source(realm, query.entity, cutoff)
    where, where_params = where_sql(query, tz)
    base = f"FROM ({source}) d WHERE d.deleted = 0 AND {where}"
    if query.count:
        return int(conn.execute(f"SELECT count(*) {base}", [*params, *where_params]).fetchone()[0])
    sql = f"SELECT d.doc {base} ORDER BY {order_sql(query)} LIMIT ? OFFSET ?"
    rows = conn.execute(
        sql, [*params, *where_params, query.max_results, query.start - 1]
    ).fetchall()
    return [loads(row[0]) for row in rows]


def changed_since(
    conn: sqlite3.Connection,
    realm: str,
    entities: list[str],
    since: float,
    limit: int,
    cutoff: float | None = None,
) -> list[tuple[str, Stored]]:
    """(entity, version) for every document changed at or after ``since``.

    Oldest first, at most ``limit``."""
    out: list[tuple[str, Stored]] = []
    for entity in entities:
        source, params = _source(realm, entity, cutoff)
        rows = conn.execute(
            f"SELECT d.doc, d.sync_token, d.updated_at, d.deleted FROM ({source}) d "
            "WHERE d.updated_at >= ? "
            "ORDER BY d.updated_at, d.id LIMIT ?",
            [*params, since, limit],
        ).fetchall()
        out.extend((entity, Stored(loads(r[0]), r[1], r[2], bool(r[3]))) for r in rows)
    out.sort(key=lambda item: item[1].updated_at)
    return out[:limit]


def name_taken(
    conn: sqlite3.Connection,
    realm: str,
    entities: tuple[str, ...],
    name: str,
    except_id: int | None,
) -> bool:
    """DisplayName already used (case-insensitive) by another live Customer/Vendor/Employee."""
    marks = ", ".join("?" * len(entities))
    row = conn.execute(
        f"SELECT 1 FROM docs WHERE realm_id = ? AND entity IN ({marks}) AND deleted = 0 "
        "AND lower(json_extract(doc, '$.DisplayName')) = lower(?) AND NOT (id = ? ) LIMIT 1",
        (realm, *entities, name, except_id if except_id is not None else -1),
    ).fetchone()
    return row is not None


def docnumber_taken(
    conn: sqlite3.Connection, realm: str, entity: str, number: str, except_id: int | None
) -> bool:
    row = conn.execute(
        "SELECT 1 FROM docs WHERE realm_id = ? AND entity = ? AND deleted = 0 "
        "AND json_extract(doc, '$.DocNumber') = ? AND id != ? LIMIT 1",
        (realm, entity, number, except_id if except_id is not None else -1),
    ).fetchone()
    return row is not None


def next_docnumber(conn: sqlite3.Connection, realm: str, entity: str) -> str:
    row = conn.execute(
        "SELECT max(CAST(json_extract(doc, '$.DocNumber') AS INTEGER)) FROM docs "
        "WHERE realm_id = ? AND entity = ?",
        (realm, entity),
    ).fetchone()
    return str(max(int(row[0] or 0), 1000) + 1)


def docs_where(
    conn: sqlite3.Connection, realm: str, entity: str, condition: str, params: list[Any]
) -> list[Doc]:
    """Live documents of one entity matching a SQL condition on alias ``d`` (reports use this)."""
    rows = conn.execute(
        "SELECT d.doc FROM docs d WHERE d.realm_id = ? AND d.entity = ? AND d.deleted = 0 "
        f"AND {condition}",
        [realm, entity, *params],
    ).fetchall()
    return [loads(row[0]) for row in rows]
