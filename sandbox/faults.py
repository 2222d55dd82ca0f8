"""Fault injection: random faults (seeded) and scripted ones ("fail the next N requests
matching X").

Settings and scripts live in the sandbox's SQLite file, so a test can script faults for an
embedded sandbox running in another process. Effective settings for a realm: run-time realm
settings > run-time global > start-up realm (SandboxConfig.realm_faults) > start-up global.

Actions: ``throttle`` (429/3001), ``server_error`` (500), ``unavailable`` (503) answer before
anything runs; ``lost_response`` runs the request (writes commit) and then drops the connection;
``slow`` runs it and answers after ``seconds`` (pick more than the client's timeout).
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sandbox.config import FaultSettings, SandboxConfig
from sandbox.state import SandboxDB

ACTIONS = {
    "throttle": "throttle",
    "429": "throttle",
    "server_error": "server_error",
    "500": "server_error",
    "unavailable": "unavailable",
    "503": "unavailable",
    "lost_response": "lost_response",
    "lost": "lost_response",
    "slow": "slow",
}
GLOBAL = "*"


@dataclass(frozen=True)
class Decision:
    action: str | None = None  # None = answer normally
    seconds: float = 0.0


class Faults:
    """Run-time fault control over one sandbox file (the Python twin of ``/admin/faults``)."""

    def __init__(self, db: SandboxDB | Path | str) -> None:
        self.db = db if isinstance(db, SandboxDB) else SandboxDB(db)

    def set(self, settings: FaultSettings | dict[str, Any], realm: str | None = None) -> None:
        """Replace the random-fault settings of one realm.

        With ``realm`` None, the settings of every realm are replaced."""
        value = (
            settings if isinstance(settings, FaultSettings) else FaultSettings.from_dict(settings)
        )
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO fault_settings (scope, settings) VALUES (?, ?)",
                (realm or GLOBAL, json.dumps(value.as_dict())),
            )

    def script(self, realm: str | None, rules: list[dict[str, Any]]) -> None:
        """Queue deterministic faults.

        A rule reads ``{"match": "POST /billpayment", "action": "lost_response", "times": 1,
        "seconds": 5}``. ``match`` is ``METHOD /path`` relative to ``/v3/company/{realm}``
        (``*`` wildcards; add ``?query`` to match the query string too); ``realm`` None = any
        realm."""
        rows = []
        for rule in rules:
            match = str(rule.get("match", "")).strip()
            if " " not in match or not match.split(" ", 1)[1].startswith("/"):
                raise ValueError(
                    f"fault rule match must look like 'POST /billpayment', got {match!r}"
                )
            action = ACTIONS.get(str(rule.get("action", "")).lower())
            if action is None:
                raise ValueError(
                    f"unknown fault action {rule.get('action')!r}; "
                    f"known: {sorted(set(ACTIONS.values()))}"
                )
            times = int(rule.get("times", 1))
            if times < 1:
                raise ValueError("fault rule times must be at least 1")
            params = {"seconds": float(rule.get("seconds", 5.0))}
            rows.append((realm or GLOBAL, match, action, times, json.dumps(params)))
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO fault_scripts (scope, match, action, remaining, params) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def clear(self, realm: str | None = None) -> None:
        """Remove run-time settings and pending scripts (of one realm, or all of them)."""
        with self.db.write() as conn:
            if realm is None:
                conn.execute("DELETE FROM fault_settings")
                conn.execute("DELETE FROM fault_scripts")
            else:
                conn.execute("DELETE FROM fault_settings WHERE scope = ?", (realm,))
                conn.execute("DELETE FROM fault_scripts WHERE scope = ?", (realm,))

    def pending(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = conn.execute(
                "SELECT scope, match, action, remaining FROM fault_scripts ORDER BY seq"
            ).fetchall()
        return [
            {"realm": None if s == GLOBAL else s, "match": m, "action": a, "remaining": r}
            for s, m, a, r in rows
        ]

    def settings(self) -> dict[str, dict[str, float]]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT scope, settings FROM fault_settings").fetchall()
        return {scope: json.loads(value) for scope, value in rows}


def _matches(pattern: str, method: str, path: str, query: str) -> bool:
    want_method, _, want_path = pattern.partition(" ")
    if want_method != "*" and want_method.upper() != method.upper():
        return False
    target = f"{path}?{query}" if "?" in want_path else path
    if "?" in want_path and not want_path.endswith("*"):
        want_path += "*"
    return fnmatch.fnmatchcase(target.lower(), want_path.strip().lower())


class FaultInjector:
    """Per-process decisions for each API request (random draws use a seeded generator)."""

    def __init__(self, db: SandboxDB, config: SandboxConfig) -> None:
        self.db = db
        self.config = config
        self.random = random.Random(config.fault_seed)
        self.lock = threading.Lock()

    def effective(self, realm: str) -> FaultSettings:
        stored = Faults(self.db).settings()
        if realm in stored:
            return FaultSettings.from_dict(stored[realm])
        if GLOBAL in stored:
            return FaultSettings.from_dict(stored[GLOBAL])
        return self.config.realm_faults.get(realm, self.config.faults)

    def _scripted(self, realm: str, method: str, path: str, query: str) -> Decision | None:
        with self.db.read() as conn:
            candidates = conn.execute(
                "SELECT seq, match, action, params FROM fault_scripts "
                "WHERE scope IN (?, ?) AND remaining > 0 ORDER BY seq",
                (realm, GLOBAL),
            ).fetchall()
        for seq, match, action, params in candidates:
            if not _matches(match, method, path, query):
                continue
            with self.db.write() as conn:  # consume atomically (another process may race us)
                taken = conn.execute(
                    "UPDATE fault_scripts SET remaining = remaining - 1 "
                    "WHERE seq = ? AND remaining > 0 RETURNING remaining",
                    (seq,),
                ).fetchone()
                conn.execute("DELETE FROM fault_scripts WHERE remaining <= 0")
            if taken is not None:
                return Decision(action, float(json.loads(params).get("seconds", 5.0)))
        return None

    def decide(
        self, realm: str, method: str, path: str, query: str, settings: FaultSettings
    ) -> Decision:
        scripted = self._scripted(realm, method, path, query)
        if scripted is not None:
            return scripted
        with self.lock:
            draws = [self.random.random() for _ in range(5)]
        for draw, (name, probability) in zip(
            draws,
            (
                ("throttle", settings.throttle),
                ("server_error", settings.server_error),
                ("unavailable", settings.unavailable),
                ("slow", settings.slow),
                ("lost_response", settings.lost_response if method.upper() == "POST" else 0.0),
            ),
            strict=True,
        ):
            if probability > 0 and draw < probability:
                return Decision(name, settings.slow_seconds)
        return Decision()


def settings_with(base: FaultSettings, **changes: float) -> FaultSettings:
    return replace(base, **changes)
