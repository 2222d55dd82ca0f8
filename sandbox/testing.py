"""Reusable helpers for tests that need a sandbox (ours and other packages').

* ``seed_small_company(db, realm_id, name)``: a tiny, consistent company (ids returned).
* ``make_sandbox(path, companies=2)``: a sandbox file with N small companies.
* ``issue_tokens(target, realm_id)`` / ``issue_token(...)``: tokens through the real authorize +
  token endpoints (target: an httpx transport, a ``create_app`` app, or a base URL).
* ``api_client(target, realm_id)``: an httpx.Client with a fresh bearer token for one realm.
* ``serve_in_subprocess(db_path)``: run ``oodaloo sandbox serve`` on a free loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from oodaloo.config import DEFAULT_REDIRECT_URI, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from sandbox import timeutil
from sandbox.state import SandboxDB

EMBEDDED_BASE = "http://sandbox.oodaloo.invalid"
Target = httpx.BaseTransport | httpx.Client | str | Any


class _Docs:
    """Builds complete stored documents (Id, SyncToken, MetaData...) for ``bulk_insert``."""

    def __init__(self, db: SandboxDB, realm_id: str, tz: str) -> None:
        self.stamp = timeutil.stamp(db.now_epoch(), tz)
        self.today = timeutil.local_date(db.now_epoch(), tz)
        self.by_entity: dict[str, list[dict[str, Any]]] = {}

    def add(self, entity: str, doc_id: int, **fields: Any) -> str:
        doc = {
            "Id": str(doc_id),
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": self.stamp, "LastUpdatedTime": self.stamp},
            **fields,
        }
        self.by_entity.setdefault(entity, []).append(doc)
        return str(doc_id)

    def day(self, offset: int) -> str:
        return (self.today + timedelta(days=offset)).isoformat()


def _ref(value: str, name: str) -> dict[str, str]:
    return {"value": value, "name": name}


def _link(txn_id: str, txn_type: str) -> list[dict[str, str]]:
    return [{"TxnId": txn_id, "TxnType": txn_type}]


def seed_small_company(
    db: SandboxDB, realm_id: str, name: str, *, tz: str = "America/Los_Angeles"
) -> dict[str, Any]:
    """Insert a tiny consistent company and return its ids.

    Balances agree with the documents: customers 1000/2500/300 open, vendors 3400/1500/0 open,
    bank 25000.00; one partially paid invoice, one paid invoice, one paid bill, one bill 100 days
    late.
    """
    db.create_company(
        realm_id,
        {
            "CompanyName": name,
            "Country": "US",
            "FiscalYearStartMonth": "January",
            "NameValue": [{"Name": "TimeZone", "Value": tz}],
        },
    )
    d = _Docs(db, realm_id, tz)
    bank = d.add(
        "Account",
        1,
        Name="Checking",
        AccountType="Bank",
        AccountSubType="Checking",
        Classification="Asset",
        CurrentBalance=25000.0,
        Active=True,
    )
    d.add(
        "Account",
        2,
        Name="Accounts Receivable (A/R)",
        AccountType="Accounts Receivable",
        CurrentBalance=3800.0,
        Active=True,
    )
    ap = d.add(
        "Account",
        3,
        Name="Accounts Payable (A/P)",
        AccountType="Accounts Payable",
        CurrentBalance=4900.0,
        Active=True,
    )
    income = d.add(
        "Account", 4, Name="Services", AccountType="Income", CurrentBalance=0.0, Active=True
    )
    rent = d.add("Account", 5, Name="Rent", AccountType="Expense", CurrentBalance=0.0, Active=True)
    d.add("Account", 6, Name="Contractors", AccountType="Expense", CurrentBalance=0.0, Active=True)
    card = d.add(
        "Account",
        7,
        Name="Company Card",
        AccountType="Credit Card",
        CurrentBalance=0.0,
        Active=True,
    )
    net30 = d.add("Term", 10, Name="Net 30", Type="STANDARD", DueDays=30, Active=True)
    d.add("Term", 11, Name="Net 15", Type="STANDARD", DueDays=15, Active=True)
    customers = [
        d.add(
            "Customer",
            20,
            DisplayName=f"{name} Client A",
            PrimaryEmailAddr={"Address": "a@client.example"},
            Balance=1000.0,
            Active=True,
            SalesTermRef=_ref(net30, "Net 30"),
        ),
        d.add(
            "Customer",
            21,
            DisplayName=f"{name} Client B",
            PrimaryEmailAddr={"Address": "b@client.example"},
            Balance=2500.0,
            Active=True,
        ),
        d.add("Customer", 22, DisplayName=f"{name} Client C", Balance=300.0, Active=True),
    ]
    vendors = [
        d.add(
            "Vendor",
            30,
            DisplayName=f"{name} Landlord",
            Balance=3400.0,
            Active=True,
            TermRef=_ref(net30, "Net 30"),
        ),
        d.add("Vendor", 31, DisplayName=f"{name} Designer", Balance=1500.0, Active=True),
        d.add("Vendor", 32, DisplayName=f"{name} Hosting", Balance=0.0, Active=True),
    ]

    def invoice(
        doc_id: int,
        cust: int,
        amount: float,
        balance: float,
        txn: int,
        due: int,
        num: str,
        **extra: Any,
    ) -> str:
        line = {
            "Id": "1",
            "LineNum": 1,
            "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"}},
        }
        return d.add(
            "Invoice",
            doc_id,
            DocNumber=num,
            CustomerRef=_ref(customers[cust], f"{name} Client {'ABC'[cust]}"),
            TxnDate=d.day(txn),
            DueDate=d.day(due),
            Line=[line],
            TotalAmt=amount,
            Balance=balance,
            EmailStatus="NotSet",
            **extra,
        )

    def bill(
        doc_id: int, vend: int, amount: float, balance: float, txn: int, due: int, **extra: Any
    ) -> str:
        line = {
            "Id": "1",
            "Amount": amount,
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {"AccountRef": _ref(rent, "Rent")},
        }
        return d.add(
            "Bill",
            doc_id,
            VendorRef=_ref(vendors[vend], f"vendor {vend}"),
            APAccountRef=_ref(ap, "A/P"),
            TxnDate=d.day(txn),
            DueDate=d.day(due),
            Line=[line],
            TotalAmt=amount,
            Balance=balance,
            **extra,
        )

    overdue = invoice(
        40, 0, 1000.0, 1000.0, -45, -15, "1001", BillEmail={"Address": "a@client.example"}
    )
    current = invoice(
        41, 1, 2500.0, 2500.0, -10, 20, "1002", BillEmail={"Address": "b@client.example"}
    )
    partial = invoice(42, 2, 800.0, 300.0, -70, -40, "1003", LinkedTxn=_link("50", "Payment"))
    paid = invoice(43, 0, 1200.0, 0.0, -30, 0, "1004", LinkedTxn=_link("51", "Payment"))
    for pay_id, cust, amount, inv, txn in ((50, 2, 500.0, partial, -20), (51, 0, 1200.0, paid, -5)):
        d.add(
            "Payment",
            pay_id,
            CustomerRef=_ref(customers[cust], "c"),
            TotalAmt=amount,
            UnappliedAmt=0.0,
            TxnDate=d.day(txn),
            Line=[{"Amount": amount, "LinkedTxn": _link(inv, "Invoice")}],
        )
    rent_bill = bill(60, 0, 3000.0, 3000.0, -25, 5)
    late_bill = bill(61, 1, 1500.0, 1500.0, -50, -20)
    paid_bill = bill(62, 2, 700.0, 0.0, -40, -10, LinkedTxn=_link("70", "BillPayment"))
    ancient_bill = bill(63, 0, 400.0, 400.0, -130, -100)
    d.add(
        "BillPayment",
        70,
        VendorRef=_ref(vendors[2], "v"),
        PayType="Check",
        TotalAmt=700.0,
        TxnDate=d.day(-12),
        CheckPayment={"BankAccountRef": _ref(bank, "Checking")},
        Line=[{"Amount": 700.0, "LinkedTxn": _link(paid_bill, "Bill")}],
    )
    d.add(
        "Purchase",
        80,
        PaymentType="CreditCard",
        AccountRef=_ref(card, "Company Card"),
        TotalAmt=99.0,
        TxnDate=d.day(-3),
        Line=[
            {
                "Amount": 99.0,
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": _ref(rent, "Rent")},
            }
        ],
    )
    d.add(
        "Deposit",
        81,
        DepositToAccountRef=_ref(bank, "Checking"),
        TotalAmt=150.0,
        TxnDate=d.day(-2),
        Line=[
            {
                "Amount": 150.0,
                "DetailType": "DepositLineDetail",
                "DepositLineDetail": {"AccountRef": _ref(income, "Services")},
            }
        ],
    )
    for entity, docs in d.by_entity.items():
        db.bulk_insert(realm_id, entity, docs)
    return {
        "realm_id": realm_id,
        "bank_account": bank,
        "card_account": card,
        "ap_account": ap,
        "expense_account": rent,
        "income_account": income,
        "term_net30": net30,
        "customers": customers,
        "vendors": vendors,
        "open_invoices": [overdue, current, partial],
        "paid_invoice": paid,
        "open_bills": [rent_bill, late_bill, ancient_bill],
        "paid_bill": paid_bill,
        "today": d.today,
    }


def make_sandbox(path: Path, companies: int = 2, *, first_realm: int = 9130000000001) -> SandboxDB:
    """A sandbox file with ``companies`` small companies.

    Realm ids count up from ``first_realm``."""
    db = SandboxDB(path)
    for index in range(companies):
        seed_small_company(db, str(first_realm + index), f"Company {index + 1}")
    return db


# ---- OAuth through the public protocol ---------------------------------------------------
def client_for(target: Target, **kwargs: Any) -> httpx.Client:
    """An httpx.Client talking to ``target``.

    ``target`` is a transport, an app from create_app, a base URL or a client."""
    if isinstance(target, httpx.Client):
        return target
    if isinstance(target, str):
        return httpx.Client(base_url=target.rstrip("/"), **kwargs)
    if not isinstance(target, httpx.BaseTransport):
        from sandbox.transport import transport_for_app

        target = transport_for_app(target)
    return httpx.Client(base_url=EMBEDDED_BASE, transport=target, **kwargs)


def issue_tokens(
    target: Target,
    realm_id: str,
    *,
    client_id: str = DEMO_CLIENT_ID,
    client_secret: str = DEMO_CLIENT_SECRET,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
) -> dict[str, Any]:
    """The token answer (access_token, refresh_token, ...).

    Obtained via the authorize (realm_id) and token endpoints."""
    client = client_for(target)
    try:
        answer = client.get(
            "/connect/oauth2",
            params={
                "client_id": client_id,
                "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting",
                "redirect_uri": redirect_uri,
                "state": "test-state",
                "realm_id": realm_id,
            },
        )
        if answer.status_code != 302:
            raise AssertionError(f"authorize answered {answer.status_code}: {answer.text[:200]}")
        params = parse_qs(urlsplit(answer.headers["location"]).query)
        token = client.post(
            "/oauth2/v1/tokens/bearer",
            auth=(client_id, client_secret),
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": redirect_uri,
            },
        )
        token.raise_for_status()
        return dict(token.json())
    finally:
        if client is not target:
            client.close()


def issue_token(target: Target, realm_id: str, **kwargs: Any) -> str:
    """An access token for ``realm_id`` obtained through the real authorize + token flow."""
    return str(issue_tokens(target, realm_id, **kwargs)["access_token"])


def api_client(target: Target, realm_id: str, **kwargs: Any) -> httpx.Client:
    """A client with base URL ``.../v3/company/{realm_id}`` and a bearer token for that realm."""
    token = issue_token(target, realm_id)
    client = client_for(target)
    base = str(client.base_url).rstrip("/")
    transport = client._transport
    return httpx.Client(
        base_url=f"{base}/v3/company/{realm_id}",
        transport=transport,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        **kwargs,
    )


# ---- a real server in a subprocess ---------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_subprocess(
    db_path: Path, *extra_args: str, data_dir: Path | None = None, timeout: float = 30.0
) -> Iterator[str]:
    """Run ``oodaloo sandbox serve --db db_path`` on a free loopback port; yields the base URL."""
    port = free_port()
    args = [sys.executable, "-m", "oodaloo.cli"]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    args += ["sandbox", "serve", "--port", str(port), "--db", str(db_path), *extra_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OODALOO_")}
    log_path = Path(db_path).with_suffix(f".server-{port}.log")
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                output = log_path.read_text(errors="replace")
                raise RuntimeError(
                    f"sandbox server exited with {proc.returncode}: {output[-2000:]}"
                )
            try:
                if httpx.get(f"{base}/admin/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not become healthy in time")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def days_ago(today: date, days: int) -> str:
    return (today - timedelta(days=days)).isoformat()
