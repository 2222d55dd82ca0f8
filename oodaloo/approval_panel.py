"""The console's "Waiting for approval" panel: selections a preparer submitted (or that need a
second approver) and, for an approver who has not approved them yet, one button each.

Why a panel of its own: the approval step of the tray runs what the person in front of it
selected; a selection submitted by someone else must be approvable without re-selecting the
same rows. The rule itself is enforced by ``ActionService.approve_proposal`` (roles, distinct
approvers), not here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from oodaloo import auth, present

FLASH_KEY = "approval_panel_flash"


def _approve(service: Any, approval_id: str, on_done: Callable[[], None] | None) -> None:
    """on_click: one approval per click (the script body never runs it a second time)."""
    identity = auth.current_identity()
    try:
        results = service.approve_proposal(identity, approval_id)
    except auth.AccessDenied as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
        return
    except Exception as exc:
        ref = auth.error_reference(exc, "approving a submitted selection")
        st.session_state[FLASH_KEY] = ("error", f"The approval could not be carried out ({ref}).")
        return
    outcomes = [r.outcome for r in results]
    if outcomes and all(o == "waiting_for_approval" for o in outcomes):
        text = results[0].message
        st.session_state[FLASH_KEY] = ("info", f"Your approval is recorded — {text}.")
    else:
        done = sum(o in ("executed", "already_succeeded") for o in outcomes)
        st.session_state[FLASH_KEY] = (
            "success",
            f"Approved: {present.plural(done, 'action')} carried out of {len(outcomes)}.",
        )
    if on_done is not None:
        on_done()


def waiting(service: Any, realm_id: str, on_done: Callable[[], None] | None = None) -> None:
    """Render the panel for one company (nothing when no selection is waiting)."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        getattr(st, flash[0])(flash[1])
    proposals = service.waiting_approvals(realm_id)
    if not proposals:
        return
    me = auth.current_identity()
    may_approve = auth.may("approve", realm_id)
    st.header(f"Waiting for approval ({len(proposals)})")  # H2 under the page title (H1)
    for proposal in proposals:
        approvers = list(proposal["approvers"])
        needed = int(proposal["approvals_needed"])
        with st.container(border=True):
            st.markdown(
                f"**{present.plural(len(proposal['requests']), 'action')}** · cash out "
                f"**{present.money_exact(proposal['cash_out'])}** · submitted by "
                f"{present.escape_markdown(proposal['proposed_by'])} · approvals "
                f"{len(approvers)} of {needed}"
                + (
                    " (above the company's threshold: two different approvers)"
                    if needed > 1
                    else ""
                )
            )
            if approvers:
                st.caption("Approved by " + present.escape_markdown(", ".join(approvers)))
            already = me is not None and me.actor in approvers
            if may_approve and not already:
                st.button(
                    "Approve",
                    key=f"approve_waiting_{proposal['approval_id']}",
                    type="primary",
                    on_click=_approve,
                    args=(service, proposal["approval_id"], on_done),
                )
            elif already:
                st.caption("You approved this; a different approver is needed.")
            st.caption(f"Approval reference {proposal['approval_id']}")
