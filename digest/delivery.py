"""Who gets a digest and what the e-mail says (a few lines of insight; the PDF has the rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from digest import fmt, ledger
from digest.mail import MailNotConfigured, MailResult, send_digest
from digest.make import FIRM, Produced
from oodaloo.config import Settings


def recipients_for(settings: Settings, scope: str) -> list[str]:
    """Company recipients from the company settings; the firm's from the digest ledger."""
    if scope == FIRM:
        return ledger.firm_recipients(settings)
    from runway.settings import get_company_settings

    return list(get_company_settings(settings, scope).digest_recipients)


def _company_lines(company: dict[str, Any]) -> list[str]:
    lines = [f"{company['company_name']}"]
    lines += [f"  {k['label']}: {fmt.kpi_value(k['value'], k['kind'])}" for k in company["kpis"]]
    lines += [f"  {q} {a}" for q, a in company["answers"]]
    return lines


def email_text(manifest: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body from the digest's manifest (the same figures as the PDF)."""
    week = manifest["week"]
    if manifest["scope"] == FIRM:
        companies = manifest["companies"]
        flagged = [c for c in companies if c["exceptions"]]
        subject = (
            f"Oodaloo firm digest {week}: "
            f"{len(flagged)} of {len(companies)} companies with exceptions"
        )
        body = [f"Firm digest for week {week} (figures as known at {manifest['data_as_of']}).", ""]
        body += [f"- {c['company_name']}: {'; '.join(c['exceptions'])}" for c in flagged] or [
            "No exceptions this week."
        ]
    else:
        subject = f"Oodaloo digest {week}: {manifest['company_name']}"
        body = [
            f"Digest for week {week} "
            f"(figures as known at {manifest['data_as_of']}; {manifest['freshness']}).",
            "",
        ]
        body += _company_lines(manifest)
    body += [
        "",
        "The PDF attached has the forecast, the lists and the aging tables. Insights, not advice.",
    ]
    return subject, "\n".join(body)


def email_digest(
    settings: Settings, produced: Produced, at: datetime, recipients: list[str] | None = None
) -> list[MailResult]:
    """E-mail a made digest to its recipients (none configured: nothing is sent)."""
    if not settings.smtp_host:
        raise MailNotConfigured(
            "e-mail is off: set OODALOO_SMTP_HOST (and port, user, password) to send digests"
        )
    to = recipients if recipients is not None else recipients_for(settings, produced.scope)
    if not to:
        return []
    subject, body = email_text(produced.manifest)
    return send_digest(
        settings,
        scope=produced.scope,
        week=str(produced.week),
        recipients=to,
        subject=subject,
        body=body,
        pdf=produced.pdf,
        filename=f"oodaloo-digest-{produced.week}-{produced.scope}.pdf",
        at=at,
    )
