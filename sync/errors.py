"""Faults of talking to QBO, as types, so that retry and action policies never parse strings.

* QBOError
  x TransientError        retried (5xx, timeouts, dropped connections)
    - ThrottledError      retried after a pause of the realm (HTTP 429 / code 3001)
  x ReauthRequired        not retried; the company needs a reconnect
                          (invalid_grant, 401 after refresh)
  x PermanentError        not retried (validation faults, 4xx)
    - StaleObjectError    code 5010: the SyncToken we sent is out of date
    - NotFoundError       code 610 or HTTP 404
  x QuotaExceeded         our own per-day request budget for the realm is spent

Messages never contain tokens or secrets: only the realm, the operation and QBO's fault text.
"""

from __future__ import annotations

from typing import Any


class QBOError(Exception):
    """Base of every QBO fault. ``code`` is QBO's numeric code as a string when there is one."""

    def __init__(
        self,
        message: str,
        *,
        realm_id: str | None = None,
        status: int | None = None,
        code: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.realm_id = realm_id
        self.status = status
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        where = f" (company {self.realm_id})" if self.realm_id else ""
        code = f" [code {self.code}]" if self.code else ""
        return f"{self.message}{code}{where}"


class TransientError(QBOError):
    """Temporary failure; the same request may succeed later.

    After a write it means 'outcome unknown'."""


class ThrottledError(TransientError):
    """QBO answered 429 (code 3001): the realm's rate limit was reached."""

    def __init__(
        self,
        message: str = "QuickBooks rate limit reached",
        *,
        retry_after: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ReauthRequired(QBOError):
    """The company's connection is gone (refresh token invalid or revoked).

    The owner must reconnect."""


class PermanentError(QBOError):
    """QBO rejected the request; sending it again will not help."""


class StaleObjectError(PermanentError):
    """QBO code 5010: the document changed since we read it."""


class NotFoundError(PermanentError):
    """QBO code 610 / HTTP 404: the document does not exist (or was deleted)."""


class QuotaExceeded(QBOError):
    """Our per-company daily request budget is spent; background work waits for tomorrow."""


RETRYABLE: tuple[type[QBOError], ...] = (TransientError,)
