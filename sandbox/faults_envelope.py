"""QBO's two error envelopes: ``Fault`` (data, throttling, server) and lowercase ``fault``
(auth)."""

from __future__ import annotations

from typing import Any


class QBOFault(Exception):
    """A data fault (capital ``Fault`` envelope); ``code`` is always a numeric string."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        element: str = "",
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail or message
        self.element = element
        self.fault_type = fault_type

    def body(self) -> dict[str, Any]:
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element:
            error["element"] = self.element
        return {"Fault": {"Error": [error], "type": self.fault_type}}


class AuthFault(Exception):
    """401 (code 3200) or 403 (code 3100) in the lowercase ``fault`` envelope."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def code(self) -> str:
        return "3200" if self.status == 401 else "3100"

    def body(self) -> dict[str, Any]:
        label = "AuthenticationFailed" if self.status == 401 else "AuthorizationFailed"
        kind = "AUTHENTICATION" if self.status == 401 else "AUTHORIZATION"
        message = f"message={label}; errorCode=00{self.code}; statusCode={self.status}"
        return {
            "fault": {
                "error": [{"message": message, "detail": self.detail, "code": self.code}],
                "type": kind,
            }
        }


def validation(message: str, detail: str = "", element: str = "", code: str = "2010") -> QBOFault:
    return QBOFault(400, code, message, detail, element)


def required(element: str) -> QBOFault:
    return QBOFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_reference(element: str, value: Any) -> QBOFault:
    return QBOFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} assigned is not found or inactive: {value}",
        element,
    )


def not_found(entity: str, doc_id: Any) -> QBOFault:
    return QBOFault(
        400,
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive or deleted: "
        f"{entity} {doc_id}",
    )


def stale(entity: str, doc_id: str, current: int, given: Any) -> QBOFault:
    return QBOFault(
        400,
        "5010",
        "Stale Object Error",
        f"Stale Object Error : You and root were working on {entity} {doc_id} at the same time. "
        f"SyncToken {given!r} is not the current {current}",
    )


def business(detail: str, element: str = "") -> QBOFault:
    return QBOFault(
        400,
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def duplicate_name(name: str) -> QBOFault:
    return QBOFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : {name}",
        "DisplayName",
    )


def throttled() -> QBOFault:
    return QBOFault(
        429,
        "3001",
        "ThrottleExceeded",
        "The request limit was reached. Try again later",
        fault_type="ThrottleExceeded",
    )


def server_error(status: int = 500) -> QBOFault:
    message = (
        "Service Unavailable"
        if status == 503
        else "An application error has occurred while processing your request"
    )
    return QBOFault(
        status,
        "10000",
        message,
        "System Failure Error: injected by the sandbox",
        fault_type="SystemFault",
    )
