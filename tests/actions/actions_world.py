"""The sandbox world for the action tests: services wired to it, fault controls and ground truth
read straight from the sandbox file (never through the code under test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actions.executor import ExecutorConfig, ExecutorHooks, fast_backoff
from actions.service import ActionService
from oodaloo.config import load_settings
from sync.limiter import LimiterRegistry, Limits
from sync.retry import FAST, RetryPolicy


class Crash(BaseException):
    """A simulated process death at a phase boundary: nothing after it runs, nothing cleans up."""


# ---- the real sandbox ------------------------------------------------------------------------
ONE_SHOT = RetryPolicy(attempts=1, initial_wait=0.0, max_wait=0.0, total_seconds=5.0, jitter=0.0)
"""No retries inside the client: every fault reaches the executor (the harder case)."""
SANDBOX_START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LOOSE_LIMITS = Limits(
    per_second=10_000,
    per_minute=1_000_000,
    in_flight=64,
    sync_per_second=10_000,
    sync_per_minute=1_000_000,
    sync_in_flight=64,
    throttle_pause_seconds=0.01,
)


class SandboxWorld:
    """Data dir + embedded sandbox (companies seeded, connected through the real OAuth flow),
    fault control through ``sandbox.faults.Faults`` (shared with other processes via the file)."""

    def __init__(
        self, tmp: Path, companies: int = 1, *, loose: bool = True, retry: RetryPolicy = FAST
    ) -> None:
        from sandbox.faults import Faults
        from sandbox.state import SandboxDB
        from sandbox.testing import seed_small_company
        from sync.oauth import connect_sandbox_companies

        self.settings = load_settings(data_dir=tmp / "data")
        self.db = SandboxDB(self.settings.sandbox_path)
        self.db.set_clock(SANDBOX_START, flowing=True)
        self.realms = [str(9130000000001 + i) for i in range(companies)]
        self.seeded = {
            realm: seed_small_company(self.db, realm, f"Company {i + 1}")
            for i, realm in enumerate(self.realms)
        }
        self.faults = Faults(self.db)
        if loose:  # the process-wide core of this file gets the loosened limits before anyone else
            from sandbox.config import RateLimits, SandboxConfig
            from sandbox.transport import core_for

            core_for(self.settings.sandbox_path, SandboxConfig(limits=RateLimits.unlimited()))
        self.loose = loose
        self.retry = retry
        connect_sandbox_companies(self.settings)
        self._clients: list[Any] = []

    def open_bills(self, realm: str) -> list[str]:
        return list(self.seeded[realm]["open_bills"])

    def open_invoices(self, realm: str) -> list[str]:
        return list(self.seeded[realm]["open_invoices"])[:2]  # the two with an e-mail

    def client(self, retry: RetryPolicy | None = None) -> Any:
        from sandbox.transport import embedded_transport
        from sync.client import QBOClient

        transport = embedded_transport(self.settings.sandbox_path)
        client = QBOClient(
            self.settings,
            transport=transport,
            retry=retry or self.retry,
            limiters=LimiterRegistry(LOOSE_LIMITS) if self.loose else None,
        )
        self._clients.append(client)
        return client

    def service(
        self,
        lease_seconds: float = 60.0,
        hooks: ExecutorHooks | None = None,
        retry: RetryPolicy | None = None,
        max_attempts: int = 8,
    ) -> ActionService:
        config = ExecutorConfig(
            lease_seconds=lease_seconds,
            backoff=fast_backoff,
            hooks=hooks or ExecutorHooks(),
            max_attempts=max_attempts,
        )
        return ActionService(
            self.settings, client=self.client(retry), executor_config=config, qbo_clock=self.db.now
        )

    # ---- faults -------------------------------------------------------------------------
    def script(self, match: str, action: str, times: int = 1, realm: str | None = None) -> None:
        self.faults.script(realm, [{"match": match, "action": action, "times": times}])

    def lose_next_write(self) -> None:
        self.script("POST /billpayment", "lost_response")

    def throttle_next(self) -> None:
        self.script("POST /billpayment", "throttle")

    def clear_faults(self) -> None:
        self.faults.clear()

    # ---- ground truth (read straight from the sandbox file, not through our code) ---------
    def docs(self, realm: str, entity: str) -> list[dict[str, Any]]:
        import json as _json

        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT doc FROM docs WHERE realm_id=? AND entity=? AND deleted=0", (realm, entity)
            ).fetchall()
        return [_json.loads(r[0]) for r in rows]

    def doc(self, realm: str, entity: str, doc_id: str) -> dict[str, Any] | None:
        return next((d for d in self.docs(realm, entity) if d["Id"] == doc_id), None)

    def payments_for(self, realm: str, bill_id: str) -> list[dict[str, Any]]:
        return [
            d
            for d in self.docs(realm, "BillPayment")
            if any(
                link.get("TxnId") == bill_id
                for line in d.get("Line", [])
                for link in line.get("LinkedTxn", [])
            )
        ]

    def payments_by_marker(self, realm: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for doc in self.docs(realm, "BillPayment"):
            note = str(doc.get("PrivateNote") or "")
            if note.startswith("oodaloo:"):
                out.setdefault(note, []).append(doc)
        return out

    def open_invoices_all(self, realm: str) -> list[str]:
        return list(self.seeded[realm]["open_invoices"])

    # ---- somebody else working in QBO directly (own token, no fault injection) --------------
    def outside(self, realm: str, method: str, path: str, **kw: Any) -> dict[str, Any]:
        from sandbox.testing import api_client
        from sandbox.transport import embedded_transport

        with (
            self.faults_paused(),
            api_client(embedded_transport(self.settings.sandbox_path), realm) as api,
        ):
            answer = api.request(
                method, path, params={"minorversion": "75", **kw.pop("params", {})}, **kw
            )
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

    def pay_outside(self, realm: str, bill_id: str) -> None:
        """Someone pays the bill in QBO directly (no marker)."""
        bill = self.doc(realm, "Bill", bill_id)
        if bill is None or not bill.get("Balance"):
            return
        body = {
            "VendorRef": bill["VendorRef"],
            "PayType": "Check",
            "TotalAmt": bill["Balance"],
            "CheckPayment": {"BankAccountRef": {"value": self.seeded[realm]["bank_account"]}},
            "Line": [
                {"Amount": bill["Balance"], "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]}
            ],
        }
        self.outside(realm, "POST", "/billpayment", json=body)

    def edit_bill_note(self, realm: str, bill_id: str, text: str) -> None:
        bill = self.doc(realm, "Bill", bill_id)
        assert bill is not None
        body = {"Id": bill_id, "SyncToken": bill["SyncToken"], "sparse": True, "PrivateNote": text}
        self.outside(realm, "POST", "/bill", json=body)

    def delete_doc(self, realm: str, entity: str, doc_id: str) -> None:
        doc = self.doc(realm, entity, doc_id)
        assert doc is not None
        self.outside(
            realm,
            "POST",
            f"/{entity.lower()}",
            params={"operation": "delete"},
            json={"Id": doc_id, "SyncToken": doc["SyncToken"]},
        )

    def void_invoice(self, realm: str, invoice_id: str) -> None:
        doc = self.doc(realm, "Invoice", invoice_id)
        assert doc is not None
        self.outside(
            realm,
            "POST",
            "/invoice",
            params={"operation": "void"},
            json={"Id": invoice_id, "SyncToken": doc["SyncToken"]},
        )

    def send_invoice_outside(self, realm: str, invoice_id: str) -> None:
        self.outside(realm, "POST", f"/invoice/{invoice_id}/send")

    @contextmanager
    def faults_paused(self) -> Iterator[None]:
        pending = self.faults.pending()
        settings = self.faults.settings()
        self.faults.clear()
        try:
            yield
        finally:
            for scope, values in settings.items():
                self.faults.set(values, None if scope == "*" else scope)
            for rule in pending:
                self.faults.script(
                    rule["realm"],
                    [
                        {
                            "match": rule["match"],
                            "action": rule["action"],
                            "times": rule["remaining"],
                        }
                    ],
                )

    def open_intents(self) -> int:
        from actions.ledger import Ledger

        ledger = Ledger(self.settings.actions_path)
        try:
            return ledger.count_open()
        finally:
            ledger.close()

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def make_world(tmp: Path, companies: int = 1) -> SandboxWorld:
    return SandboxWorld(tmp, companies)
