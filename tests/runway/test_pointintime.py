"""Point-in-time books for a company synced once, today: past aging equals the sandbox's own
AgedReceivables / AgedPayables and a recomputation from the raw documents; past bank balances equal
the sum of every bank movement dated up to that day; a forecast as of T uses nothing after T."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import orjson
import polars as pl
import pytest

from oodaloo.config import Settings, load_settings
from runway import api
from runway.pipeline import CalculatorInputs, compute
from runway.pointintime import books_as_of
from runway.snapshot import load_snapshot
from tests.runway.test_integration import our_totals, qbo_aging_totals

SEED = 20261120


@pytest.fixture(scope="module")
def synced_once(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The whole demo firm, synced once, today (no change history to fall back on)."""
    from sandbox.demo import build_demo_firm
    from sync.engine import sync_all
    from sync.oauth import connect_sandbox_companies

    data_dir = Path(tmp_path_factory.mktemp("pit-demo")) / "data"
    data_dir.mkdir()
    settings = load_settings(data_dir=data_dir)
    build_demo_firm(settings.sandbox_path, seed=SEED, today=settings.demo_today, companies=12)
    connect_sandbox_companies(settings)
    results = sync_all(settings)
    assert [r.outcome for r in results] == ["ok"] * 12, results
    return settings


def _raw(settings: Settings, realm: str, entity: str) -> list[dict]:
    from sandbox import docstore
    from sandbox.state import SandboxDB

    db = SandboxDB(settings.sandbox_path)
    try:
        with db.read() as conn:
            return docstore.docs_where(conn, realm, entity, "1 = 1", [])
    finally:
        db.close()


def _d(value: object) -> Decimal:
    return Decimal(str(value or 0))


def raw_open_total(settings: Settings, realm: str, as_of: date, side: str) -> Decimal:
    """Open A/R or A/P at ``as_of`` in the home currency, from the raw documents: every
    document dated by then, at its amount less what was applied to it by payments dated by then."""
    doc_entity, pay_entity, credit_entity = (
        ("Invoice", "Payment", "CreditMemo")
        if side == "ar"
        else ("Bill", "BillPayment", "VendorCredit")
    )
    applied: dict[str, Decimal] = {}
    for pay in _raw(settings, realm, pay_entity):
        if date.fromisoformat(pay["TxnDate"]) > as_of:
            continue
        for line in pay.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link["TxnType"] in (doc_entity, credit_entity):
                    applied[link["TxnId"]] = applied.get(link["TxnId"], Decimal(0)) + _d(
                        line["Amount"]
                    )
    total = Decimal(0)
    # open credits (credit memos, vendor credits) count negative, as in QBO's aging reports
    for entity, sign in ((doc_entity, 1), (credit_entity, -1)):
        for doc in _raw(settings, realm, entity):
            if date.fromisoformat(doc["TxnDate"]) > as_of:
                continue
            open_amt = _d(doc["TotalAmt"]) - applied.get(str(doc["Id"]), Decimal(0))
            if open_amt <= 0:
                continue
            rate = doc.get("ExchangeRate")
            if rate:
                open_amt = (open_amt * _d(rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)
            total += sign * open_amt
    if side == "ar":  # and so do payments not applied to any invoice
        for pay in _raw(settings, realm, "Payment"):
            if date.fromisoformat(pay["TxnDate"]) <= as_of:
                unapplied = _d(pay.get("UnappliedAmt"))
                rate = pay.get("ExchangeRate")
                if rate:
                    unapplied = (unapplied * _d(rate)).quantize(Decimal("0.01"), ROUND_HALF_UP)
                total -= unapplied
    return total


def raw_bank_balance(settings: Settings, realm: str, as_of: date) -> dict[str, Decimal]:
    """Each Bank account's balance at ``as_of`` built forwards: the sum of every movement dated
    up to that day (the opening balance is a journal entry like any other)."""
    banks = {a["Id"] for a in _raw(settings, realm, "Account") if a["AccountType"] == "Bank"}
    out = {b: Decimal(0) for b in banks}

    def add(account: str | None, amount: Decimal) -> None:
        if account in out:
            out[account] += amount

    for entity in (
        "Payment",
        "Deposit",
        "BillPayment",
        "Purchase",
        "JournalEntry",
        "SalesReceipt",
        "RefundReceipt",
        "Transfer",
    ):
        for doc in _raw(settings, realm, entity):
            if date.fromisoformat(doc["TxnDate"]) > as_of:
                continue
            total = _d(doc.get("TotalAmt"))
            if entity in ("Payment", "Deposit", "SalesReceipt"):
                add((doc.get("DepositToAccountRef") or {}).get("value"), total)
            elif entity == "RefundReceipt":
                add((doc.get("DepositToAccountRef") or {}).get("value"), -total)
            elif entity == "Transfer":
                add(doc["FromAccountRef"]["value"], -_d(doc["Amount"]))
                add(doc["ToAccountRef"]["value"], _d(doc["Amount"]))
            elif entity == "BillPayment":
                add(
                    ((doc.get("CheckPayment") or {}).get("BankAccountRef") or {}).get("value"),
                    -total,
                )
            elif entity == "Purchase":
                add((doc.get("AccountRef") or {}).get("value"), -total)
            else:
                for line in doc["Line"]:
                    detail = line["JournalEntryLineDetail"]
                    sign = 1 if detail["PostingType"] == "Debit" else -1
                    add(detail["AccountRef"]["value"], sign * _d(line["Amount"]))
    return out


PAST = (date(2026, 8, 21), date(2026, 10, 2), date(2026, 6, 30), date(2026, 11, 13))


def test_past_aging_and_cash_for_every_company(synced_once: Settings) -> None:
    settings = synced_once
    snap = load_snapshot(settings)
    assert len(snap.realm_ids) == 12
    for as_of in PAST:
        view = compute(CalculatorInputs(books_as_of(snap, as_of), as_of))
        for realm in snap.realm_ids:
            ar = our_totals(view.aging_ar, realm)
            assert ar == qbo_aging_totals(settings, realm, "AgedReceivables", as_of), (realm, as_of)
            assert ar[-1] == raw_open_total(settings, realm, as_of, "ar"), (realm, as_of)
            ap = our_totals(view.aging_ap, realm)
            assert ap == qbo_aging_totals(settings, realm, "AgedPayables", as_of), (realm, as_of)
            assert ap[-1] == raw_open_total(settings, realm, as_of, "ap"), (realm, as_of)
            banks = view.cash.filter((pl.col("realm_id") == realm) & (pl.col("kind") == "bank"))
            ours = {
                row["account_id"]: row["balance_foreign"] for row in banks.iter_rows(named=True)
            }
            assert ours == raw_bank_balance(settings, realm, as_of), (realm, as_of)


def test_report_cli_as_of_a_past_friday(
    synced_once: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from runway.cli import handle

    realm = "6805766503506974"  # Bluebird Analytics, as quoted in the issue
    as_of = date(2026, 8, 21)
    for kind in ("aging-ar", "cash"):
        args = argparse.Namespace(kind=kind, company=realm, as_of=as_of, json=True)
        assert handle(args, synced_once) == 0
        payload = orjson.loads(capsys.readouterr().out)
        if kind == "aging-ar":
            expected = qbo_aging_totals(synced_once, realm, "AgedReceivables", as_of)[-1]
            assert Decimal(payload["total"]) == expected
        else:
            banks = raw_bank_balance(synced_once, realm, as_of)  # Bluebird banks only in USD
            assert Decimal(payload["cash"]) == sum(banks.values())
            today_cash = api.company_view(synced_once, realm, synced_once.demo_today).cash_position
            assert Decimal(payload["cash"]) != today_cash["cash"][0]


def test_books_compose_and_ingest_basis_stays_the_change_log(synced_once: Settings) -> None:
    snap = load_snapshot(synced_once)
    later, earlier = date(2026, 10, 2), date(2026, 8, 21)
    once = books_as_of(snap, earlier)
    twice = books_as_of(books_as_of(snap, later), earlier)
    for table in ("invoice", "bill", "account", "payment"):
        key = ["realm_id", "id"]
        assert once[table].sort(key).equals(twice[table].sort(key)), table
    # "what we knew then": nothing had been synced by the end of 2026-08-21
    knew = api.snapshot_for(synced_once, earlier, today=synced_once.demo_today, basis="ingest")
    assert knew["invoice"].height == 0
    assert once["invoice"].height > 0


def test_forecast_as_of_t_uses_nothing_created_or_dated_after_t(synced_once: Settings) -> None:
    """Changing or removing anything dated or created after T leaves the forecast as of T alone."""
    snap = load_snapshot(synced_once)
    as_of = date(2026, 9, 4)
    base = compute(CalculatorInputs(books_as_of(snap, as_of, known_only=True), as_of))
    cut = pl.datetime(2026, 9, 5, time_zone="UTC")
    tables = {}
    for name, frame in snap.tables.items():
        if "txn_date" in frame.columns:
            after = (pl.col("txn_date") > as_of) | (pl.col("source_created_at") >= cut)
            # move every later document a further year out and double its amount
            frame = frame.with_columns(
                pl.when(after)
                .then(pl.col("txn_date") + timedelta(days=365))
                .otherwise(pl.col("txn_date"))
                .alias("txn_date")
            )
        tables[name] = frame
    from dataclasses import replace

    shifted = replace(snap, tables=tables)
    other = compute(CalculatorInputs(books_as_of(shifted, as_of, known_only=True), as_of))
    for frame in ("forecast", "forecast_items", "runway"):
        a, b = getattr(base, frame), getattr(other, frame)
        assert a.sort(a.columns).equals(b.sort(b.columns)), frame
    assert base.forecast_items.height > 0
    assert base.forecast_items["date"].min() >= as_of
