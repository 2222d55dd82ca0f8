"""Data & audit: connections and sync runs, what changed since last Friday, drift, hygiene,
actions."""

import functools
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import streamlit as st

from oodaloo import present
from pages import _approval, _frame, _state, _ui
from pages._route import through_app

through_app()

realm = _state.selected_realm()
realms = None if realm is None else [realm]
names = _state.company_names()
scope = "all companies" if realm is None else names.get(realm, realm)
st.title("Data & audit")
st.caption(f"Showing {scope}. Every table downloads as CSV.")


def with_names(frame: pl.DataFrame) -> pl.DataFrame:
    if "realm_id" not in frame.columns or frame.is_empty():
        return frame
    lookup = pl.DataFrame(
        {"realm_id": list(names), "company": list(names.values())},
        schema={"realm_id": pl.String, "company": pl.String},
    )
    return frame.join(lookup, on="realm_id", how="left").select("company", pl.exclude("company"))


st.header("Connections and freshness")
with _ui.section("reading the connections"):
    connections = pl.DataFrame(
        [c for c in _state.companies() if realms is None or c["realm_id"] in realms],
        schema={
            "realm_id": pl.String,
            "name": pl.String,
            "state": pl.String,
            "last_error": pl.String,
        },
    )
    fresh = pl.DataFrame(
        [
            {
                "realm_id": f.realm_id,
                "status": f.status,
                "badge": f.badge,
                "last_success_at": f.last_success_at,
            }
            for f in _frame.freshness_rows(realms)
        ],
        schema={
            "realm_id": pl.String,
            "status": pl.String,
            "badge": pl.String,
            "last_success_at": pl.Datetime("us", "UTC"),
        },
    )
    _ui.table(
        connections.join(fresh, on="realm_id", how="left"),
        "connections",
        key="connections",
        caption=f"{present.plural(connections.height, 'company', 'companies')} shown",
    )

st.header("Sync runs")
with _ui.section("reading the sync runs"):
    from sync.activity import recent_runs

    _ui.table(
        with_names(recent_runs(_state.settings(), realms, limit=200)), "sync_runs", key="sync_runs"
    )

st.header("What changed in QuickBooks since last Friday")
with _ui.section("reading the change log"):
    from sync.activity import changes_since

    today = _state.as_of()
    last_friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)
    st.caption(f"Changes after the start of {_ui.day(last_friday)}, newest first.")

    since = datetime.combine(last_friday, time(0), ZoneInfo("America/New_York"))
    changes = with_names(changes_since(_state.settings(), since, realms))
    if changes.height:
        counts = changes.group_by("entity", "change").len().sort("entity", "change")
        st.caption(
            " · ".join(
                f"{r['entity']} {r['change']}: {r['len']}" for r in counts.iter_rows(named=True)
            )
        )
    _ui.table(changes, "changes", key="changes", column_config=_ui.money_columns(changes))

view = _ui.attempt(
    _state.firm_view if realm is None else (functools.partial(_state.company_view, realm)),
    "computing drift and hygiene",
)
if view is not None:
    st.header("Drift since last week")
    drift = with_names(view.drift)
    if drift.is_empty():
        st.caption("No drift: this week's figures moved as expected against last week's.")
    _ui.table(drift, "drift", key="drift")
    st.header("Hygiene flags")
    hygiene = with_names(view.hygiene)
    _ui.table(hygiene, "hygiene", key="hygiene", column_config=_ui.money_columns(hygiene))

st.header("Actions audit log")
with _ui.section("reading the action audit log"):
    audit = [
        {
            k: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
            for k, v in row.items()
        }
        for row in _approval.service().audit(realm)
    ]
    with _ui.section("reading the pending actions"):
        from pages import _company

        _company.show_pending(realm)
    frame = (
        pl.DataFrame(audit, infer_schema_length=None)
        if audit
        else pl.DataFrame(schema={"event": pl.String})
    )
    _ui.table(with_names(frame), "actions_audit", key="audit")
