"""Query answers read once, by DuckDB, never turned into Python documents on the sync path.

A 1000-document page parsed by ``orjson`` costs as much as typing it, so the client no longer
parses query and batch answers itself: one DuckDB statement per HTTP answer (an in-memory
connection per thread) splits it into its pages and returns, per page, the documents' JSON text
(handed as is to the store, which types it with ``from_json``) and the little the client pages
on — the number of documents, each one's ``MetaData.LastUpdatedTime`` and store key
(Id, SyncToken: does one repeat, within the page or across the pages the store writes in one
statement?), how many deleted stubs it holds — plus each batch item's fault.
Answers of any other shape (a lowercase ``fault`` envelope, no ``QueryResponse``) go through
the Python parse and the original helpers, so the semantics stay those of ``rows_of`` and
``batch_item_rows``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson

from sync.errors import QBOError, TransientError
from sync.retry import error_from_fault

Doc = dict[str, Any]

_ITEM = '{"bId": "VARCHAR", "Fault": "JSON", "QueryResponse": "MAP(VARCHAR, JSON[])"}'
_KEYS = (
    '{"Id": "VARCHAR", "SyncToken": "VARCHAR", "status": "VARCHAR", '
    '"MetaData": {"LastUpdatedTime": "VARCHAR"}}'
)
# the store's key is (Id as text, SyncToken typed like frames' sync_token column)
_TOKEN = "coalesce(TRY_CAST(nullif(r.SyncToken, '') AS BIGINT), 0)"
# QueryResponse's members read as lists of documents: its list-valued one (``rows_of``) is the
# only one that is not NULL (startPosition, maxResults... are not lists)
_SCAN = f"""
SELECT i.bId, i.Fault, i.QueryResponse IS NULL, e.value, len(k),
       list_transform(k, lambda r: r.MetaData.LastUpdatedTime),
       list_transform(k, lambda r: r.Id || ':' || {_TOKEN}::VARCHAR),
       len(list_filter(k, lambda r: lower(r.status) = 'deleted'))
FROM (SELECT i, e, list_transform(e.value, lambda d: from_json(d, '{_KEYS}')) AS k
      FROM (SELECT i, list_filter(map_entries(i.QueryResponse),
                                  lambda x: x.value IS NOT NULL)[1] AS e
            FROM ({{items}})))
"""
# the body goes in as bytes, made text by DuckDB (``decode``: UTF-8, checked) rather than by
# Python, which would copy a 6 MB answer once more
_QUERY_SCAN = _SCAN.replace("{items}", f"SELECT from_json(decode($body), '{_ITEM}') AS i")
_BATCH_SCAN = _SCAN.replace(
    "{items}",
    "SELECT unnest(from_json(decode($body), "
    f"'{{\"BatchItemResponse\": [{_ITEM}]}}').BatchItemResponse) AS i",
)


@dataclass
class Page:
    """One query page: each document as JSON text, and what paging needs to know of them."""

    texts: list[str]  # the documents, each as DuckDB re-serialised it (minified JSON)
    count: int
    stamps: list[str | None]  # each document's MetaData.LastUpdatedTime, in order
    unique: bool  # no (Id, SyncToken) twice: the store may skip its within-page dedupe
    stubs: int  # deleted stubs (``status: Deleted``) among the documents
    # each document's store key "Id:SyncToken" (None without an Id); empty when not scanned
    # (``of``: such a page is never ``unique``)
    keys: list[str | None] = field(default_factory=list, repr=False)
    _docs: list[Doc] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, docs: list[Doc]) -> Page:
        """A page of documents already parsed (odd answers, tests). Its ``unique`` is False:
        the store then dedupes within the page as it always did."""
        return cls(
            texts=[orjson.dumps(d).decode() for d in docs],
            count=len(docs),
            stamps=[(d.get("MetaData") or {}).get("LastUpdatedTime") for d in docs],
            unique=False,
            stubs=sum(1 for d in docs if str(d.get("status", "")).lower() == "deleted"),
            _docs=docs,
        )

    def docs(self) -> list[Doc]:
        """The documents as Python objects (parsed on first use: Id listings, CompanyInfo)."""
        if self._docs is None:
            self._docs = orjson.loads("[" + ",".join(self.texts) + "]")
        return self._docs

    def __len__(self) -> int:
        return self.count


_local = threading.local()
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()


def _scanner() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on one in-memory database (DuckDB connections are not shared
    between threads)."""
    global _database
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        with _database_lock:
            if _database is None:
                # one thread: the fetch threads are the parallelism; DuckDB's own pool on a
                # page-sized scan only adds CPU (measured: bench.sync's ingest)
                _database = duckdb.connect(":memory:", config={"threads": 1})
            con = _database.cursor()
        _local.con = con
    return con


def _scan(sql: str, body: bytes, realm_id: str | None) -> list[tuple[Any, ...]]:
    try:
        return _scanner().execute(sql, {"body": body or b"{}"}).fetchall()
    except duckdb.Error:  # not JSON, not UTF-8 (decode checks it)
        raise TransientError("query: unreadable answer", realm_id=realm_id) from None


def _page(row: tuple[Any, ...]) -> Page:
    _bid, _fault, _no_response, texts, count, stamps, keys, stubs = row
    keys = list(keys or [])
    return Page(
        texts=list(texts or []),
        count=count or 0,
        stamps=list(stamps or []),
        unique=None not in keys and len(set(keys)) == len(keys),
        stubs=stubs or 0,
        keys=keys,
    )


def query_page(body: bytes, realm_id: str | None) -> Page:
    """The page of a ``/query`` answer (``rows_of`` of its ``QueryResponse``)."""
    (row,) = _scan(_QUERY_SCAN, body, realm_id)
    if row[2]:  # no QueryResponse: whatever it is, the Python reading decides
        parsed = orjson.loads(body) if body else {}
        return Page.of(rows_of((parsed or {}).get("QueryResponse") or {}))
    return _page(row)


def batch_pages(body: bytes, bids: list[str], realm_id: str) -> list[Page | QBOError]:
    """Per requested ``bId``, in request order: its page, or its fault as a typed error (not
    raised: the caller asks a faulted item again on its own)."""
    by_id: dict[str, tuple[Any, ...]] = {}
    odd = False
    for row in _scan(_BATCH_SCAN, body, realm_id):
        by_id[str(row[0])] = row
        odd = odd or (row[1] is None and row[2])
    if odd:  # an item with neither a QueryResponse nor a Fault: read it the Python way
        items = {str(i.get("bId")): i for i in orjson.loads(body).get("BatchItemResponse") or []}
        out: list[Page | QBOError] = []
        for bid in bids:
            try:
                out.append(Page.of(batch_item_rows(items.get(bid) or _missing(), realm_id)))
            except QBOError as err:
                out.append(err)
        return out
    pages: list[Page | QBOError] = []
    for bid in bids:
        answer = by_id.get(bid)
        if answer is None:
            pages.append(error_from_fault(_missing(), None, realm_id, f"batch item {bid}"))
        elif answer[1] is not None:
            fault = {"Fault": orjson.loads(answer[1])}
            pages.append(error_from_fault(fault, None, realm_id, f"batch item {bid}"))
        else:
            pages.append(_page(answer))
    return pages


def rows_of(query_response: Doc) -> list[Doc]:
    """The documents in one ``QueryResponse`` (skipping startPosition/maxResults/totalCount)."""
    for _key, value in query_response.items():
        if isinstance(value, list):
            return value
    return []


def batch_item_rows(item: Doc, realm_id: str) -> list[Doc]:
    """Rows of one batch query item, or its fault raised as a typed error."""
    if "Fault" in item or "fault" in item:
        raise error_from_fault(item, None, realm_id, f"batch item {item.get('bId')}")
    return rows_of(item.get("QueryResponse") or {})


def _missing() -> Doc:
    return {"Fault": {"Error": [{"Message": "missing batch answer"}]}}
