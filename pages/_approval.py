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

from oodaloo import present
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
    rows that are not actions: a recurring outflow has no bill in QuickBooks yet, a row the tray
    marks not selectable says why (reminded recently, a call, disputed)."""
    requests: list[dict[str, Any]] = []
    notes: list[str] = []
    for row in rows.iter_rows(named=True):
        realm, doc_id = str(row["realm_id"]), str(row["doc_id"])
        who = present.escape_markdown(row.get("party_name") or "—")  # notes render as Markdown
        if row.get("selectable") is False:
            notes.append(f"{who}: {row.get('not_selectable_reason') or 'not an action here'}.")
            continue
        action = row.get("action")
        if section == "chase" and row.get("contact") == "call":
            notes.append(f"{who}: no e-mail on file — a call, not a reminder.")
        elif section == "apply_credit" or action == "apply_credit":
            requests.append(
                {
                    "action": "apply_credit",
                    "realm_id": realm,
                    "invoice_id": doc_id,
                    "credit_type": str(row.get("credit_type")),
                    "credit_id": str(row.get("credit_id")),
                }
            )
        elif section == "chase":
            requests.append({"action": "send_reminder", "realm_id": realm, "invoice_id": doc_id})
        elif row.get("doc_type") != "bill":
            notes.append(
                f"{who}: a recurring outflow without a bill in QuickBooks — nothing to pay yet."
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
                notes.append(f"{who}: no safe later date under the terms set.")
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


def open_approval(
    requests: list[dict[str, Any]],
    notes: list[str],
    facts: dict[str, Any],
    review: list[dict[str, str]] | None = None,
) -> None:
    """on_click of "Review and approve": freeze the selection (and its review rows, in words)
    for the approval step."""
    ident = approval_id(requests, _state.as_of())
    st.session_state[SELECTION_KEY] = {
        "id": ident,
        "requests": requests,
        "notes": notes,
        "facts": facts,
        "review": review or [],
    }
    st.session_state[OPEN_KEY] = True


def close_approval() -> None:
    """Close (the button) and × (dismiss) both land here; the dialog body tolerates a selection
    that is already gone (a dialog reruns on its own, like a fragment)."""
    st.session_state[OPEN_KEY] = False
    st.session_state.pop(SELECTION_KEY, None)


# ---- the review and the results, in words ---------------------------------------------

ACTION_WORDS = {
    "pay_bill": "Pay bill",
    "delay_bill": "Plan bill for later",
    "send_reminder": "Send reminder",
    "apply_credit": "Apply credit",
}
OUTCOME_WORDS = {
    "executed": "Done",
    "already_succeeded": "Already done earlier",
    "in_progress": "Pending",
    "pending": "Pending",
    "refused": "Refused",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "unknown": "Being checked with QuickBooks",
}
OUTCOME_DOTS = {  # the presentation layer's marks (shapes DejaVu Sans has, one per tone)
    outcome: present.status_mark(outcome) for outcome in OUTCOME_WORDS
}
SECTION_ACTION = {
    "must_pay": "pay_bill",
    "can_delay": "delay_bill",
    "chase": "send_reminder",
    "apply_credit": "apply_credit",
}


def documents(view: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(doc type, doc id) -> party, number, due date and open balance, from the aging detail."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, aging in (("invoice", view.aging_ar), ("bill", view.aging_ap)):
        detail = aging.detail
        if detail is None or detail.is_empty():
            continue
        for row in detail.iter_rows(named=True):
            out[(kind, str(row["doc_id"]))] = {
                "party": row.get("party_name"),
                "number": row.get("doc_number"),
                "due": row.get("due_date"),
                "balance": row.get("balance"),
            }
    return out


def main_bank_account(view: Any) -> str:
    """The account a payment is drawn on: the executor's rule (``default_bank_account``: the active
    Bank account holding the most cash) applied to the synced accounts."""
    from actions.handlers import default_bank_account

    cash = view.cash
    if cash is None or cash.is_empty():
        return "the main bank account"
    accounts = [
        {"Id": r["account_id"], "AccountType": "Bank", "CurrentBalance": r["balance"]}
        for r in cash.filter(pl.col("included")).iter_rows(named=True)
        # a converted foreign-currency account is never the one a bill in dollars is drawn on
        if r.get("rate") is None and r.get("kind", "bank") == "bank"
    ]
    chosen = default_bank_account(accounts)
    names = {str(r["account_id"]): r["account_name"] for r in cash.iter_rows(named=True)}
    return str(names.get(str(chosen)) or "the main bank account")


def _number(doc: dict[str, Any] | None, kind: str, doc_id: str) -> str:
    number = (doc or {}).get("number")
    return f"{kind} {number}" if number else f"{kind} (QuickBooks id {doc_id})"


def review_rows(view: Any, selected: dict[str, pl.DataFrame]) -> list[dict[str, str]]:
    """One row per selected action, in the words an approver checks: who is paid or reminded,
    the document number, the amount, the due date, the bank account and the planned date."""
    from oodaloo import present

    docs = documents(view)
    bank = main_bank_account(view)
    rows: list[dict[str, str]] = []
    for section, frame in selected.items():
        action = SECTION_ACTION.get(section)
        if action is None or frame is None or frame.is_empty():
            continue
        for row in frame.iter_rows(named=True):
            kind = "invoice" if section in ("chase", "apply_credit") else "bill"
            if kind == "bill" and row.get("doc_type") != "bill":
                continue  # a recurring outflow: a note, not an action
            if row.get("selectable") is False or (
                section == "chase" and row.get("contact") == "call"
            ):
                continue  # listed in the notes, not an action
            doc_id = str(row.get("doc_id"))
            doc = docs.get((kind, doc_id))
            due = row.get("due_date") or (doc or {}).get("due")
            if action == "pay_bill":
                account, planned = bank, f"today, {present.day(view.as_of)}"
            elif action == "delay_bill":
                until = row.get("latest_safe_date") or row.get("planned_date")
                account, planned = "—", present.day(until)
            elif action == "apply_credit":
                credit = "unapplied payment" if row.get("credit_type") == "Payment" else "credit"
                account = f"{credit} of {present.money_exact(row.get('credit_amount'))}"
                planned = "applied in QuickBooks on approval"
            else:
                account, planned = "—", "e-mailed by QuickBooks on approval"
            rows.append(
                {
                    "Action": ACTION_WORDS[action],
                    "Who": present.text_or_dash(row.get("party_name") or (doc or {}).get("party")),
                    "Document": _number(doc, kind.capitalize(), doc_id),
                    "Amount": present.money_exact(row.get("amount")),
                    "Due": f"{present.day(due)} ({present.due_phrase(due, view.as_of)})",
                    "Paid from": account,
                    "Planned": planned,
                }
            )
    return rows


def effect_words(facts: dict[str, Any], requests: list[dict[str, Any]]) -> str:
    """The combined effect in the terms it holds: "after paying" for payments, "if collected"
    for reminders (a reminder brings no cash until the customer pays)."""
    from oodaloo import present

    effect = facts.get("effect") or {}
    before, after = effect.get("before") or {}, effect.get("after") or {}
    kinds = {r.get("action") for r in requests}
    terms = []
    if "pay_bill" in kinds:
        terms.append("after paying the selected bills")
    if "delay_bill" in kinds:
        terms.append("with the planned bills moved to their new dates")
    if "send_reminder" in kinds:
        terms.append("if the reminded invoices are collected as expected")
    condition = " and ".join(terms) or "with this selection"

    def runway(figures: dict[str, Any]) -> str:
        if not figures or figures.get("breach_date") is None:
            return "stays above the reserve throughout"
        return (
            f"falls below the reserve on {present.day(figures['breach_date'])} "
            f"({present.weeks(figures.get('runway_weeks'))})"
        )

    text = f"{condition[:1].upper()}{condition[1:]}: the balance {runway(after)}"
    if before:
        text += f" (today's forecast: {runway(before)})"
    low_before, low_after = before.get("lowest_balance"), after.get("lowest_balance")
    if low_after is not None:
        text += (
            f"; lowest projected balance {present.money(low_before)} → {present.money(low_after)}"
        )
    return text + "."


def result_rows(
    results: list[dict[str, Any]], review: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Per action, what happened, in words (no raw timestamps or ids)."""

    out = []
    for index, result in enumerate(results):
        seen = review[index] if index < len(review) else {}
        outcome = str(result.get("outcome") or "unknown")
        word = OUTCOME_WORDS.get(outcome, outcome.replace("_", " ").capitalize())
        what = ACTION_WORDS.get(str(result.get("action")), str(result.get("action")))
        detail = ""
        if outcome in ("executed", "already_succeeded") and result.get("qbo_id"):
            entity = {"BillPayment": "bill payment", "Invoice": "invoice"}.get(
                str(result.get("qbo_entity")), "record"
            )
            detail = f"QuickBooks {entity} {result['qbo_id']}"
        elif outcome in ("in_progress", "pending"):
            detail = "QuickBooks did not answer yet; it is retried automatically"
        elif outcome in ("refused", "failed", "cancelled"):
            message = str(result.get("message") or "")
            detail = message.split(": ", 1)[-1] if ": " in message else message
        out.append(
            {
                "Result": f"{OUTCOME_DOTS.get(outcome, present.status_mark(None))} {word}",
                "Action": what,
                "Who": seen.get("Who", "—"),
                "Document": seen.get("Document", "—"),
                "Amount": seen.get("Amount", "—"),
                "Detail": detail or "—",
            }
        )
    return out


def pending_actions(realm_id: str | None, view: Any = None) -> list[dict[str, str]]:
    """Actions approved but not finished (waiting to run or to retry), in words, with the next
    retry: shown on the Console and Runway until they end."""
    from datetime import UTC, datetime

    from oodaloo import present

    if not _state.settings().actions_path.exists():
        return []
    intents = [i for i in service().list_intents(realm_id) if not i.get("terminal")]
    docs = documents(view) if view is not None else {}
    names = _state.company_names()
    rows = []
    for intent in intents:
        action = str(intent.get("action"))
        kind = "invoice" if action == "send_reminder" else "bill"
        doc_id = str(intent.get("target_id"))
        doc = docs.get((kind, doc_id))
        retry = intent.get("not_before") or 0
        when = (
            present.moment(datetime.fromtimestamp(float(retry), UTC))
            if retry
            else "as soon as QuickBooks answers"
        )
        rows.append(
            {
                "Company": names.get(str(intent.get("realm_id")), "—"),
                "Action": ACTION_WORDS.get(action, action),
                "Who": present.text_or_dash((doc or {}).get("party")),
                "Document": _number(doc, kind.capitalize(), doc_id),
                "Status": present.status_mark("pending")
                + (" Pending" if not intent.get("reason") else " Waiting to retry"),
                "Next try": when,
            }
        )
    return rows


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
    from oodaloo import auth  # roles: a preparer's selection waits; above the threshold, two

    outcome = executor.approve_as(
        auth.current_identity(), requests, approval_id=ident, on_progress=on_progress
    )
    rows = [_as_dict(result) for result in outcome]
    st.session_state.setdefault(RESULTS_KEY, {})[ident] = rows
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1
    _state.clear_views()
    return rows


def _as_dict(result: Any) -> dict[str, Any]:
    return result.as_dict() if hasattr(result, "as_dict") else dict(result)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
