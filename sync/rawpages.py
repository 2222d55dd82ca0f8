"""Query answers read once, by DuckDB, never turned into Python documents on the sync path.

A 1000-document page parsed by ``orjson`` costs as much as typing it, so the client no longer
parses query and batch answers itself: one DuckDB statement per HTTP answer splits it into its
pages, keeps each page's documents, as JSON texts, in a table of the process's one in-memory
DuckDB instance (the answer's *stage*) and returns, per page, the little the client pages on —
the number of documents, each one's ``MetaData.LastUpdatedTime``, whether a store key (Id,
SyncToken) repeats in it, how many deleted stubs it holds — plus each batch item's fault.

The warehouse file is written in that same instance (``open_file``: the coalescing writer's
slice attaches the file to it), so the writer types a page's documents straight from its stage
(``Page.source``) — 6 MB of texts never travel through Python strings into another instance
and back. A page's texts are read into Python only when something asks for them (``texts``,
``docs``: Id listings, CompanyInfo, a connection of another instance), its keys when the
store asks. Answers are staged together in tables of ``GENERATION_BYTES``, each dropped once
full and no page refers to any of its answers.
Answers of any other shape (a lowercase ``fault`` envelope, no ``QueryResponse``) go through
the Python parse and the original helpers, so the semantics stay those of ``rows_of`` and
``batch_item_rows``."""

from __future__ import annotations

import contextlib
import itertools
import struct
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import orjson

from sync.errors import QBOError, TransientError
from sync.retry import error_from_fault

if TYPE_CHECKING:
    import pyarrow as pa

Doc = dict[str, Any]
Staged = tuple[str, int, int]  # a staged page: (table, answer, item)

_ITEM = '{"bId": "VARCHAR", "Fault": "JSON", "QueryResponse": "MAP(VARCHAR, JSON[])"}'
# what the client reads of each document, typed as the store reads them (a second reading of
# the answer: cheaper than parsing every document's text again)
_KEYS = (
    "STRUCT(Id VARCHAR, SyncToken VARCHAR, status VARCHAR, "
    "MetaData STRUCT(LastUpdatedTime VARCHAR))[]"
)
_ITEM_KEYS = f'{{"QueryResponse": "MAP(VARCHAR, {_KEYS})"}}'
# each document's store key "Id:SyncToken": (Id as text, SyncToken typed like frames'
# sync_token column); NULL without an Id (list_distinct leaves it out: such a page is not unique)
_KEY = (
    "list_transform(k, lambda r: "
    "r.Id || ':' || coalesce(TRY_CAST(nullif(r.SyncToken, '') AS BIGINT), 0)::VARCHAR)"
)
# An answer's items, numbered n = 1, 2... in answer order. The body is scanned from an Arrow
# array over the bytes as received (``_answer``: no copy) and made text by DuckDB (``decode``:
# UTF-8, checked): as a parameter it was copied, as a constant of the plan, several times over
# (measured: 4-7 ms and ~2,500 page faults less for the three 1000-document answers of one
# company at scale 8)
_QUERY_ITEMS = (
    f"SELECT from_json(b, '{_ITEM}') AS i, from_json(b, '{_ITEM_KEYS}') AS j, 1 AS n "
    "FROM (SELECT decode(body) AS b FROM @answer)"
)
_BATCH_ITEMS = (
    "SELECT unnest(r) AS i, unnest(rk) AS j, unnest(range(1, len(r) + 1)) AS n FROM ("
    f"SELECT from_json(b, '{{\"BatchItemResponse\": [{_ITEM}]}}').BatchItemResponse AS r, "
    f"from_json(b, '{{\"BatchItemResponse\": [{_ITEM_KEYS}]}}').BatchItemResponse AS rk "
    "FROM (SELECT decode(body) AS b FROM @answer))"
)
# the stage: per item of an answer, its fault and its documents. QueryResponse's members read
# as lists of documents: its list-valued one (``rows_of``) is the only one that is not NULL
# (startPosition, maxResults... are not lists)
_TABLE = (
    "CREATE TABLE @table (answer BIGINT, n BIGINT, bid VARCHAR, fault JSON, "
    f"no_response BOOLEAN, docs JSON[], k {_KEYS})"
)
# staged, and what the client needs of each item returned by the same statement (k: each
# document's _KEYS, from the same QueryResponse member as its text)
_STAGE = f"""INSERT INTO @table
SELECT $answer, n, i.bId, i.Fault, i.QueryResponse IS NULL, e.value, j.QueryResponse[e.key]
FROM (SELECT *, list_filter(map_entries(i.QueryResponse), lambda x: x.value IS NOT NULL)[1]
                AS e
      FROM (@items))
RETURNING n, bid, fault, no_response, len(docs),
          list_transform(k, lambda r: r.MetaData.LastUpdatedTime),
          coalesce(len(list_distinct({_KEY})) = len(k), true),
          len(list_filter(k, lambda r: lower(r.status) = 'deleted'))"""


# ---- the process's DuckDB instance: the answers' stages and the warehouse's write slices ----
_local = threading.local()
_database: duckdb.DuckDBPyConnection | None = None
_catalog = "memory"  # the instance's own (in-memory) database, where stages live
# guards the instance's creation, _attached, the generations and _retired (re-entrant: a
# stage's finalizer may run, by garbage collection, while its thread holds it)
_lock = threading.RLock()
_attached: dict[int, str] = {}  # id of a connection opened by ``open_file`` -> its file's alias
_retired: list[str] = []  # full generations no page refers to any more, dropped by the next scan
_numbers = itertools.count(1)
# answers staged in one generation's table before the next one starts: bounds the memory held
# by answers no page refers to any more (their table is dropped only as a whole), and what each
# of the writer's statements reads — DuckDB's scan of a stage fetches every row's documents
# before keeping the statement's few, so a statement's cost grew with its table (measured, 1 ×
# scale 8: 146 ms of statements with a table of one run's answers, 162 ms with five; 32 MB
# tables made the benchmark's later runs in one process 3-5% slower than its first)
GENERATION_BYTES = 8 * 1024 * 1024


def _instance() -> duckdb.DuckDBPyConnection:
    global _database, _catalog
    with _lock:
        if _database is None:
            # one thread: the fetch threads are the parallelism; DuckDB's own pool on a
            # page-sized scan only adds CPU (measured: bench.sync's ingest)
            _database = duckdb.connect(":memory:", config={"threads": 1})
            row = _database.execute("SELECT current_database()").fetchone()
            _catalog = str(row[0]) if row else _catalog
        return _database


def _scanner() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on the instance (DuckDB connections are not shared between
    threads)."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = _local.con = _instance().cursor()
    return con


def open_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the DuckDB file ``path`` inside the instance holding the
    answers' stages, so its statements read a page's documents where the client's scan left
    them (``Page.source``). The caller holds the file's exclusive lock; ``close_file`` ends it
    (the file is checkpointed and let go, as closing a connection of its own would)."""
    con = _instance().cursor()
    alias = f"warehouse_{next(_numbers)}"
    try:
        con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {alias}")
        try:
            con.execute(f"USE {alias}")
        except BaseException:
            con.execute(f"DETACH {alias}")
            raise
    except BaseException:
        con.close()
        raise
    with _lock:
        _attached[id(con)] = alias
    return con


def close_file(con: duckdb.DuckDBPyConnection) -> None:
    """End an ``open_file`` connection: a transaction left open is rolled back (as closing a
    connection would), then the file is detached (checkpointed) and the connection closed."""
    with _lock:
        alias = _attached.pop(id(con), None)
    try:
        with contextlib.suppress(duckdb.TransactionException):  # none was open
            con.rollback()
        if alias is not None:
            con.execute(f"USE {_catalog}")
            con.execute(f"DETACH {alias}")
    finally:
        con.close()
    _drop_retired(_scanner())


def reads_stages(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` (an ``open_file`` connection) can read pages from their stages."""
    with _lock:
        return id(con) in _attached


class _Generation:
    """A table the answers are staged in, one after another, until it holds
    ``GENERATION_BYTES`` of them; dropped (by the next scan) once it is full and no page refers
    to any of its answers. Many answers in one table: the writer reads a statement's pages of
    many answers with one scan (a table per answer cost ~0.35 ms per page in each statement)."""

    def __init__(self) -> None:
        self.table = f"{_catalog}.main._answers_{next(_numbers)}"
        self.bytes = 0
        self.live = 0  # answers staged here that a page still refers to
        self.full = False


_current: _Generation | None = None


class _Stage:
    """One answer's items in its generation's table (``answer``: its number there)."""

    def __init__(self, size: int) -> None:
        global _current
        with _lock:
            generation = _current
            if generation is None or generation.bytes >= GENERATION_BYTES:
                con = _scanner()  # first: the instance (and its catalog's name) exists
                made = _Generation()
                con.execute(_TABLE.replace("@table", made.table)).fetchall()
                if generation is not None:
                    generation.full = True
                    if not generation.live:
                        _retired.append(generation.table)
                generation = _current = made
            generation.bytes += size
            generation.live += 1
        self.generation = generation
        self.table = generation.table
        self.answer = next(_numbers)
        weakref.finalize(self, _release, generation)

    def keys(self, item: int) -> list[str | None]:
        return self._item(_KEY, item)

    def texts(self, item: int) -> list[str]:
        return self._item("docs::VARCHAR[]", item)

    def _item(self, column: str, item: int) -> list[Any]:
        """One list column (``column``: an expression) of this answer's item ``item``. Every
        statement of the scans' cursors is read to its end: a cursor with a result left open
        cannot ``register`` the next answer."""
        rows = (
            _scanner()
            .execute(
                f"SELECT {column} FROM {self.table} WHERE answer = $answer AND n = $n",
                {"answer": self.answer, "n": item},
            )
            .fetchall()
        )
        return list(rows[0][0] or []) if rows else []


def _release(generation: _Generation) -> None:
    with _lock:
        generation.live -= 1
        if generation.full and not generation.live:
            _retired.append(generation.table)


def _drop_retired(con: duckdb.DuckDBPyConnection) -> None:
    with _lock:
        tables = _retired[:]
        del _retired[:]
    for table in tables:
        con.execute(f"DROP TABLE IF EXISTS {table}").fetchall()


class Page:
    """One query page: its documents as JSON texts (in the answer's stage, or held here), and
    what paging needs to know of them."""

    def __init__(
        self,
        texts: list[str] | None = None,
        *,
        count: int,
        stamps: list[str | None],
        unique: bool,
        stubs: int,
        keys: list[str | None] | None = None,
        stage: _Stage | None = None,
        item: int = 0,
        docs: list[Doc] | None = None,
    ) -> None:
        self._texts = texts
        self.count = count
        self.stamps = stamps  # each document's MetaData.LastUpdatedTime, in order
        self.unique = unique  # no (Id, SyncToken) twice: the store may skip its within-page dedupe
        self.stubs = stubs  # deleted stubs (``status: Deleted``) among the documents
        # each document's store key "Id:SyncToken" (None without an Id); empty when not scanned
        # (``of``: such a page is never ``unique``); a staged page's, read on first use
        self._keys = keys if keys is not None or stage is not None else []
        self._stage = stage
        self._item = item
        self._docs = docs

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
            docs=docs,
        )

    @property
    def texts(self) -> list[str]:
        """The documents, each as DuckDB re-serialised it (minified JSON); read from the stage
        on first use."""
        if self._texts is None:
            self._texts = self._stage.texts(self._item) if self._stage is not None else []
        return self._texts

    @property
    def keys(self) -> list[str | None]:
        """Each document's store key (the store asks only when one company's pages of an entity
        go in one statement: may a version repeat across them?)."""
        if self._keys is None:
            self._keys = self._stage.keys(self._item) if self._stage is not None else []
        return self._keys

    def source(self) -> Staged | None:
        """Where the page's documents are staged — (table, answer, item): the ``docs`` of the
        table's row of that answer and item — for a connection that ``reads_stages``; None for
        a page holding its texts itself."""
        if self._stage is None:
            return None
        return (self._stage.table, self._stage.answer, self._item)

    def docs(self) -> list[Doc]:
        """The documents as Python objects (parsed on first use: Id listings, CompanyInfo)."""
        if self._docs is None:
            self._docs = orjson.loads("[" + ",".join(self.texts) + "]")
        return self._docs

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"Page(count={self.count}, unique={self.unique}, stubs={self.stubs})"


def _answer(body: bytes) -> pa.Table:
    """The answer as a one-row table DuckDB scans in place: an Arrow binary array whose data
    buffer is ``body`` itself (kept alive by the array). pyarrow is imported here, on the first
    page read: a run that reads no page (an incremental sync with nothing new) never pays its
    ~70 ms import."""
    import pyarrow as pa

    offsets = pa.py_buffer(struct.pack("<qq", 0, len(body)))
    array = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(body)])
    return pa.Table.from_arrays([array], names=["body"])


def _scan(items: str, body: bytes, realm_id: str | None) -> tuple[_Stage, list[tuple[Any, ...]]]:
    """Stage an answer's items and read what the client needs of each."""
    con = _scanner()
    _drop_retired(con)
    stage = _Stage(len(body))
    name = f"_answer_{stage.answer}"  # a view of this thread's cursor, for this statement only
    con.register(name, _answer(body or b"{}"))
    try:
        return stage, con.execute(
            _STAGE.replace("@table", stage.table).replace("@items", items.replace("@answer", name)),
            {"answer": stage.answer},
        ).fetchall()
    except duckdb.Error:  # not JSON, not UTF-8 (decode checks it)
        raise TransientError("query: unreadable answer", realm_id=realm_id) from None
    finally:
        con.unregister(name)


def _page(stage: _Stage, row: tuple[Any, ...]) -> Page:
    n, _bid, _fault, _no_response, count, stamps, unique, stubs = row
    return Page(
        count=count or 0,
        stamps=list(stamps or []),
        unique=bool(unique),
        stubs=stubs or 0,
        stage=stage,
        item=int(n),
    )


def query_page(body: bytes, realm_id: str | None) -> Page:
    """The page of a ``/query`` answer (``rows_of`` of its ``QueryResponse``)."""
    stage, (row,) = _scan(_QUERY_ITEMS, body, realm_id)
    if row[3]:  # no QueryResponse: whatever it is, the Python reading decides
        parsed = orjson.loads(body) if body else {}
        return Page.of(rows_of((parsed or {}).get("QueryResponse") or {}))
    return _page(stage, row)


def batch_pages(body: bytes, bids: list[str], realm_id: str) -> list[Page | QBOError]:
    """Per requested ``bId``, in request order: its page, or its fault as a typed error (not
    raised: the caller asks a faulted item again on its own)."""
    by_id: dict[str, tuple[Any, ...]] = {}
    odd = False
    stage, rows = _scan(_BATCH_ITEMS, body, realm_id)
    for row in rows:
        by_id[str(row[1])] = row
        odd = odd or (row[2] is None and row[3])
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
        elif answer[2] is not None:
            fault = {"Fault": orjson.loads(answer[2])}
            pages.append(error_from_fault(fault, None, realm_id, f"batch item {bid}"))
        else:
            pages.append(_page(stage, answer))
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
