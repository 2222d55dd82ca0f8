"""Cross-process try-locks ("is a sync of this company already running?") on diskcache.

``Cache.add(key, value, expire=...)`` is an atomic set-if-absent: a non-blocking try-lock. The
value names the holder's pid, so a lock left by a killed process (SIGKILL) is taken over at once
instead of wedging the company until it expires. JSONDisk only, in settings.cache_dir (0700)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import diskcache

from oodaloo.config import Settings

DEFAULT_EXPIRE_SECONDS = 900.0


def _cache(settings: Settings) -> diskcache.Cache:
    return diskcache.Cache(
        str(settings.cache_dir), disk=diskcache.JSONDisk, eviction_policy="none", timeout=60
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TryLock:
    def __init__(
        self, settings: Settings, name: str, expire: float = DEFAULT_EXPIRE_SECONDS
    ) -> None:
        self.key = f"lock:{name}"
        self.expire = expire
        self.settings = settings
        self.value = {"pid": os.getpid(), "host": socket.gethostname(), "token": uuid.uuid4().hex}

    def acquire(self) -> bool:
        with _cache(self.settings) as cache:
            if cache.add(self.key, self.value, expire=self.expire, retry=True):
                return True
            with cache.transact(retry=True):
                holder = cache.get(self.key, retry=True)
                dead = (
                    isinstance(holder, dict)
                    and holder.get("host") == self.value["host"]
                    and not _alive(int(holder.get("pid", 0)))
                )
                if holder is None or dead:
                    cache.set(self.key, self.value, expire=self.expire, retry=True)
                    return True
            return False

    def refresh(self) -> None:
        """Extend the expiry while long work goes on (only if we still hold it)."""
        with _cache(self.settings) as cache:
            if cache.get(self.key, retry=True) == self.value:
                cache.touch(self.key, expire=self.expire, retry=True)

    def release(self) -> None:
        with _cache(self.settings) as cache, cache.transact(retry=True):
            if cache.get(self.key, retry=True) == self.value:
                cache.delete(self.key, retry=True)


@contextmanager
def try_lock(
    settings: Settings, name: str, expire: float = DEFAULT_EXPIRE_SECONDS
) -> Iterator[TryLock | None]:
    """Yields the held lock, or None when someone else holds it (the caller skips its work)."""
    lock = TryLock(settings, name, expire)
    if not lock.acquire():
        yield None
        return
    try:
        yield lock
    finally:
        lock.release()
