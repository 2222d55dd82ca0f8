"""E-mail through a real SMTP server on loopback (aiosmtpd): the PDF arrives attached, one
message per recipient; a failing server is retried, and the failure is recorded; the password
never shows."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from digest import ledger, mail
from digest.delivery import email_digest, email_text
from digest.make import Produced
from digest.weeks import IsoWeek
from oodaloo.config import Settings, load_settings

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n% a digest\n%%EOF\n"


class Inbox:
    """aiosmtpd handler: keeps messages; answers 451 to the first ``fail_first`` DATA commands."""

    def __init__(self, fail_first: int = 0) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[list[str]] = []
        self.fail_first = fail_first
        self.data_calls = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_calls += 1
        if self.data_calls <= self.fail_first:
            return "451 4.3.0 try again later"
        self.envelopes.append(list(envelope.rcpt_tos))
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mail, "WAIT_SECONDS", 0.01)


def mail_settings(settings: Settings, port: int, **extra: Any) -> Settings:
    return load_settings(data_dir=settings.data_dir, smtp_host="127.0.0.1", smtp_port=port, **extra)


def produced(scope: str = "9130001") -> Produced:
    manifest = {
        "scope": "company",
        "week": "2026-W47",
        "company_name": "Zoë & Søn Creative",
        "data_as_of": NOW.isoformat(),
        "freshness": "Synced 3 min ago",
        "kpis": [
            {"label": "Cash", "value": "180000.00", "kind": "money"},
            {"label": "Runway", "value": 2.6, "kind": "weeks"},
        ],
        "answers": [["Can the next payroll be covered?", "Not on current projections."]],
    }
    return Produced(scope, IsoWeek.parse("2026-W47"), PDF, manifest, NOW, 3, False)


def test_digest_arrives_with_the_pdf_attached(
    settings: Settings, smtp_server: tuple[Controller, Inbox]
) -> None:
    controller, inbox = smtp_server
    cfg = mail_settings(settings, controller.port)
    results = email_digest(
        cfg, produced(), NOW, recipients=["owner@example.com", "cfo@example.com"]
    )
    assert [r.ok for r in results] == [True, True] and [r.attempts for r in results] == [1, 1]
    assert inbox.envelopes == [["owner@example.com"], ["cfo@example.com"]]  # one message each
    message = inbox.messages[0]
    assert "2026-W47" in message["Subject"] and "Zoë & Søn Creative" in message["Subject"]
    attachments = [
        part for part in message.walk() if part.get_content_disposition() == "attachment"
    ]
    assert len(attachments) == 1 and attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_payload(decode=True) == PDF
    assert attachments[0].get_filename() == "oodaloo-digest-2026-W47-9130001.pdf"
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Cash: $180,000" in body and "Runway: 2.6 weeks" in body
    statuses = {(d.recipient, d.status) for d in ledger.deliveries(cfg, "2026-W47")}
    assert statuses == {("owner@example.com", "sent"), ("cfo@example.com", "sent")}


def test_transient_smtp_failure_is_retried(
    settings: Settings, smtp_server: tuple[Controller, Inbox]
) -> None:
    controller, inbox = smtp_server
    inbox.fail_first = 2
    cfg = mail_settings(settings, controller.port)
    [result] = email_digest(cfg, produced(), NOW, recipients=["owner@example.com"])
    assert result.ok and result.attempts == 3 and inbox.data_calls == 3 and len(inbox.messages) == 1
    [delivery] = ledger.deliveries(cfg)
    assert delivery.status == "sent" and delivery.attempts == 3


def test_failing_smtp_is_retried_then_reported_without_the_password(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nobody listens here
    cfg = mail_settings(settings, port, smtp_username="digest", smtp_password="s3cr3t-pw")
    [result] = email_digest(cfg, produced(), NOW, recipients=["owner@example.com"])
    assert not result.ok and result.attempts == mail.ATTEMPTS
    assert "ConnectionRefusedError" in (result.error or "")
    [delivery] = ledger.deliveries(cfg, "2026-W47")
    assert delivery.status == "failed" and delivery.attempts == mail.ATTEMPTS and delivery.error
    assert "s3cr3t-pw" not in caplog.text and "s3cr3t-pw" not in (delivery.error or "")


def test_permanent_rejection_is_not_retried(
    settings: Settings, smtp_server: tuple[Controller, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    controller, inbox = smtp_server

    async def reject(server: Any, session: Any, envelope: Any) -> str:
        inbox.data_calls += 1
        return "554 5.7.1 rejected"

    monkeypatch.setattr(inbox, "handle_DATA", reject)
    cfg = mail_settings(settings, controller.port)
    [result] = email_digest(cfg, produced(), NOW, recipients=["owner@example.com"])
    assert (
        not result.ok
        and result.attempts == 1
        and inbox.data_calls == 1
        and "554" in (result.error or "")
    )


def test_email_off_without_a_server(settings: Settings) -> None:
    with pytest.raises(mail.MailNotConfigured, match="OODALOO_SMTP_HOST"):
        email_digest(settings, produced(), NOW, recipients=["owner@example.com"])


def test_firm_email_lists_exceptions(settings: Settings) -> None:
    manifest = {
        "scope": "firm",
        "week": "2026-W47",
        "data_as_of": NOW.isoformat(),
        "companies": [
            {"company_name": "A", "exceptions": ["next payroll red (Tue 1 Dec 2026)"]},
            {"company_name": "B", "exceptions": []},
        ],
    }
    subject, body = email_text(manifest)
    assert "1 of 2 companies with exceptions" in subject and "- A: next payroll red" in body
    ledger.set_firm_recipients(settings, ["CAS@firm.example ", "lead@firm.example"])
    assert ledger.firm_recipients(settings) == ["cas@firm.example", "lead@firm.example"]
    with pytest.raises(ValueError, match="not e-mail addresses: nobody"):
        ledger.set_firm_recipients(settings, ["nobody"])
