"""A cross-process (and cross-thread) reader/writer lock on a lock file with ``flock``.

Each acquisition opens a fresh file descriptor: flock locks belong to the open file description,
so two threads of one process exclude each other exactly like two processes do. A writer first
takes the ``gate`` exclusively, so new readers queue behind a waiting writer (no writer
starvation); readers pass the gate only briefly, so they never wait behind each other."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


class LockTimeout(TimeoutError):
    """The warehouse stayed busy longer than the caller was willing to wait."""


def _flock(path: Path, mode: int, timeout: float | None) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if timeout is None:
            fcntl.flock(fd, mode)
            return fd
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{path.name} busy for more than {timeout:.0f} s") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
    except BaseException:
        os.close(fd)
        raise


def _unlock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class FileRWLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.gate = path.with_name(path.name + ".gate")

    def shared(self, timeout: float | None = None) -> AbstractContextManager[None]:
        return self._held(fcntl.LOCK_SH, timeout)

    def exclusive(self, timeout: float | None = None) -> AbstractContextManager[None]:
        return self._held(fcntl.LOCK_EX, timeout)

    @contextmanager
    def _held(self, mode: int, timeout: float | None) -> Iterator[None]:
        """Take the gate, then the lock itself; the gate is let go at once so that a waiting
        writer is noticed (``others_waiting``) and is not starved by a stream of readers."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        gate = _flock(self.gate, mode, timeout)
        try:
            fd = _flock(self.path, mode, timeout)
        finally:
            _unlock(gate)
        try:
            yield
        finally:
            _unlock(fd)

    def others_waiting(self) -> bool:
        """True when a reader or writer is queued at the gate (call it while holding the lock:
        waiters hold the gate until they get the lock, so a non-blocking try on it tells)."""
        fd = os.open(self.gate, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)
