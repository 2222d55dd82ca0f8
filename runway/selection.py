"""The combined runway effect of a selection of tray actions: the forecast re-run once with every
selected change applied together (not the sum of each row's own effect — two delays that each
clear the same dip do not add up, and a payment today can undo a delay's gain).

A change moves one forecast item to a new day, exactly as the tray's one-change scenarios do:
  {"kind": "pay_bill", "bill_id"}                 the bill goes out today (``as_of``)
  {"kind": "delay_bill", "bill_id", "until"}      the bill goes out on ``until``
  {"kind": "collect_invoice" | "remind", "invoice_id"}  the invoice is collected this week (today)
  {"kind": "apply_credit", "invoice_id"}          the invoice leaves the forecast (paid by a credit)
All changes form one scenario of ``forecast.daily_paths`` (vectorised; the reserve is held as it
is, like the tray's effects).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from runway.forecast import BASE, SCENARIO_SCHEMA, daily_paths, path_stats
from runway.money import ZERO

SELECTION = "selection"
BILL_KINDS = {"pay_bill", "delay_bill"}
INVOICE_KINDS = {"collect_invoice", "remind", "send_reminder"}
# applying an unapplied payment or credit memo closes the invoice with cash already in the bank:
# the forecast stops expecting that invoice's money (the item is removed, never moved)
CREDIT_KINDS = {"apply_credit"}


class SelectionError(ValueError):
    """A change that cannot be applied (unknown kind, missing id, bad date)."""


def _day(value: Any, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SelectionError(f"{what} must be an ISO date, not {value!r}") from None


def scenario_rows(realm_id: str, as_of: date, changes: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Changes -> rows of one scenario (realm_id, scenario_id, kind, source_id, new_date)."""
    rows: list[dict[str, Any]] = []
    for n, change in enumerate(changes):
        kind = change.get("kind") or change.get("action")
        if kind in BILL_KINDS:
            doc = change.get("bill_id")
            new_date = (
                as_of
                if kind == "pay_bill"
                else _day(change.get("until"), f"change {n} ({kind}) 'until'")
            )
            if new_date < as_of:
                raise SelectionError(
                    f"change {n} ({kind}): 'until' {new_date} is before as_of {as_of}"
                )
            item_kind = "bill"
        elif kind in INVOICE_KINDS:
            doc, new_date, item_kind = change.get("invoice_id"), as_of, "invoice"
        elif kind in CREDIT_KINDS:
            doc, new_date, item_kind = change.get("invoice_id"), None, "invoice"
        else:
            raise SelectionError(
                f"change {n}: unknown kind {kind!r}; expected one of "
                f"{sorted(BILL_KINDS | INVOICE_KINDS | CREDIT_KINDS)}"
            )
        if not doc:
            raise SelectionError(
                f"change {n} ({kind}) has no {'bill_id' if item_kind == 'bill' else 'invoice_id'}"
            )
        rows.append(
            {
                "realm_id": realm_id,
                "scenario_id": SELECTION,
                "kind": item_kind,
                "source_id": str(doc),
                "new_date": new_date,
            }
        )
    frame = pl.DataFrame(rows, schema=SCENARIO_SCHEMA)
    # the same document twice: the last change wins (a delay and a payment of one bill cannot both
    # happen)
    return frame.unique(subset=["kind", "source_id"], keep="last", maintain_order=True)


def _figures(row: Mapping[str, Any]) -> dict[str, Any]:
    days = row["runway_days"]
    return {
        "runway_weeks": row["runway_weeks"],
        "runway_days": None if days is None else int(days),
        "breach_date": row["breach_date"],
        "lowest_balance": Decimal(row["lowest_balance"]),
        "method": row["method"],
    }


def combined_effect(
    items: pl.DataFrame,
    *,
    cash: pl.DataFrame,
    reserve: pl.DataFrame,
    trend: pl.DataFrame | None,
    realm_id: str,
    as_of: date,
    changes: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """Runway before and after all ``changes`` at once (P50 line) and the differences.

    ``items``/``cash``/``reserve``/``trend``: the company's forecast items, cash position,
    reserve and trailing run-rate (a ``CompanyView``'s ``forecast_items``, ``cash_position``,
    ``runway``). Returns {"realm_id", "as_of", "changes", "matched", "before", "after", "delta"},
    where before/after hold runway_weeks, runway_days, breach_date, lowest_balance (Decimal) and
    method, and delta holds runway_days (None unless both breach), lowest_balance (Decimal),
    breach_removed and breach_added."""
    scenario = scenario_rows(realm_id, as_of, changes)
    own = pl.col("realm_id") == realm_id
    items, cash, reserve = items.filter(own), cash.filter(own), reserve.filter(own)
    if cash.height == 0:
        raise SelectionError(f"company {realm_id!r} has no cash position in this snapshot")
    matched = (
        items.filter(pl.col("line") == "p50")
        .join(scenario.select("kind", "source_id"), on=["kind", "source_id"], how="semi")
        .select("kind", "source_id")
        .unique()
        .height
    )
    paths = daily_paths(
        items, cash, as_of, scenarios=scenario if scenario.height else None, lines=("p50",)
    )
    stats = path_stats(paths, cash, reserve, as_of, None if trend is None else trend.filter(own))
    by_id = {r["scenario_id"]: r for r in stats.iter_rows(named=True)}
    before = _figures(by_id[BASE])
    after = _figures(by_id.get(SELECTION, by_id[BASE]))
    both = before["runway_days"] is not None and after["runway_days"] is not None
    return {
        "realm_id": realm_id,
        "as_of": as_of,
        "changes": scenario.height,
        "matched": matched,
        "before": before,
        "after": after,
        "delta": {
            "runway_days": after["runway_days"] - before["runway_days"] if both else None,
            "lowest_balance": after["lowest_balance"] - before["lowest_balance"],
            "breach_removed": before["runway_days"] is not None and after["runway_days"] is None,
            "breach_added": before["runway_days"] is None and after["runway_days"] is not None,
        },
    }


def effect_text(effect: Mapping[str, Any]) -> str:
    """The combined effect in plain words (insight, not advice)."""
    delta = effect["delta"]
    lift: Decimal = delta["lowest_balance"]
    if delta["breach_removed"]:
        return "removes the projected reserve breach"
    if delta["breach_added"]:
        return f"brings a reserve breach into view on {effect['after']['breach_date']}"
    days = delta["runway_days"]
    if days:
        return f"{days:+d} days of runway"
    if lift != ZERO:
        return (
            f"{'lifts' if lift > 0 else 'lowers'} the lowest projected balance by ${abs(lift):,.2f}"
        )
    return "no change to the runway or the lowest projected balance"
