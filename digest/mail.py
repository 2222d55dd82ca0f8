"""E-mailing a digest: one message per recipient (nobody sees the others' addresses) with the PDF
attached, over smtplib with the settings' server. Transient failures (connection trouble, 4xx
replies) are retried a few times; every outcome is recorded per digest and recipient. The SMTP
password is never logged nor stored in an error message."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from digest import ledger
from oodaloo.config import Settings

log = logging.getLogger(__name__)
ATTEMPTS = 3
WAIT_SECONDS = 0.5  # first back-off; doubles up to 4 s


@dataclass(frozen=True)
class MailResult:
    recipient: str
    ok: bool
    attempts: int
    error: str | None


class MailNotConfigured(RuntimeError):
    """No SMTP server is set (``OODALOO_SMTP_HOST``)."""


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, InsecureTransport):
        return False  # the server will not grow STARTTLS between two tries
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    return isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError))


def _clean(settings: Settings, exc: BaseException) -> str:
    """A short error text with any secret removed."""
    text = f"{type(exc).__name__}: {exc}"[:400]
    if settings.smtp_password is not None:
        secret = settings.smtp_password.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
    return text


def build_message(
    settings: Settings, recipient: str, subject: str, body: str, pdf: bytes, filename: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="oodaloo.local")
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    return message


class InsecureTransport(smtplib.SMTPException):
    """Refused to talk to the SMTP server without TLS (never retried: it will not change)."""


def _is_loopback(host: str) -> bool:
    from oodaloo.auth import is_loopback

    return is_loopback(host)


def _deliver(settings: Settings, message: EmailMessage) -> None:
    """Send over TLS unless plain was explicitly chosen: ``starttls`` (default) requires the
    server to offer STARTTLS before a password or message goes out; a loopback relay without
    credentials is the one exception (nothing secret crosses a network)."""
    assert settings.smtp_host is not None
    credentials = bool(settings.smtp_username and settings.smtp_password is not None)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=20, context=context)
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif credentials or not _is_loopback(settings.smtp_host):
                raise InsecureTransport(
                    f"the SMTP server {settings.smtp_host} offers no STARTTLS: refusing to send "
                    "without TLS (set OODALOO_SMTP_SECURITY=plain to allow it explicitly)"
                )
        if credentials:
            assert settings.smtp_password is not None
            smtp.login(str(settings.smtp_username), settings.smtp_password.get_secret_value())
        smtp.send_message(message)


def send_one(settings: Settings, message: EmailMessage) -> MailResult:
    recipient = str(message["To"])
    attempts = 0
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential(multiplier=WAIT_SECONDS, max=4),
            retry=retry_if_exception(_transient),
            reraise=True,
        ):
            with attempt:
                attempts = attempt.retry_state.attempt_number
                _deliver(settings, message)
    except (smtplib.SMTPException, OSError, RetryError) as exc:
        error = _clean(settings, exc)
        log.warning(
            "digest e-mail to %s failed after %d attempt(s): %s", recipient, attempts, error
        )
        return MailResult(recipient, False, attempts, error)
    return MailResult(recipient, True, attempts, None)


def send_digest(
    settings: Settings,
    *,
    scope: str,
    week: str,
    recipients: Sequence[str],
    subject: str,
    body: str,
    pdf: bytes,
    filename: str,
    at: datetime,
) -> list[MailResult]:
    """Send to each recipient and record each outcome in the digest ledger."""
    if not settings.smtp_host:
        raise MailNotConfigured(
            "e-mail is off: set OODALOO_SMTP_HOST (and port, user, password) to send digests"
        )
    results = []
    for recipient in recipients:
        result = send_one(
            settings, build_message(settings, recipient, subject, body, pdf, filename)
        )
        ledger.record_delivery(
            settings,
            scope,
            week,
            recipient,
            ok=result.ok,
            attempts=result.attempts,
            error=result.error,
            at=at,
        )
        results.append(result)
    return results
