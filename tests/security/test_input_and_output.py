"""Bad input never reaches QuickBooks or a traceback; QBO text stays data in pages, PDF and CSV;
mail refuses to send a password in clear; the console serves loopback only."""

from __future__ import annotations

import csv
import io
import smtplib
import socket
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from oodaloo import auth
from oodaloo.config import load_settings
from oodaloo.present import csv_safe, csv_safe_frame, escape_markdown
from tests.security.conftest import World

HOSTILE = "![pwn](http://evil.example/p.png) [Reconnect QuickBooks](https://evil.example/x) <b>"
FORMULA = '=HYPERLINK("http://evil.example","Click")'


# ---- ids and amounts ---------------------------------------------------------------------


def test_a_malformed_id_never_reaches_a_url(world: World) -> None:
    from sync.client import InvalidQBOId, QBOClient

    realm = world.realms[0]
    with QBOClient(world.settings) as client:
        for bad in ("887?x=1", "887/../1", "1 OR 1", "", "８８７"):
            with pytest.raises(InvalidQBOId):
                client.read(realm, "Bill", bad, lane="user")
        with pytest.raises(InvalidQBOId):
            client.send_invoice(realm, "41&sendTo=evil@x.example")
        with pytest.raises(InvalidQBOId):
            client.company_info("913?x=1", lane="user")
        assert client.requests_made == 0  # refused before any request went out


def test_paying_a_malformed_bill_id_fails_without_a_write(world: World) -> None:
    from actions.service import ActionService

    realm = world.realms[0]
    with ActionService(world.settings, qbo_clock=world.db.now) as svc:
        result = svc.submit_pay_bill(realm, "887?x=1", actor="local:test")
    assert result.outcome not in ("executed", "already_succeeded")


@pytest.mark.parametrize("amount", ["NaN", "nan", "inf", "-Infinity", "1e400", "abc"])
def test_non_finite_or_bad_amounts_exit_2_with_a_message(
    world: World, amount: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from oodaloo.cli import main

    bill = world.seeded[world.realms[0]]["open_bills"][0]
    code = main(
        ["act", "pay-bill", "--company", world.realms[0], "--bill", bill, f"--amount={amount}"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--amount" in err and "Traceback" not in err


# ---- QBO text is data ----------------------------------------------------------------------


def test_escape_markdown_leaves_no_markup() -> None:
    """Every character Markdown or HTML could act on carries a backslash, so the renderer shows
    it literally; removing the escapes gives back exactly the original text."""
    import re

    escaped = escape_markdown(HOSTILE)
    unescaped = re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "")
    assert unescaped == HOSTILE
    for special in "![]()<>":
        positions = [i for i, c in enumerate(escaped) if c == special]
        assert positions and all(escaped[i - 1] == "\\" for i in positions), special
    assert "://" not in escaped  # no bare URL for auto-linking
    assert "\n" not in escape_markdown("line\n# heading")


def test_csv_cells_never_start_a_formula() -> None:
    cells = [FORMULA, "+1+1", "-2+3", "@SUM(A1)", "Zoë & Søn", "O'Brien"]
    frame = pl.DataFrame({"name": cells, "amount": [-12.5, 1.0, 2.0, 3.0, 4.0, 5.0]})
    rows = list(csv.DictReader(io.StringIO(csv_safe_frame(frame).write_csv())))
    for row, original in zip(rows, cells, strict=True):
        assert row["name"][0] not in "=+-@", row
        assert row["name"].lstrip("'") == original  # nothing else changed
    assert [r["amount"] for r in rows][0] == "-12.5"  # numbers are not text: untouched
    assert csv_safe(FORMULA) == "'" + FORMULA and csv_safe(-3) == -3


def test_pdf_shows_hostile_names_as_text(isolated_env: Any) -> None:
    import sys
    from pathlib import Path

    from pypdf import PdfReader

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digest"))
    from digest_factories import AS_OF, DATA_AS_OF, fake_view  # type: ignore[import-not-found]

    from digest.figures import build_company_digest
    from digest.pdf import render_company_pdf

    view = fake_view("9130001", "tight")
    digest = build_company_digest(
        view,
        realm_id="9130001",
        company_name=HOSTILE,
        week="2026-W47",
        time_zone="America/New_York",
        as_of=AS_OF,
        data_as_of=DATA_AS_OF,
        freshness={"badge": "Synced 3 min ago", "status": "fresh"},
        actions=[],
    )
    pdf, _ = render_company_pdf(digest, "16–20 Nov 2026", None)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "[Reconnect QuickBooks](https://evil.example/x)" in " ".join(text.split())
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            assert "evil.example" not in str(action.get("/URI", "")), "a live link in the PDF"
    assert len(reader.pages[0].images) == 0 or all(
        "evil" not in img.name for img in reader.pages[0].images
    )


# ---- mail ----------------------------------------------------------------------------------


@pytest.fixture
def plain_smtp() -> Iterator[tuple[int, list[str]]]:
    """An SMTP server on loopback that offers AUTH but no STARTTLS; records the commands."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult

    seen: list[str] = []

    class Recording(SMTP):
        async def smtp_AUTH(self, arg: str) -> None:
            seen.append("AUTH")
            await super().smtp_AUTH(arg)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            seen.append("DATA")
            return "250 OK"

    class Accepting(Controller):
        def factory(self) -> SMTP:
            return Recording(
                self.handler,
                auth_require_tls=False,
                authenticator=lambda *a: AuthResult(success=True),
            )

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Accepting(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, seen
    finally:
        controller.stop()


def test_smtp_refuses_to_send_a_password_without_tls(
    isolated_env: Any, plain_smtp: tuple[int, list[str]]
) -> None:
    from digest import mail

    port, seen = plain_smtp
    settings = load_settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_username="digest", smtp_password="s3cr3t"
    )
    assert settings.smtp_security == "starttls"  # the default
    message = mail.build_message(settings, "owner@example.com", "s", "b", b"%PDF", "d.pdf")
    result = mail.send_one(settings, message)
    assert not result.ok and result.attempts == 1 and "STARTTLS" in (result.error or "")
    assert seen == []  # neither the password nor the message went out
    with pytest.raises(smtplib.SMTPException):
        mail._deliver(settings, message)

    opted_in = load_settings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="plain")
    assert mail.send_one(opted_in, message).ok and seen == ["DATA"]


# ---- where the console serves --------------------------------------------------------------


def test_serving_rules(isolated_env: Any) -> None:
    settings = load_settings()
    ok = auth.serving_problem
    assert ok(settings, "127.0.0.1", "127.0.0.1:8501", "127.0.0.1") is None
    assert ok(settings, "127.0.0.1", "localhost:8501", "::1") is None
    # started outside the repo (no config: every interface): remote visitors are refused
    assert ok(settings, None, "10.0.0.5:8501", "10.0.0.9") is not None
    assert ok(settings, "", "192.168.1.4:8501", "192.168.1.7") is not None
    # DNS rebinding: a foreign name pointing at 127.0.0.1
    assert ok(settings, "127.0.0.1", "attacker.example:8501", "127.0.0.1") is not None
    opened = load_settings(bind_address="console.firm.example")
    assert ok(opened, "0.0.0.0", "console.firm.example", "10.0.0.9") is None
    assert ok(opened, "0.0.0.0", "other.example", "10.0.0.9") is not None
    # the development identity is honoured only on loopback
    assert auth.local_identity_allowed(load_settings(auth_local_identity="a@b.example"))
    assert not auth.local_identity_allowed(
        load_settings(auth_local_identity="a@b.example", bind_address="console.firm.example")
    )


def test_the_cli_refuses_a_malformed_id_with_exit_2(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from oodaloo.cli import main

    realm = world.realms[0]
    assert main(["act", "pay-bill", "--company", realm, "--bill", "887?x=1"]) == 2
    assert "--bill '887?x=1' is not a QuickBooks id" in capsys.readouterr().err
    assert main(["act", "remind", "--company", realm, "--invoice", "4/../5"]) == 2
