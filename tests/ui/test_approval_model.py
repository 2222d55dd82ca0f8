"""The console's selection -> requests mapping and its deterministic approval id."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
from ui_support import ROOT  # noqa: F401 - puts the repo root on sys.path

from actions.model import request_from_mapping
from pages import _approval

AS_OF = date(2026, 11, 20)


def tray(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, infer_schema_length=None)


def test_rows_become_typed_action_requests() -> None:
    must = tray(
        [
            {
                "realm_id": "9",
                "doc_id": "42",
                "doc_type": "bill",
                "party_name": "Rent",
                "amount": Decimal("12000.00"),
            },
            {
                "realm_id": "9",
                "doc_id": "p1",
                "doc_type": "recurring",
                "party_name": "Payroll",
                "amount": Decimal("70000.00"),
            },
        ]
    )
    requests, notes = _approval.requests_for("must_pay", must)
    assert requests == [
        {"action": "pay_bill", "realm_id": "9", "bill_id": "42", "approved_amount": "12000.00"}
    ]
    assert len(notes) == 1 and "Payroll" in notes[0]  # a pattern has no bill to pay
    delay = tray(
        [
            {
                "realm_id": "9",
                "doc_id": "43",
                "doc_type": "bill",
                "party_name": "Ink",
                "latest_safe_date": AS_OF,
            }
        ]
    )
    assert _approval.requests_for("can_delay", delay)[0] == [
        {"action": "delay_bill", "realm_id": "9", "bill_id": "43", "until": "2026-11-20"}
    ]
    chase = tray([{"realm_id": "9", "doc_id": "7", "doc_type": "invoice", "party_name": "Acme"}])
    requests = _approval.requests_for("chase", chase)[0] + requests
    assert [type(request_from_mapping(r)).__name__ for r in requests] == ["SendReminder", "PayBill"]


def test_approval_id_depends_on_the_selection_only() -> None:
    a = {"action": "pay_bill", "realm_id": "9", "bill_id": "42"}
    b = {"action": "send_reminder", "realm_id": "9", "invoice_id": "7"}
    assert _approval.approval_id([a, b], AS_OF) == _approval.approval_id([b, a], AS_OF)
    assert _approval.approval_id([a], AS_OF) != _approval.approval_id([a, b], AS_OF)
    assert _approval.approval_id([a], AS_OF) != _approval.approval_id([a], date(2026, 11, 27))
