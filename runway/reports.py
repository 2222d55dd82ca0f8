"""Stable JSON forms of the reports (documented in docs/reports.md): money as decimal strings,
dates ISO, null where not applicable."""

from __future__ import annotations

from typing import Any

import polars as pl

from runway.aging import BUCKET_COLUMNS, CREDIT_SCHEMA, Aging
from runway.money import jsonable, jsonable_dict, rows_json

BUCKET_KEYS = {
    col: label.lower() if label == "Current" else label for label, col in BUCKET_COLUMNS.items()
}


def _one(frame: pl.DataFrame) -> dict[str, Any]:
    rows = frame.to_dicts()
    return rows[0] if rows else {}


def aging_json(side: Aging, as_of: Any) -> dict[str, Any]:
    totals = _one(side.totals)
    by_party = rows_json(
        side.by_party,
        [
            "party_id",
            "party_name",
            *BUCKET_COLUMNS.values(),
            "total",
            *[c for c in ("documents", "credits") if c in side.by_party.columns],
            "unapplied",
        ],
        rename={"party_name": "name", **BUCKET_KEYS},
    )
    credits = getattr(side, "credits", None)
    if credits is None:
        credits = pl.DataFrame(schema=CREDIT_SCHEMA)
    credits = credits.filter(pl.col("realm_id") == totals.get("realm_id"))
    return jsonable_dict(
        {
            "as_of": as_of,
            "buckets": {BUCKET_KEYS[c]: totals.get(c) for c in BUCKET_COLUMNS.values()},
            "total": totals.get("total"),
            "documents": totals.get("documents"),
            "credits": totals.get("credits"),
            "unapplied": totals.get("unapplied"),
            "by_party": by_party,
            # open credit memos / vendor credits / unapplied payments, each on its own line
            "credit_lines": rows_json(
                credits,
                ["doc_id", "kind", "doc_number", "party_name", "txn_date", "bucket", "amount"],
                rename={"party_name": "party"},
            ),
            "excluded": rows_json(
                side.excluded,
                ["doc_id", "party_name", "currency", "balance_foreign", "note"],
                rename={"party_name": "party", "balance_foreign": "balance"},
            ),
        }
    )


def forecast_json(view: Any) -> dict[str, Any]:
    weeks = []
    for week in view.forecast.filter(pl.col("line") == "p50").sort("week").iter_rows(named=True):
        lines = {
            row["line"]: {
                k: row.get(k)
                for k in ("opening", "inflows", "outflows", "closing", "low", "low_date")
            }
            for row in view.forecast.filter(pl.col("week") == week["week"]).iter_rows(named=True)
        }
        weeks.append(
            {"week": week["week"], "start": week["week_start"], "end": week["week_end"], **lines}
        )
    run = _one(view.runway)
    items = rows_json(view.forecast_items)
    return jsonable_dict(
        {
            "as_of": view.as_of,
            "opening": run.get("cash"),
            "reserve": run.get("reserve"),
            "weeks": weeks,
            "items": items,
            "expected_billing": run.get("expected_billing", True),
            "banner": None
            if run.get("expected_billing", True)
            else "Expected billing is switched off: only invoices already in QuickBooks are "
            "forecast, so later weeks hold no sales not yet invoiced.",
        }
    )


def company_report(kind: str, view: Any) -> dict[str, Any]:
    """The JSON of one report kind for one CompanyView."""
    as_of = view.as_of
    head = {"as_of": as_of, "realm_id": view.realm_id, "company": view.company_name}
    if kind == "cash":
        pos = _one(view.cash_position)
        return jsonable_dict(
            {
                **head,
                "cash": pos.get("cash"),
                "cash_as_of": pos.get("cash_as_of"),
                "accounts": rows_json(
                    view.cash.drop("realm_id").with_columns(
                        pl.col("rate").cast(pl.String)  # a rate keeps its six decimals
                    )
                    if "rate" in view.cash.columns
                    else view.cash.drop("realm_id"),
                    rename={"account_name": "name"},
                ),
                "beside_cash": {
                    key: pos.get(key)
                    for key in (
                        "undeposited",
                        "card_owed",
                        "credit_line_drawn",
                        "credit_line_limit",
                        "credit_line_available",
                    )
                },
                "unconverted_accounts": pos.get("unconverted_accounts"),
            }
        )
    if kind == "aging-ar":
        return {
            **jsonable(head),
            **aging_json(view.aging_ar, as_of),
            "unapplied_payments": rows_json(view.aging_ar.unapplied.drop("realm_id")),
        }
    if kind == "aging-ap":
        return {**jsonable(head), **aging_json(view.aging_ap, as_of)}
    if kind == "payers":
        return jsonable_dict(
            {
                **head,
                "payers": rows_json(view.payers.drop("realm_id"), rename={"customer_name": "name"}),
            }
        )
    if kind == "recurring":
        return jsonable_dict({**head, "patterns": rows_json(view.recurring.drop("realm_id"))})
    if kind == "forecast":
        return {**jsonable(head), **forecast_json(view)}
    if kind == "runway":
        run = _one(view.runway)
        keys = [
            "cash",
            "reserve",
            "reserve_source",
            "runway_weeks",
            "breach_date",
            "runway_weeks_p90",
            "breach_date_p90",
            "simple_runway_weeks",
            "lowest_balance",
            "method",
            "zero_weeks",
            "zero_date",
            "simple_runway_text",
            "expected_billing",
            "runway_label",
            "runway_p90_label",
            "zero_label",
            "simple_runway_label",
        ]
        return jsonable_dict({**head, **{k: run.get(k) for k in keys}})
    if kind == "payroll":
        rows = rows_json(
            view.payroll,
            [
                "date",
                "amount",
                "coverage",
                "coverage_p50",
                "status",
                "covered",
                "shortfall",
                "label",
            ],
        )
        covered = int(view.payroll["payrolls_covered"][0]) if view.payroll.height else 0
        return jsonable_dict({**head, "payrolls": rows, "payrolls_covered": covered})
    if kind == "tray":
        sections = {
            s: rows_json(view.tray.filter(pl.col("section") == s).drop("realm_id", "section"))
            for s in ("must_pay", "can_delay", "check_first", "chase", "disputed", "apply_credit")
        }
        return jsonable_dict({**head, **sections})
    if kind == "drift":
        return jsonable_dict({**head, "alerts": rows_json(view.drift.drop("realm_id"))})
    if kind == "hygiene":
        score = _one(view.firm_row).get("hygiene_score")
        return jsonable_dict(
            {**head, "score": score, "flags": rows_json(view.hygiene.drop("realm_id"))}
        )
    raise ValueError(f"unknown report kind {kind!r}")


def firm_rows(firm: pl.DataFrame) -> list[dict[str, Any]]:
    return rows_json(firm)
