"""One contract, two QBOs: the executor's in-memory fake (``actions_fakes.FakeQBO``) and the real
sandbox behind ``actions.port.ClientPort`` run the same cases, so the fake the unit tests trust
cannot drift from the QBO behaviour the sandbox implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from actions_fakes import FakeQBO
from actions_world import SandboxWorld

from actions.port import ClientPort, QBOPort
from sync.errors import NotFoundError, StaleObjectError

REALM_OF_FAKE = "9130000000001"


@dataclass
class Subject:
    port: QBOPort
    realm: str
    bill_id: str
    invoice_id: str


@pytest.fixture(params=["fake", "sandbox"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    if request.param == "fake":
        fake = FakeQBO()
        fake.bill(REALM_OF_FAKE, "501", "400.00")
        fake.invoice(REALM_OF_FAKE, "601", "250.00")
        yield Subject(fake, REALM_OF_FAKE, "501", "601")
        return
    world = SandboxWorld(tmp_path, companies=1)
    realm = world.realms[0]
    try:
        yield Subject(
            ClientPort(world.client()),
            realm,
            world.open_bills(realm)[0],
            world.open_invoices(realm)[0],
        )
    finally:
        world.close()


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def payment_body(
    port: QBOPort, realm: str, bill: dict[str, Any], amount: Decimal
) -> dict[str, Any]:
    bank = next(a for a in port.accounts(realm) if a.get("AccountType") == "Bank")
    return {
        "VendorRef": bill["VendorRef"],
        "PayType": "Check",
        "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}},
        "TotalAmt": float(amount),
        "Line": [
            {"Amount": float(amount), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}
        ],
    }


def test_an_unknown_document_is_not_found(subject: Subject) -> None:
    with pytest.raises(NotFoundError):
        subject.port.read(subject.realm, "Bill", "987654")


def test_a_bill_payment_lowers_the_bill_once_per_requestid(subject: Subject) -> None:
    port, realm = subject.port, subject.realm
    bill = port.read(realm, "Bill", subject.bill_id)
    before = money(bill["Balance"])
    amount = Decimal("10.00")
    body = payment_body(port, realm, bill, amount)
    first = port.create_bill_payment(realm, body, requestid="contract-pay-1")
    again = port.create_bill_payment(realm, body, requestid="contract-pay-1")
    assert again["Id"] == first["Id"]  # the same requestid is the same write
    after = port.read(realm, "Bill", subject.bill_id)
    assert money(after["Balance"]) == before - amount
    assert int(after["SyncToken"]) > int(bill["SyncToken"])
    found = port.bill_payments_since(realm, datetime(2000, 1, 1, tzinfo=UTC))
    assert [p["Id"] for p in found].count(first["Id"]) == 1


def test_a_stale_sync_token_is_refused(subject: Subject) -> None:
    port, realm = subject.port, subject.realm
    invoice = port.read(realm, "Invoice", subject.invoice_id)
    stale = str(int(invoice["SyncToken"]) + 7)
    with pytest.raises(StaleObjectError):
        port.update_sparse(
            realm,
            "Invoice",
            {"Id": invoice["Id"], "SyncToken": stale, "sparse": True, "PrivateNote": "x"},
            requestid="contract-stale-1",
        )


def test_sending_an_invoice_marks_it_sent_and_bumps_its_token(subject: Subject) -> None:
    port, realm = subject.port, subject.realm
    invoice = port.read(realm, "Invoice", subject.invoice_id)
    sent = port.send_invoice(realm, subject.invoice_id, send_to=None, requestid="contract-send-1")
    assert sent["EmailStatus"] == "EmailSent"
    assert int(sent["SyncToken"]) == int(invoice["SyncToken"]) + 1
    assert port.read(realm, "Invoice", subject.invoice_id)["EmailStatus"] == "EmailSent"


def test_a_sparse_update_changes_only_what_it_names(subject: Subject) -> None:
    port, realm = subject.port, subject.realm
    invoice = port.read(realm, "Invoice", subject.invoice_id)
    port.update_sparse(
        realm,
        "Invoice",
        {
            "Id": invoice["Id"],
            "SyncToken": invoice["SyncToken"],
            "sparse": True,
            "PrivateNote": "n",
        },
        requestid="contract-note-1",
    )
    after = port.read(realm, "Invoice", subject.invoice_id)
    assert after["PrivateNote"] == "n"
    assert money(after["Balance"]) == money(invoice["Balance"])
    assert int(after["SyncToken"]) == int(invoice["SyncToken"]) + 1
