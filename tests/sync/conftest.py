"""Sandbox-backed fixtures for the sync tests: a world (sandbox file + connected companies), the
sandbox's truth read straight from its SQLite store, and the comparison with our store."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from oodaloo.config import Settings
from sandbox.config import RateLimits, SandboxConfig
from sandbox.state import SandboxDB
from sandbox.testing import make_sandbox
from sandbox.transport import core_for, forget
from sync.client import QBOClient
from sync.context import SyncOptions
from sync.limiter import LimiterRegistry
from sync.oauth import connect_sandbox_companies
from sync.retry import FAST
from sync.schema import BY_QBO_NAME, ENTITIES
from sync.store import Warehouse
from tests.sync import rowwise

SMALL_PAGES = SyncOptions(page_size=20, lag_seconds=0, overlap_seconds=60)
MID_PAGES = SyncOptions(page_size=100, lag_seconds=0, overlap_seconds=60)


@dataclass
class World:
    settings: Settings
    db: SandboxDB
    realms: list[str]
    clients: list[QBOClient] = field(default_factory=list)
    served_file: Path | None = None  # a sandbox served by another process: its file is the truth

    @property
    def truth_path(self) -> Path:
        return self.served_file or self.settings.sandbox_path

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse_path)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.db.close()
        forget(self.settings.sandbox_path)

    def client(self) -> QBOClient:
        client = QBOClient(self.settings, retry=FAST, limiters=LimiterRegistry())
        self.clients.append(client)
        return client


def build_world(
    settings: Settings,
    *,
    demo: bool = False,
    companies: int = 2,
    scale: float = 0.2,
    seed: int = 7,
    config: SandboxConfig | None = None,
) -> World:
    """A sandbox with companies, all connected through the real OAuth flow. The in-process
    sandbox is made with ``config`` (default: QBO's limits off, so test set-up is quick)."""
    core_for(settings.sandbox_path, config or SandboxConfig(limits=RateLimits.unlimited()))
    if demo:
        from sandbox.demo.build import build_demo_firm

        build_demo_firm(
            settings.sandbox_path,
            seed=seed,
            today=date(2026, 11, 20),
            companies=companies,
            scale=scale,
        )
        db = SandboxDB(settings.sandbox_path)
    else:
        db = make_sandbox(settings.sandbox_path, companies=companies)
    realms = connect_sandbox_companies(settings)
    return World(settings, db, realms)


@pytest.fixture
def world(settings: Settings) -> Any:
    w = build_world(settings)
    yield w
    w.close()


@pytest.fixture
def demo_world(settings: Settings) -> Any:
    w = build_world(settings, demo=True, companies=2, scale=0.2)
    yield w
    w.close()


# ---- truth and comparison ----------------------------------------------------------------------
def truth(sandbox_path: Path, realm_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{entity: {id: document}} of the live documents the sandbox holds (read from its file)."""
    con = sqlite3.connect(sandbox_path)
    try:
        rows = con.execute(
            "SELECT entity, id, doc FROM docs WHERE realm_id = ? AND deleted = 0", (realm_id,)
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, dict[str, Any]]] = {spec.qbo_name: {} for spec in ENTITIES}
    for entity, doc_id, doc in rows:
        if entity in out:
            out[entity][str(doc_id)] = json.loads(doc)
    return out


def _typed(spec_name: str, doc: dict[str, Any]) -> dict[str, Any]:
    spec = BY_QBO_NAME[spec_name]
    schema = rowwise.log_schema(spec)
    types = {f.name: f.type for f in schema}
    return {name: rowwise.coerce(value, types[name]) for name, value in spec.row(doc).items()}


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def assert_store_matches_truth(world: World, realms: list[str] | None = None) -> int:
    """Every kept field of every live document equals the sandbox's; nothing extra is current.
    Returns the number of documents compared."""
    compared = 0
    for realm_id in realms or world.realms:
        expected = truth(world.truth_path, realm_id)
        for spec in ENTITIES:
            with world.warehouse.read() as con:
                table = con.sql(
                    f"SELECT * FROM {spec.current_view} WHERE realm_id = ?", params=[realm_id]
                ).to_arrow_table()
            ours = {row["id"]: row for row in table.to_pylist()}
            want = expected[spec.qbo_name]
            assert sorted(ours) == sorted(want), f"{realm_id} {spec.qbo_name}: ids differ"
            for doc_id, doc in want.items():
                row = ours[doc_id]
                assert row["sync_token"] == int(doc["SyncToken"]), f"{spec.qbo_name} {doc_id} token"
                for name, value in _typed(spec.qbo_name, doc).items():
                    assert _norm(row[name]) == _norm(value), (
                        f"{realm_id} {spec.qbo_name} {doc_id} field {name}: "
                        f"{row[name]!r} != {value!r}"
                    )
                assert json.loads(row["raw"]) == doc, f"{spec.qbo_name} {doc_id}: raw JSON differs"
                compared += 1
    return compared


def assert_no_duplicate_versions(warehouse: Warehouse) -> None:
    with warehouse.read() as con:
        for spec in ENTITIES:
            dupes = con.execute(
                "SELECT count(*) FROM (SELECT realm_id, id, sync_token "
                f"FROM {spec.log_table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()[0]
            assert dupes == 0, f"duplicate versions in {spec.log_table}"


def log_rows(wh: Warehouse, table: str) -> list[tuple[Any, ...]]:
    """Every row of a change-log table as text (each column, the document by its JSON value), in
    one order: two stores written different ways compare equal exactly when these do."""
    with wh.read() as con:
        return con.execute(
            f"SELECT COLUMNS(lambda c: c <> 'raw')::VARCHAR, raw::JSON::VARCHAR FROM {table} "
            "ORDER BY ALL"
        ).fetchall()
