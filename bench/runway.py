"""Runway benchmark: every calculator for a large firm (500 companies, ~1M documents generated
in process), beside a straightforward pandas aging + weekly forecast and DuckDB SQL aging.

    .venv/bin/python -m bench.runway [companies] [docs_per_company]
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from runway.money import MONEY
from runway.pipeline import compute
from runway.snapshot import snapshot_from_frames

AS_OF = date(2026, 11, 20)
STAMP = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


EPOCH = (AS_OF - date(1970, 1, 1)).days


def days(offsets: np.ndarray) -> pl.Series:
    """Dates as_of + offset (vectorised)."""
    return pl.Series(np.asarray(offsets, dtype=np.int32) + EPOCH).cast(pl.Date)


def synthetic_firm(companies: int = 500, docs: int = 2000, seed: int = 7) -> dict[str, pl.DataFrame]:
    """Frames shaped like the store: per company ~55% invoices, 25% bills, payments, payroll runs."""
    rng = np.random.default_rng(seed)
    realms = [f"{9_000_000 + i}" for i in range(companies)]
    n_inv, n_bill = int(docs * 0.55), int(docs * 0.25)

    def per_company(n: int) -> tuple[np.ndarray, np.ndarray]:
        realm = np.repeat(np.arange(companies), n)
        ids = np.tile(np.arange(n), companies)
        return realm, ids

    def money(values: np.ndarray) -> pl.Series:
        return pl.Series((np.round(values, 2) * 100).astype(np.int64)).cast(pl.Decimal(18, 0)) / 100

    realm_col = lambda idx: pl.Series([realms[i] for i in range(companies)])[idx]  # noqa: E731
    r, i = per_company(n_inv)
    txn = rng.integers(-400, 0, r.size)
    due = txn + rng.choice([0, 15, 30, 45], r.size)
    total = rng.uniform(200, 40_000, r.size)
    paid = rng.random(r.size) < (txn < -60) * 0.9
    invoices = pl.DataFrame({
        "realm_id": realm_col(r), "id": pl.Series(i).cast(pl.String), "customer_id": pl.Series(rng.integers(0, 40, r.size)).cast(pl.String),
        "txn_date": days(txn),
        "due_date": days(due),
        "total_amt": money(total), "balance": money(np.where(paid, 0, total)), "currency": "USD", "voided": False,
    })
    pay_realm, pay_inv = r[paid], i[paid]
    pay_day = np.minimum(due[paid] + rng.integers(-5, 40, pay_realm.size), 0)
    payments = pl.DataFrame({
        "realm_id": realm_col(pay_realm), "id": pl.Series(pay_inv + 10_000_000).cast(pl.String),
        "customer_id": invoices["customer_id"].filter(pl.Series(paid)),
        "txn_date": days(pay_day), "total_amt": money(total[paid]),
        "unapplied_amt": money(np.zeros(pay_realm.size)), "voided": False, "currency": "USD",
        "txn_id": pl.Series(pay_inv).cast(pl.String),
    }).with_columns(
        links=pl.concat_list(pl.struct(pl.col("txn_id"), pl.lit("Invoice").alias("txn_type"), pl.col("total_amt").cast(MONEY).alias("amount")))
    ).drop("txn_id")
    r, i = per_company(n_bill)
    txn = rng.integers(-120, 0, r.size)
    bill_total = rng.uniform(100, 15_000, r.size)
    bills = pl.DataFrame({
        "realm_id": realm_col(r), "id": pl.Series(i + 20_000_000).cast(pl.String), "vendor_id": pl.Series(rng.integers(0, 25, r.size)).cast(pl.String),
        "txn_date": days(txn), "due_date": days(txn + 30),
        "total_amt": money(bill_total), "balance": money(np.where(txn < -45, 0, bill_total)), "currency": "USD",
    })
    runs = 12
    pr = np.repeat(np.arange(companies), runs)
    purchases = pl.DataFrame({
        "realm_id": realm_col(pr), "id": pl.Series(np.arange(pr.size) + 30_000_000).cast(pl.String), "payment_type": "Check",
        "entity_id": "payroll-vendor", "entity_name": "Gusto", "txn_date": days(-14 * (np.tile(np.arange(runs), companies) + 1)),
        "total_amt": money(np.repeat(rng.uniform(20_000, 120_000, companies), runs)),
    })
    base = {"source_updated_at": STAMP, "op": "upsert", "sync_token": 0}
    frames = {
        "company_info": pl.DataFrame({"realm_id": realms, "id": "1", "company_name": [f"Agency {k}" for k in range(companies)], "home_currency": "USD"}),
        "account": pl.DataFrame({"realm_id": realms, "id": "1", "name": "Checking", "account_type": "Bank",
                                 "current_balance": money(rng.uniform(-20_000, 600_000, companies)), "active": True}),
        "customer": pl.DataFrame({"realm_id": realm_col(np.repeat(np.arange(companies), 40)), "id": pl.Series(np.tile(np.arange(40), companies)).cast(pl.String),
                                  "display_name": "Client", "email": "ap@client.test", "active": True}),
        "vendor": pl.DataFrame({"realm_id": realm_col(np.repeat(np.arange(companies), 25)), "id": pl.Series(np.tile(np.arange(25), companies)).cast(pl.String),
                                "display_name": "Vendor", "active": True}),
        "invoice": invoices, "payment": payments, "bill": bills, "purchase": purchases,
    }
    return {name: frame.with_columns(**{k: pl.lit(v) for k, v in base.items()}) for name, frame in frames.items()}


def pandas_aging_and_forecast(inv: pd.DataFrame, bills: pd.DataFrame, cash: pd.DataFrame) -> pd.DataFrame:
    """The straightforward pandas way: per-row dates, cut into buckets, group, weekly cumulative."""
    out = []
    for frame in (inv, bills):
        open_ = frame[frame["balance"] != 0].copy()
        days = (pd.Timestamp(AS_OF) - pd.to_datetime(open_["due_date"])).dt.days
        open_["bucket"] = pd.cut(days, [-10**6, 0, 30, 60, 90, 10**6], labels=["Current", "1-30", "31-60", "61-90", "91+"])
        out.append(open_.groupby(["realm_id", "bucket"], observed=True)["balance"].sum())
    inv_open = inv[inv["balance"] != 0].copy()
    inv_open["week"] = ((pd.to_datetime(inv_open["due_date"]) - pd.Timestamp(AS_OF)).dt.days.clip(lower=0) // 7).clip(upper=12)
    bill_open = bills[bills["balance"] != 0].copy()
    bill_open["week"] = ((pd.to_datetime(bill_open["due_date"]) - pd.Timestamp(AS_OF)).dt.days.clip(lower=0) // 7).clip(upper=12)
    flows = pd.concat([inv_open.groupby(["realm_id", "week"])["balance"].sum(),
                       -bill_open.groupby(["realm_id", "week"])["balance"].sum()]).groupby(level=[0, 1]).sum()
    weekly = flows.groupby(level=0).cumsum().reset_index().merge(cash, on="realm_id")
    weekly["closing"] = weekly["cash"] + weekly["balance"]
    return weekly


def duckdb_aging(con: duckdb.DuckDBPyConnection) -> int:
    sql = """SELECT realm_id, CASE WHEN d <= 0 THEN 'Current' WHEN d <= 30 THEN '1-30' WHEN d <= 60 THEN '31-60'
             WHEN d <= 90 THEN '61-90' ELSE '91+' END AS bucket, sum(balance)
             FROM (SELECT realm_id, balance, date_diff('day', coalesce(due_date, txn_date), DATE '2026-11-20') AS d
                   FROM inv WHERE balance <> 0) GROUP BY ALL"""
    return len(con.sql(sql).fetchall())


def timed(fn, repeat: int = 3) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> dict[str, float]:
    argv = sys.argv[1:] if argv is None else argv
    companies = int(argv[0]) if argv else 500
    per = int(argv[1]) if len(argv) > 1 else 2000
    frames = synthetic_firm(companies, per)
    snap = snapshot_from_frames(frames)
    ndocs = sum(snap[t].height for t in ("invoice", "bill", "payment", "purchase"))
    print(f"firm: {companies} companies, {ndocs:,} documents (invoices {snap['invoice'].height:,})")
    t_all = timed(lambda: compute(snap, AS_OF), repeat=2)
    from runway.aging import ar_aging, ap_aging
    from runway.forecast import forecast_items

    t_aging = timed(lambda: (ar_aging(snap, AS_OF), ap_aging(snap, AS_OF)))
    view = compute(snap, AS_OF)
    t_fc = timed(lambda: forecast_items(view.aging_ar.detail, view.aging_ap.detail, view.payers, pl.DataFrame(
        schema={"realm_id": pl.String, "bill_id": pl.String, "planned_date": pl.Date}), view.recurring_schedule, AS_OF))
    inv_pd = snap["invoice"].select("realm_id", "due_date", "txn_date", pl.col("balance").cast(pl.Float64)).to_pandas()
    bill_pd = snap["bill"].select("realm_id", "due_date", pl.col("balance").cast(pl.Float64)).to_pandas()
    cash_pd = view.cash_position.select("realm_id", pl.col("cash").cast(pl.Float64)).to_pandas()
    t_pd = timed(lambda: pandas_aging_and_forecast(inv_pd, bill_pd, cash_pd))
    con = duckdb.connect()
    con.register("inv", snap["invoice"].select("realm_id", "due_date", "txn_date", "balance").to_arrow())
    t_duck = timed(lambda: duckdb_aging(con))
    figures = {"all_calculators_s": t_all, "polars_aging_s": t_aging, "polars_forecast_items_s": t_fc,
               "pandas_aging_forecast_s": t_pd, "duckdb_aging_s": t_duck}
    for key, value in figures.items():
        print(f"{key:28s} {value:8.3f} s")
    print(f"ratio pandas(aging+forecast) / polars(aging+forecast items): {t_pd / (t_aging + t_fc):.1f}x")
    print(f"ratio duckdb aging(AR only) / polars aging(AR+AP): {t_duck / t_aging:.2f}x")
    print(f"whole firm, every calculator (incl. tray scenarios): {t_all:.2f} s  (aim < 2 s on 2 cores)")
    return figures


if __name__ == "__main__":
    main()
