"""Fault classification and the one retry policy, on hand-made answers (no server needed)."""

from __future__ import annotations

import httpx
import pytest

from sync.errors import (
    NotFoundError,
    PermanentError,
    ReauthRequired,
    StaleObjectError,
    ThrottledError,
    TransientError,
)
from sync.retry import FAST, RetryPolicy, classify_response, error_from_fault


def answer(status: int, body: dict | None = None, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def data_fault(code: str, message: str = "m", detail: str = "d") -> dict:
    return {
        "Fault": {
            "Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
            "type": "ValidationFault",
        }
    }


AUTH_FAULT = {
    "fault": {
        "error": [
            {
                "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired",
                "code": "3200",
            }
        ],
        "type": "AUTHENTICATION",
    }
}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, data_fault("5010", "Stale Object Error"), StaleObjectError),
        (400, data_fault("610", "Object Not Found"), NotFoundError),
        (404, None, NotFoundError),
        (400, data_fault("6240", "Duplicate Name Exists Error"), PermanentError),
        (400, data_fault("4000", "QueryParserError"), PermanentError),
        (429, data_fault("3001", "ThrottleExceeded"), ThrottledError),
        (401, AUTH_FAULT, ReauthRequired),
        (500, None, TransientError),
        (
            503,
            {"Fault": {"Error": [{"Message": "Service unavailable", "code": "10000"}]}},
            TransientError,
        ),
        (200, data_fault("6000", "A business validation error"), PermanentError),
    ],
)
def test_faults_map_to_types(status: int, body: dict | None, expected: type) -> None:
    with pytest.raises(expected) as info:
        classify_response(answer(status, body), "123", "op")
    assert type(info.value) is expected
    assert info.value.status == status
    assert info.value.realm_id == "123"


def test_fault_code_message_and_detail_are_kept_from_both_envelopes() -> None:
    err = error_from_fault(
        data_fault("5010", "Stale Object Error", "You and Ann were working"),
        400,
        "9",
        "update Bill",
    )
    assert (err.code, err.detail) == ("5010", "You and Ann were working")
    assert "Stale Object Error" in str(err) and "company 9" in str(err)
    auth = error_from_fault(AUTH_FAULT, 401, "9", "query")
    assert auth.code == "3200" and auth.detail == "Token expired"


def test_throttle_reads_the_retry_after_hint() -> None:
    with pytest.raises(ThrottledError) as info:
        classify_response(answer(429, data_fault("3001"), {"Retry-After": "7"}), "1", "query")
    assert info.value.retry_after == 7.0


def test_success_body_is_returned() -> None:
    assert classify_response(answer(200, {"Bill": {"Id": "1"}, "time": "x"}), "1", "read") == {
        "Bill": {"Id": "1"},
        "time": "x",
    }


def test_only_transient_faults_are_retried_and_attempts_are_capped() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("blip")
        return "ok"

    assert FAST.call(flaky) == "ok" and len(calls) == 3

    calls.clear()

    def permanent() -> None:
        calls.append(1)
        raise PermanentError("bad request")

    with pytest.raises(PermanentError):
        FAST.call(permanent)
    assert len(calls) == 1

    calls.clear()

    def always_down() -> None:
        calls.append(1)
        raise ThrottledError()

    with pytest.raises(ThrottledError):
        RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.002, jitter=0.001).call(always_down)
    assert len(calls) == 4

    calls.clear()

    def reauth() -> None:
        calls.append(1)
        raise ReauthRequired("gone")

    with pytest.raises(ReauthRequired):
        FAST.call(reauth)
    assert len(calls) == 1
