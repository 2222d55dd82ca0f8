"""How an intent's state reads to the person who clicked (or typed) — plain facts, no advice."""

from __future__ import annotations

from actions.model import (
    ALREADY_SUCCEEDED,
    CANCELLED,
    CANCELLED_OUTCOME,
    EXECUTED,
    FAILED,
    FAILED_OUTCOME,
    IN_FLIGHT,
    IN_PROGRESS,
    PENDING,
    PENDING_OUTCOME,
    REFUSED,
    SUCCEEDED,
    UNKNOWN_OUTCOME,
    ActionResult,
    Intent,
)


def _effect(intent: Intent) -> str:
    if intent.qbo_entity and intent.qbo_id:
        if intent.action == "pay_bill":
            amount = (intent.result_doc or {}).get("TotalAmt")
            return f"BillPayment {intent.qbo_id}" + (f" ({amount})" if amount is not None else "")
        if intent.action == "send_reminder":
            sent = ((intent.result_doc or {}).get("DeliveryInfo") or {}).get("DeliveryTime")
            return f"invoice {intent.qbo_id} sent" + (f" ({sent})" if sent else "")
        if intent.action == "apply_credit":
            return f"credit applied to invoice {intent.target_id} by Payment {intent.qbo_id}"
        return f"{intent.qbo_entity} {intent.qbo_id} updated"
    return f"planned pay date {intent.params.get('until')} saved"


def result_for(intent: Intent, *, executed_here: bool, duplicate: bool) -> ActionResult:
    """The caller's view: did *this* call do it, was it already done, is someone else on it?"""
    state = intent.state
    if state == SUCCEEDED:
        outcome = EXECUTED if executed_here else ALREADY_SUCCEEDED
        prefix = "done" if executed_here else "already succeeded"
        message = f"{prefix}: {_effect(intent)} at {intent.finished_at}"
    elif state == FAILED:
        outcome = REFUSED if intent.refused else FAILED_OUTCOME
        message = f"{'refused' if intent.refused else 'failed'}: {intent.reason}"
    elif state == IN_FLIGHT:
        outcome = IN_PROGRESS
        message = f"in progress by another process (since {intent.updated_at})"
    elif state == PENDING:
        outcome = PENDING_OUTCOME if not intent.reason else IN_PROGRESS
        message = (
            "waiting to run"
            if not intent.reason
            else f"waiting to retry ({intent.reason_code}): {intent.reason}"
        )
    elif state == CANCELLED:
        outcome = CANCELLED_OUTCOME
        message = f"cancelled: {intent.reason}"
    else:
        outcome = UNKNOWN_OUTCOME
        message = f"outcome not known yet, will be checked against QuickBooks: {intent.reason}"
    return ActionResult(
        intent_id=intent.id,
        realm_id=intent.realm_id,
        action=intent.action,
        target_id=intent.target_id,
        state=state,
        outcome=outcome,
        message=f"{intent.describe()}: {message}",
        duplicate=duplicate,
        qbo_entity=intent.qbo_entity,
        qbo_id=intent.qbo_id,
        reason_code=intent.reason_code,
        approval_id=intent.approval_id,
    )
