"""The Cash Console's approval step: selection -> requests -> one approval -> execution.

Guards against doubles, in layers: the approval id is derived from the selection (the same rows
always give the same id, in any tab); the approve button is disabled once used and fires through
``on_click`` (a rerun cannot click it again); a session that already ran an approval shows the
stored results instead of running it again. The real guard is the executor's dedupe key
(``actions``): a second tab or process submitting the same actions gets the same intents back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import streamlit as st

from pages import _state

OPEN_KEY = "approval_open"
SELECTION_KEY = "approval_selection"
RUN_KEY = "approval_run"
RESULTS_KEY = "approval_results"
ACTOR = "console"


GENERATION_KEY = "tray_generation"


def tray_key(section: str, realm_id: str) -> str:
    """Widget key of a tray table: new after each execution and per company, so a selection
    never outlives the rows it was made on (row positions shift when bills get paid)."""
    return f"tray_{section}_{realm_id}_{st.session_state.get(GENERATION_KEY, 0)}"


def requests_for(section: str, rows: pl.DataFrame) -> tuple[list[dict[str, Any]], list[str]]:
    """Tray rows -> action requests (``actions.model.request_from_mapping`` form), plus notes on
    rows that are not actions (a recurring outflow has no bill in QuickBooks yet)."""
    requests: list[dict[str, Any]] = []
    notes: list[str] = []
    for row in rows.iter_rows(named=True):
        realm, doc_id = str(row["realm_id"]), str(row["doc_id"])
        if section == "chase":
            requests.append({"action": "send_reminder", "realm_id": realm, "invoice_id": doc_id})
        elif row.get("doc_type") != "bill":
            notes.append(
                f"{row.get('party_name')}: a recurring outflow without a bill in QuickBooks — nothing to pay yet."
            )
        elif section == "must_pay":
            requests.append(
                {
                    "action": "pay_bill",
                    "realm_id": realm,
                    "bill_id": doc_id,
                    "approved_amount": str(row["amount"]),
                }
            )
        else:
            until = row.get("latest_safe_date") or row.get("planned_date")
            if until is None:
                notes.append(f"{row.get('party_name')}: no safe later date under the terms set.")
                continue
            requests.append(
                {"action": "delay_bill", "realm_id": realm, "bill_id": doc_id, "until": _iso(until)}
            )
    return requests, notes


def approval_id(requests: list[dict[str, Any]], as_of: date) -> str:
    """Deterministic: the same selection on the same day is the same approval, in every tab."""
    canonical = json.dumps(
        sorted(requests, key=lambda r: json.dumps(r, sort_keys=True)), sort_keys=True
    )
    return "ap-" + hashlib.sha256(f"{as_of.isoformat()}|{canonical}".encode()).hexdigest()[:20]


def summary(
    view: Any, selected: dict[str, pl.DataFrame], requests: list[dict[str, Any]]
) -> dict[str, Any]:
    """Total cash out (payments) and the selection's COMBINED runway effect: the forecast re-run
    once with every selected change (``runway.api.selection_effect``), not the sum of the rows."""
    from runway.api import selection_effect

    pay = selected.get("must_pay")
    bills = pay.filter(pl.col("doc_type") == "bill") if pay is not None and pay.height else None
    cash_out = (
        Decimal(str(bills["amount"].sum())) if bills is not None and bills.height else Decimal("0")
    )
    effect = selection_effect(_state.settings(), view.realm_id, view.as_of, requests, view=view)
    return {"cash_out": cash_out, "effect": effect, "effect_text": effect["text"]}


def open_approval(requests: list[dict[str, Any]], notes: list[str], facts: dict[str, Any]) -> None:
    """on_click of "Review and approve": freeze the selection for the approval step."""
    ident = approval_id(requests, _state.as_of())
    st.session_state[SELECTION_KEY] = {
        "id": ident,
        "requests": requests,
        "notes": notes,
        "facts": facts,
    }
    st.session_state[OPEN_KEY] = True


def close_approval() -> None:
    st.session_state[OPEN_KEY] = False
    st.session_state.pop(SELECTION_KEY, None)


def request_run(ident: str) -> None:
    """on_click of "Approve and run": only records the wish; the script body runs it once."""
    st.session_state[RUN_KEY] = ident


def results_for(ident: str) -> list[dict[str, Any]] | None:
    return st.session_state.get(RESULTS_KEY, {}).get(ident)


def _close(service: Any) -> None:
    service.close()


@st.cache_resource(show_spinner=False, on_release=_close)
def _service(data_dir: str) -> Any:
    """One ActionService per process (it is thread-safe; the ledger is shared by every session)."""
    from actions.service import ActionService

    return ActionService(_state.settings())


def service() -> Any:
    return _service(str(_state.settings().data_dir))


def execute(ident: str, requests: list[dict[str, Any]], on_progress: Any) -> list[dict[str, Any]]:
    """Run an approval through the executor, once per session; results as plain dicts.

    ``on_progress(done, total, result)`` is called after each action."""
    done = results_for(ident)
    if done is not None:
        return done
    executor = service()
    outcome = executor.approve(requests, actor=ACTOR, on_progress=on_progress, approval_id=ident)
    rows = [_as_dict(result) for result in outcome]
    st.session_state.setdefault(RESULTS_KEY, {})[ident] = rows
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
    _state.clear_views()
    return rows


def _as_dict(result: Any) -> dict[str, Any]:
    return result.as_dict() if hasattr(result, "as_dict") else dict(result)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
