"""All calculators for every company of a snapshot in one vectorised pass (a FirmView)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, TypeVar

import polars as pl

from runway import aging as aging_mod
from runway.billing import dated_billing, expected_items, undated_for_companies
from runway.cash import cash_accounts_for, cash_position
from runway.common import companies
from runway.drift import drift
from runway.dso import dpo, dso, trend_day
from runway.firm import firm_rows
from runway.forecast import daily_paths, forecast_items, mark_disputed, path_stats, weekly
from runway.horizon import runway_table, trailing_net_outflow
from runway.hygiene import hygiene, hygiene_score, likely_duplicates
from runway.inflows import (
    CONFIRMED_SCHEMA,
    detect_inflows,
    inflow_items,
    inflow_schedule,
    invoice_events,
    with_directions,
)
from runway.mustpay import classify_bills, reserve
from runway.payers import (
    bill_pay_lags,
    doubtful_collection,
    invoice_payments,
    paid_invoices,
    payer_behaviour,
    payment_links,
    undeposited_items,
    with_deposit_days,
)
from runway.payroll import coverage
from runway.recurring import (
    detect_patterns,
    expected_spend,
    next_dates,
    outflow_events,
    schedule,
)
from runway.settings import CRITICAL_SCHEMA, PLANS_SCHEMA, SETTINGS_SCHEMA
from runway.snapshot import Snapshot
from runway.tables import TABLES
from runway.tray import draft_rows, prep_tray
from runway.views import DEFAULTS, FirmView

PARALLEL = 3  # calculator threads (Polars' own pool does the heavy lifting inside each)
R = TypeVar("R")


class CalculatorPool:
    """A thread pool that degrades to running serially instead of failing: once the interpreter
    is shutting down (a console or scheduler exiting while a digest job computes), Python refuses
    new threads ("cannot schedule new futures after interpreter shutdown"); the work then runs
    in the calling thread, with the same results."""

    def __init__(self, workers: int) -> None:
        self._pool: ThreadPoolExecutor | None = None
        if not sys.is_finalizing():
            try:
                self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runway")
            except RuntimeError:
                self._pool = None

    def submit(self, fn: Callable[..., R], *args: object) -> Future[R]:
        if self._pool is not None and not sys.is_finalizing():
            try:
                return self._pool.submit(fn, *args)
            except RuntimeError:  # interpreter shutdown (or the pool was shut down): go serial
                self._pool = None
        done: Future[R] = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as exc:
            done.set_exception(exc)
        return done

    def __enter__(self) -> CalculatorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def complete_settings(company: pl.DataFrame | None, realms: pl.DataFrame) -> pl.DataFrame:
    """A settings row for every company, defaults where the owner set nothing."""
    company = (
        pl.DataFrame(schema=SETTINGS_SCHEMA)
        if company is None
        else company.with_columns(  # a frame built before a setting existed: that setting unset
            pl.lit(None).alias(name) for name in SETTINGS_SCHEMA if name not in company.columns
        ).cast(SETTINGS_SCHEMA)
    )
    defaults = {
        "delay_tolerance_days": DEFAULTS.delay_tolerance_days,
        "reminder_cooldown_days": DEFAULTS.reminder_cooldown_days,
        "far_past_due_days": DEFAULTS.far_past_due_days,
        "payroll_confirmed": False,
        "expected_billing": DEFAULTS.expected_billing,
    }
    return (
        realms.select("realm_id")
        .join(company, on="realm_id", how="left")
        .with_columns(pl.col(k).fill_null(v) for k, v in defaults.items())
        .select(SETTINGS_SCHEMA.names())
        .cast(SETTINGS_SCHEMA)
        .sort("realm_id")
    )


def _invoice_events(t: Snapshot, as_of: date) -> pl.DataFrame:
    """The invoice (and cash sale) events that recurring inflows and expected billing read."""
    return invoice_events(
        t["invoice"],
        t["customer"],
        t["company_info"],
        as_of,
        t["sales_receipt"] if "sales_receipt" in TABLES else None,
    )


def _payers(
    t: Snapshot, applications: pl.DataFrame, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(payer behaviour, the paid invoices behind it): doubtful collection reads the same paid
    invoices, so they are computed once."""
    paid = paid_invoices(t["invoice"], t["payment"], as_of, applications=applications)
    payers = payer_behaviour(
        t["invoice"], t["payment"], t["customer"], t["company_info"], as_of, paid=paid
    )
    return payers, paid


def _patterns(t: Snapshot, company: pl.DataFrame, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(past cash outflow events, the recurring outflow patterns detected in them)."""
    events = outflow_events(
        t["purchase"],
        journal_entries=t["journal_entry"],
        bills=t["bill"],
        accounts=t["account"],
        vendors=t["vendor"],
        as_of=as_of,
        transfers=t["transfer"] if "transfer" in TABLES else None,
        refunds=t["refund_receipt"] if "refund_receipt" in TABLES else None,
        customers=t["customer"],
    )
    return events, detect_patterns(events, company, as_of)


def _undated_billing(
    events: Future[pl.DataFrame],
    t: Snapshot,
    confirmed: pl.DataFrame,
    company: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Expected billing before its collection dates (the heavy part, which needs no payer
    history), as soon as the invoice events are in."""
    return undated_for_companies(
        events.result(),
        confirmed=confirmed,
        company=company,
        as_of=as_of,
        estimates=t["estimate"] if "estimate" in TABLES else None,
        in_order=True,  # invoice_events gives them in order
    )


def _spend(
    patterns: Future[tuple[pl.DataFrame, pl.DataFrame]],
    bill_lags: Future[pl.DataFrame],
    open_bills: pl.DataFrame,
    as_of: date,
) -> pl.DataFrame:
    """Expected spending, as soon as the outflow patterns and bill lags it reads are in."""
    events, found = patterns.result()
    return expected_spend(events, found, as_of, bill_lags.result(), open_bills=open_bills)


@dataclass(frozen=True)
class CalculatorInputs:
    """Everything one run of the calculators reads, as one typed value (so no call passes a row of
    frames by position and a swapped pair cannot type-check).

    - ``snapshot``: the books of every company being computed (the tables of ``runway.tables``).
    - ``as_of``: the day the figures are computed for; no calculator reads a clock.
    - ``company``: per-company settings (``SETTINGS_SCHEMA``); missing companies get the defaults.
    - ``critical``: what the owner marked must-pay (``CRITICAL_SCHEMA``); none if ``None``.
    - ``plans``: one-off cash movements the owner planned (``PLANS_SCHEMA``); none if ``None``.
    - ``previous``: last week's snapshot, which feeds drift (what changed); none if ``None``.
    - ``qbo_aging``: QuickBooks' own A/R aging, compared with ours in drift; none if ``None``.
    - ``confirmed``: (realm_id, pattern_id) of the recurring inflows the owner confirmed
      (``CONFIRMED_SCHEMA``); none if ``None``.
    """

    snapshot: Snapshot
    as_of: date
    company: pl.DataFrame | None = None
    critical: pl.DataFrame | None = None
    plans: pl.DataFrame | None = None
    previous: Snapshot | None = None
    qbo_aging: pl.DataFrame | None = None
    confirmed: pl.DataFrame | None = None


def compute(inputs: CalculatorInputs) -> FirmView:
    """Run every calculator for every company at once (``CalculatorInputs`` says what is read)."""
    if not isinstance(inputs, CalculatorInputs):
        raise TypeError(f"compute takes CalculatorInputs, not {type(inputs).__name__}")
    as_of = inputs.as_of
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a date, not {type(as_of).__name__}")
    view = _calculators(inputs)
    prev_view = None
    if inputs.previous is not None:
        prev_view = compute(
            CalculatorInputs(
                inputs.previous,
                as_of - timedelta(days=7),
                company=view.company_settings,
                critical=inputs.critical,
                plans=inputs.plans,
                confirmed=inputs.confirmed,
            )
        )
    drifted = drift(view, prev_view, as_of, inputs.qbo_aging)
    firm = firm_rows(view, drifted)
    return replace(view, drift=drifted, firm=firm)


def _in_groups(realm_ids: list[str], count: int) -> list[list[str]]:
    """``count`` runs of the sorted realm ids, as even as can be (none empty)."""
    size = -(-len(realm_ids) // max(count, 1))
    return [realm_ids[i : i + size] for i in range(0, len(realm_ids), size)] if size else []


TRAY_PART_MIN_COMPANIES = 50  # a group of twice this many companies draws its tray in parts
TRAY_PARTS = 2  # how many: the calling thread draws one, the pool the others


def _tray_in_parts(
    pool: CalculatorPool, tables: Snapshot, realm_ids: list[str], **inputs: Any
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``prep_tray`` of these companies, in ``TRAY_PARTS`` groups of companies side by side once
    there are many (the tray is the last calculator to finish: drawn in one piece it leaves a
    core idle at the end; two parts measured best). Every input frame is keyed by realm_id and
    the tray is sorted by company first, so the parts put together are the tray drawn in one
    piece."""
    if len(realm_ids) < 2 * TRAY_PART_MIN_COMPANIES:
        return prep_tray(tables, **inputs)

    def part(group: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        keep = pl.col("realm_id").is_in(group)

        def only(value: Any) -> Any:
            if isinstance(value, pl.DataFrame):
                return value.filter(keep)
            if isinstance(value, tuple):  # the draft: (bill rows, invoice rows)
                return tuple(only(frame) for frame in value)
            return value

        return prep_tray(tables, **{k: only(v) for k, v in inputs.items()})

    first, *rest = _in_groups(realm_ids, TRAY_PARTS)
    later = [pool.submit(part, group) for group in rest]
    parts = [part(first), *(future.result() for future in later)]
    return pl.concat([tray for tray, _ in parts]), pl.concat([fx for _, fx in parts])


def _calculators(inputs: CalculatorInputs) -> FirmView:
    """Every calculator for the companies of ``inputs`` (drift and the firm rows left empty)."""
    as_of = inputs.as_of
    snapshot = inputs.snapshot
    company, critical, plans = inputs.company, inputs.critical, inputs.plans
    confirmed = inputs.confirmed
    t = snapshot
    info = t["company_info"]
    realms = companies(info)
    company = complete_settings(company, realms)
    critical = pl.DataFrame(schema=CRITICAL_SCHEMA) if critical is None else critical
    plans = pl.DataFrame(schema=PLANS_SCHEMA) if plans is None else plans
    confirmed = pl.DataFrame(schema=CONFIRMED_SCHEMA) if confirmed is None else confirmed

    # Independent calculators run side by side: Polars releases the GIL inside each operation, and
    # many of them are single-threaded joins/group-bys on string keys, so two cores stay busy. The
    # calling thread walks the longest chain (payer history → expected billing → forecast items);
    # the pool takes the side work, the work that reads nothing computed here first (expected
    # billing, the longest of it, from the very start), then the rest in the order the chain needs
    # it. A pool task waits only on tasks submitted before it (first in, first out: they have
    # started by then), so the waits cannot deadlock, whatever the pool size.
    with CalculatorPool(PARALLEL) as pool:
        f_ap = pool.submit(aging_mod.ap_aging, t, as_of)  # short, and the calling thread waits
        f_events = pool.submit(_invoice_events, t, as_of)
        f_patterns = pool.submit(_patterns, t, company, as_of)
        f_undated = pool.submit(_undated_billing, f_events, t, confirmed, company, as_of)
        f_inflows = pool.submit(
            lambda: detect_inflows(f_events.result(), confirmed, as_of, in_order=True)
        )
        f_bill_lags = pool.submit(bill_pay_lags, t["bill"], t["bill_payment"], as_of)
        f_bills = pool.submit(
            lambda: classify_bills(f_ap.result().detail, t["bill"], t["account"], critical, company)
        )
        f_spend = pool.submit(lambda: _spend(f_patterns, f_bill_lags, f_ap.result().detail, as_of))
        f_undeposited = pool.submit(
            undeposited_items,
            t["payment"],
            t["deposit"],
            t["account"],
            t["customer"],
            as_of,
            t["sales_receipt"] if "sales_receipt" in TABLES else None,
        )
        f_trend = pool.submit(trailing_net_outflow, t, as_of)
        # likely duplicate bills: hygiene's flags and the tray's Check first, computed once
        f_dups = pool.submit(likely_duplicates, t["bill"], as_of)
        ar = aging_mod.ar_aging(t, as_of)
        f_disputed = pool.submit(mark_disputed, ar.detail, t["invoice"], company)
        f_credits = pool.submit(aging_mod.customer_open_credits, t, as_of, ar)
        accounts = cash_accounts_for(t, as_of)  # foreign accounts at the rates known on as_of
        position = cash_position(t["account"], info, t.freshness, per_account=accounts)
        ap = f_ap.result()
        f_dpo = pool.submit(dpo, t["bill"], info, ap.totals, as_of)
        f_flags = pool.submit(
            lambda: hygiene(t, ar, ap, t.deleted, as_of, duplicates=f_dups.result())
        )
        # each invoice's payment sums, read by payer history and DSO alike
        applications = invoice_payments(
            t["invoice"], payment_links(t["payment"], as_of), earlier=trend_day(as_of)
        )
        f_dso = pool.submit(
            dso, t["invoice"], t["payment"], info, ar.totals, as_of, None, applications
        )
        payers, paid = _payers(t, applications, as_of)
        doubtful = doubtful_collection(t["invoice"], t["payment"], as_of, paid=paid)
        payers = with_deposit_days(payers, t["payment"], t["deposit"], t["account"], as_of)
        inflows, invoiced = f_inflows.result(), f_events.result()
        expected = dated_billing(f_undated.result(), payers, as_of)
        inflow_sched = inflow_schedule(inflows, invoiced, payers, as_of)
        patterns = f_patterns.result()[1]
        sched = schedule(patterns, ap.detail, as_of)
        bills, bill_lags = f_bills.result(), f_bill_lags.result()
        res = reserve(company, bills, sched, as_of, plans)
        # the tray's rows read no forecast: drawn up beside the forecast items
        f_draft = pool.submit(
            functools.partial(
                draft_rows,
                t,
                bills=bills,
                ar_detail=ar.detail,
                unapplied=ar.credits,
                payers=payers,
                sched=sched,
                plans=plans,
                company=company,
                as_of=as_of,
                duplicates=f_dups.result(),
            )
        )
        items = forecast_items(
            f_disputed.result(),
            ap.detail,
            payers=payers,
            bill_plans=plans,
            sched=sched,
            as_of=as_of,
            inflows=inflow_items(inflow_sched),
            expected=expected_items(expected),
            bill_lags=bill_lags,
            doubtful=doubtful,
            spend=f_spend.result(),
            undeposited=f_undeposited.result(),
            credits=f_credits.result(),
        )
        trend = f_trend.result()
        f_pay = pool.submit(coverage, sched, items, bills, position, res)
        # the weeks and the runway read the same daily paths; both run beside the tray
        f_paths = pool.submit(daily_paths, items, position, as_of)
        f_fc = pool.submit(lambda: weekly(items, position, res, as_of, f_paths.result()))
        f_stats = pool.submit(lambda: path_stats(f_paths.result(), position, res, as_of, trend))
        pay = f_pay.result()
        tray, fx = _tray_in_parts(
            pool,
            t,
            realms.get_column("realm_id").to_list(),
            bills=bills,
            ar_detail=ar.detail,
            unapplied=ar.credits,  # open credit memos and unapplied payments, one line each
            payers=payers,
            sched=sched,
            plans=plans,
            company=company,
            items=items,
            position=position,
            reserve=res,
            payroll=pay,
            as_of=as_of,
            trend=trend,
            base_paths=f_paths.result().filter(pl.col("line") == "p50"),  # computed once
            duplicates=f_dups.result(),
            draft=f_draft.result(),
        )
        run = runway_table(
            f_stats.result(),
            cash=position,
            reserve=res,
            trailing=trend,
            as_of=as_of,
            company=company,
        )
        fc, flags, dso_frame, dpo_frame = (
            f_fc.result(),
            f_flags.result(),
            f_dso.result(),
            f_dpo.result(),
        )
    score = hygiene_score(flags, info, ar, ap, t["customer"])
    return FirmView(
        as_of=as_of,
        companies=realms,
        company_settings=company,
        cash=accounts,
        cash_position=position,
        aging_ar=ar,
        aging_ap=ap,
        dso=dso_frame,
        dpo=dpo_frame,
        payers=payers,
        recurring=with_directions(next_dates(patterns, sched), inflows, inflow_sched, company),
        recurring_schedule=sched,
        bills=bills,
        forecast=fc,
        forecast_items=items,
        runway=run,
        payroll=pay,
        tray=tray,
        tray_effects=fx,
        hygiene=flags,
        hygiene_score=score,
        freshness=t.freshness,
        drift=pl.DataFrame(),
        firm=pl.DataFrame(),
        recurring_inflow_schedule=inflow_sched,
    )
