"""One coalescing writer per warehouse file per process.

Many companies' fetch threads hand in small write units (a page's rows + its cursor, a run's
start or end); a single writer thread takes every unit pending and commits them in ONE DuckDB
transaction — still all-or-nothing for each page, since the transaction is — and keeps its
write slice (exclusive lock + open connection) across consecutive transactions while nobody else
waits at the lock's gate, for at most ``MAX_HOLD_SECONDS``. Opening and closing the file (the
close checkpoints the WAL) is then paid once per slice instead of once per page.

While a sync run holds the writer (``hold()``, for the whole run) the slice stays open between
units however long the run pauses to fetch, so a run opens the file once and checkpoints once,
at its end; a reader or writer waiting at the lock (any process) still ends the slice at once.
``submit_async`` lets a run fetch its next round while this round is being written.

If a combined transaction fails, it is rolled back and each unit is run again on its own, so one
bad page fails only its own caller. Units must therefore only touch the connection (no side
effects elsewhere) and return what the caller needs.

Gathered writes: a statement costs DuckDB a fixed 5-9 ms CPU (binding, optimiser) however few
rows it writes, so the units of one transaction may hand their pages to a ``Gatherer`` of the
transaction (``gatherer``) instead of writing them at once; after the last unit ran, each
gatherer writes what it holds (e.g. one statement per entity for all the companies' pages), then
the units' ``Deferred`` results are resolved and the transaction commits. Still one transaction:
nothing of a unit is durable before all of it is."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

import duckdb

from sync.write_target import WriteTarget

T = TypeVar("T")
Unit = Callable[[duckdb.DuckDBPyConnection], Any]


class Deferred(Generic[T]):
    """A unit's result known only once its transaction's gatherers wrote what they hold: the
    writer resolves it before the commit and hands the caller the value."""

    def __init__(self, resolve: Callable[[], T]) -> None:
        self._resolve = resolve

    def resolve(self) -> T:
        return self._resolve()


class Gatherer(Protocol):
    """Collects writes of a transaction's units and performs them after the last unit ran."""

    def flush(self, con: duckdb.DuckDBPyConnection) -> None: ...


G = TypeVar("G", bound=Gatherer)
_scope = threading.local()  # the writer thread's current (connection, its gatherers)


def gatherer(con: duckdb.DuckDBPyConnection, kind: type[G]) -> G | None:
    """The current transaction's gatherer of ``kind`` (made on first use) when ``con`` is a
    coalescing writer's connection inside one of its transactions; None otherwise (the caller
    then writes at once)."""
    scope: tuple[duckdb.DuckDBPyConnection, dict[type[Any], Gatherer]] | None = getattr(
        _scope, "current", None
    )
    if scope is None or scope[0] is not con:
        return None
    found = scope[1].get(kind)
    if not isinstance(found, kind):
        found = scope[1][kind] = kind()
    return found


MAX_HOLD_SECONDS = 1.0  # longest write slice while work keeps coming (readers wait at most this)
MAX_UNITS_PER_TRANSACTION = 64
MAX_ROWS_PER_TRANSACTION = (
    10_000  # by the units' declared weight: bounds how long a reader may wait
)
LINGER_SECONDS = 0.01  # an idle slice waits this long for more work before closing the file
HELD_POLL_SECONDS = 0.02  # while a run holds the writer, how often an idle slice looks for waiters


class CoalescingWriter:
    def __init__(self, warehouse: WriteTarget) -> None:
        self.warehouse = warehouse
        self._pending: list[tuple[Unit, Future[Any], int]] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.transactions = 0
        self.slices = 0
        self.units = 0
        self.busy_seconds = 0.0  # inside transactions (what the benchmark compares with wall time)
        # the writer thread's own CPU inside transactions: far below busy_seconds means it was
        # waiting (for a core, the GIL), not working (DuckDB's pool threads are not counted)
        self.busy_cpu_seconds = 0.0
        self._holders = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Keep the write slice (and its connection) open between units until the block ends,
        unless someone waits at the lock. The last holder leaving lets the slice close, which
        checkpoints the file once."""
        with self._cond:
            self._holders += 1
        try:
            yield
        finally:
            with self._cond:
                self._holders -= 1
                self._cond.notify_all()

    def submit(self, unit: Callable[[duckdb.DuckDBPyConnection], T], weight: int = 1) -> T:
        """Run ``unit(con)`` inside a committed write transaction; blocks until it is durable.
        ``weight`` (about the rows it writes) keeps combined transactions short."""
        return self.submit_async(unit, weight).result()

    def submit_async(
        self, unit: Callable[[duckdb.DuckDBPyConnection], T], weight: int = 1
    ) -> Future[T]:
        """Queue ``unit``; its future resolves once the transaction holding it committed."""
        return self._enqueue(unit, weight)

    def submit_gathered(
        self, unit: Callable[[duckdb.DuckDBPyConnection], Deferred[T]], weight: int = 1
    ) -> Future[T]:
        """Queue ``unit``, whose writes go (partly) through the transaction's gatherers; its
        future resolves to the ``Deferred``'s value once the transaction committed."""
        return self._enqueue(unit, weight)

    def _enqueue(self, unit: Unit, weight: int) -> Future[Any]:
        future: Future[Any] = Future()
        with self._cond:
            self._pending.append((unit, future, max(1, weight)))
            if self._thread is None or not self._thread.is_alive():
                # not a daemon: it ends by itself once idle, and must never be cut off holding
                # DuckDB
                self._thread = threading.Thread(
                    target=self._run,
                    name=f"warehouse-writer:{self.warehouse.path.name}",
                    daemon=False,
                )
                self._thread.start()
            self._cond.notify_all()
        return future

    def join(self, timeout: float | None = None) -> None:
        """Wait until the writer thread has ended: nothing pending, its slice closed (the file
        checkpointed). For whoever must count that work (the benchmark's CPU figures)."""
        with self._cond:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    # ---- the writer thread ------------------------------------------------------------------
    def _take(self, wait: float, held_ok: bool = False) -> list[tuple[Unit, Future[Any]]]:
        """Up to a transaction's worth of pending units. With ``held_ok`` (inside a slice) an idle
        writer keeps waiting while a run holds it and nobody waits at the lock."""
        with self._cond:
            if not self._pending and wait > 0:
                self._cond.wait(wait)
            while (
                held_ok
                and not self._pending
                and self._holders > 0
                and not self.warehouse.others_waiting()
            ):
                self._cond.wait(HELD_POLL_SECONDS)
            count, rows = 0, 0
            for _, _, weight in self._pending[:MAX_UNITS_PER_TRANSACTION]:
                if count and rows + weight > MAX_ROWS_PER_TRANSACTION:
                    break
                count, rows = count + 1, rows + weight
            batch = [(unit, future) for unit, future, _ in self._pending[:count]]
            del self._pending[:count]
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take(LINGER_SECONDS)
            if not batch:
                with self._cond:
                    if not self._pending:
                        self._thread = None  # the next submit starts a new thread
                        return
                continue
            try:
                self._slice(batch)
            except (
                BaseException
            ) as exc:  # lock timeout, file trouble: every waiting caller learns it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)

    def _slice(self, batch: list[tuple[Unit, Future[Any]]]) -> None:
        with self.warehouse.write() as con:
            self.slices += 1
            started = time.monotonic()
            while batch:
                try:
                    self._transaction(con, batch)
                except BaseException as exc:  # every caller of THIS batch learns it, none waits
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    raise
                if self.warehouse.others_waiting():
                    return
                if not self._holders and time.monotonic() - started > MAX_HOLD_SECONDS:
                    return
                batch = self._take(LINGER_SECONDS, held_ok=True)

    def _transaction(
        self, con: duckdb.DuckDBPyConnection, batch: list[tuple[Unit, Future[Any]]]
    ) -> None:
        began, began_cpu = time.perf_counter(), time.thread_time()
        con.begin()
        try:
            results = self._units(con, batch)
            con.commit()
        except Exception:
            con.rollback()
            if len(batch) == 1:
                raise
            for item in batch:  # one at a time: only the faulty unit's caller sees its error
                try:
                    self._transaction(con, [item])
                except Exception as exc:
                    item[1].set_exception(exc)
            return
        self.transactions += 1
        self.units += len(batch)
        self.busy_seconds += time.perf_counter() - began
        self.busy_cpu_seconds += time.thread_time() - began_cpu
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)

    @staticmethod
    def _units(con: duckdb.DuckDBPyConnection, batch: list[tuple[Unit, Future[Any]]]) -> list[Any]:
        """Run the units, then their gatherers (in the order they were first used), then
        resolve the units' deferred results: all inside the caller's transaction."""
        gatherers: dict[type[Any], Gatherer] = {}
        _scope.current = (con, gatherers)
        try:
            results = [unit(con) for unit, _ in batch]
            for gathered in list(gatherers.values()):
                gathered.flush(con)
        finally:
            _scope.current = None
        return [r.resolve() if isinstance(r, Deferred) else r for r in results]


_writers: dict[str, CoalescingWriter] = {}
_writers_lock = threading.Lock()


def writer_for(warehouse: WriteTarget) -> CoalescingWriter:
    """The process's writer for this warehouse file."""
    key = str(warehouse.path.resolve())
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None:
            writer = _writers[key] = CoalescingWriter(warehouse)
        return writer
