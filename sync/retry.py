"""The one retry policy for QBO calls, and the classification of faults into sync.errors types.

Retries wrap ONE request (never an iterator): jittered exponential backoff, capped attempts and
capped total wait; only TransientError (incl. ThrottledError) is retried. A throttled call waits
mostly in the limiter (the realm is paused), so its tenacity wait is short."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from sync.errors import (
    NotFoundError,
    PermanentError,
    QBOError,
    ReauthRequired,
    StaleObjectError,
    ThrottledError,
    TransientError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0
    total_seconds: float = 180.0
    jitter: float = 0.5

    def retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.total_seconds),
            wait=wait_exponential_jitter(
                multiplier=self.initial_wait, max=self.max_wait, jitter=self.jitter
            ),
            retry=retry_if_exception_type(TransientError),
            reraise=True,
            before_sleep=before_sleep_log(log, logging.INFO),
        )

    def call(self, fn: Callable[[], T]) -> T:
        return self.retrying()(fn)


FAST = RetryPolicy(attempts=8, initial_wait=0.01, max_wait=0.05, total_seconds=60.0, jitter=0.01)
"""For tests and the sandbox: same logic, no real waiting."""


def fault_details(body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """(code, message, detail, type) from QBO's ``Fault`` or lowercase ``fault`` envelope."""
    if not isinstance(body, dict):
        return None, None, None, None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None, None, None, None
    errors = fault.get("Error") or fault.get("error") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("code") or first.get("Code")
    message = first.get("Message") or first.get("message")
    detail = first.get("Detail") or first.get("detail")
    return (str(code) if code is not None else None, message, detail, fault.get("type"))


def error_from_fault(body: Any, status: int | None, realm_id: str | None, what: str) -> QBOError:
    """Map one fault (HTTP answer or batch item) to its type."""
    code, message, detail, ftype = fault_details(body)
    text = f"{what}: {message or f'HTTP {status}'}"
    kw: dict[str, Any] = {"realm_id": realm_id, "status": status, "code": code, "detail": detail}
    if status == 429 or code == "3001":
        return ThrottledError(text, **kw)
    if status in (401,) or code == "3200" or (ftype or "").upper() == "AUTHENTICATION":
        return ReauthRequired(text, **kw)
    if code == "5010":
        return StaleObjectError(text, **kw)
    if code == "610" or status == 404:
        return NotFoundError(text, **kw)
    if status is not None and (status >= 500 or status == 408):
        return TransientError(text, **kw)
    return PermanentError(text, **kw)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def parse_json(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        return None


def classify_response(response: httpx.Response, realm_id: str | None, what: str) -> Any:
    """The JSON body of a success, or the typed error for anything else (raised)."""
    body = parse_json(response)
    status = response.status_code
    if 200 <= status < 300:
        if body is None:
            raise TransientError(f"{what}: unreadable answer", realm_id=realm_id, status=status)
        if isinstance(body, dict) and ("Fault" in body or "fault" in body) and len(body) <= 2:
            raise error_from_fault(body, status, realm_id, what)
        return body
    err = error_from_fault(body, status, realm_id, what)
    if isinstance(err, ThrottledError):
        err.retry_after = _retry_after(response)
    raise err


SMALL_ANSWER = 4096  # bytes: a bare fault envelope is far smaller; a query page is not


def classify_raw(response: httpx.Response, realm_id: str | None, what: str) -> bytes:
    """The raw body of a success (for a reader that parses it itself, ``sync.rawpages``), or
    the typed error for anything else. Only small successes are parsed here, to catch a bare
    fault sent with a 2xx status; a page-sized answer is never one."""
    if 200 <= response.status_code < 300 and len(response.content) > SMALL_ANSWER:
        return response.content
    classify_response(response, realm_id, what)
    return response.content


def transport_error(exc: httpx.TransportError, realm_id: str | None, what: str) -> TransientError:
    """Timeouts, resets, lost responses: transient (for a write: outcome unknown)."""
    return TransientError(f"{what}: network error ({type(exc).__name__})", realm_id=realm_id)
