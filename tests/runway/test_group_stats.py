"""The per-group helpers the calculators use for speed (``runway.common.in_group_order`` and
friends) against the same statistics computed the plain way, row by row in Python; and the
short cuts of expected billing (fewer steps, seasons for the horizon's months) against the
unshortened computation."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from runway.billing import seasonal_factors, undated_billing
from runway.common import (
    gap_days,
    in_group_order,
    last_three,
    middle_of_last_three,
    sorted_by,
    with_usual_day_of_month,
)
from runway.inflows import EVENT_ORDER, detect_inflows
from runway.money import MONEY
from runway.recurring import MIN_GAP_DAYS, billing_rhythm

AS_OF = date(2026, 11, 20)

rows = st.lists(
    st.tuples(
        st.sampled_from(["r1", "r2"]),
        st.sampled_from(["a", "b", "c"]),
        st.integers(-120, 0),  # day offset: equal dates within a group are likely
        st.integers(1, 999),  # amount in dollars
    ),
    min_size=1,
    max_size=40,
)


def _frame(data: list[tuple[str, str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "realm_id": [r for r, *_ in data],
            "party_id": [p for _, p, *_ in data],
            "date": [AS_OF + timedelta(days=d) for *_, d, _ in data],
            "amount": [Decimal(a) for *_, a in data],
        },
        schema={"realm_id": pl.String, "party_id": pl.String, "date": pl.Date, "amount": MONEY},
    )


@hsettings(max_examples=60, deadline=None)
@given(rows)
def test_group_helpers_match_a_row_by_row_computation(
    data: list[tuple[str, str, int, int]],
) -> None:
    ordered = with_usual_day_of_month(
        in_group_order(_frame(data), ["realm_id", "party_id"], "date")
    ).with_columns(_gap=gap_days())
    stats = (
        ordered.group_by("_g")
        .agg(
            pl.col("realm_id").first(),
            pl.col("party_id").first(),
            pl.len().alias("n"),
            pl.col("_gap").sum().alias("gaps"),
            pl.col("_usual").first().alias("usual"),
            *last_three("amount"),
        )
        .with_columns(middle=middle_of_last_three("n"))
    )
    # the plain way: walk the ordered rows group by group
    groups: dict[tuple[str, str], list[dict[str, object]]] = {}
    for row in ordered.iter_rows(named=True):
        groups.setdefault((row["realm_id"], row["party_id"]), []).append(row)
    keys = [(r, p) for r, p, *_ in sorted(data)]
    assert list(groups) == sorted(set(keys))  # sorted by the keys, each group contiguous
    assert ordered["_g"].n_unique() == len(groups)
    for (realm, party), members in groups.items():
        dates = [m["date"] for m in members]
        assert dates == sorted(dates)  # then by date
        assert [m["_from_end"] for m in members] == list(range(len(members) - 1, -1, -1))
        assert [m["_first"] for m in members] == [True] + [False] * (len(members) - 1)
        got = stats.filter((pl.col("realm_id") == realm) & (pl.col("party_id") == party)).row(
            0, named=True
        )
        assert got["n"] == len(members)
        assert got["gaps"] == sum((b - a).days for a, b in zip(dates[:-1], dates[1:], strict=True))
        last = sorted(m["amount"] for m in members[-3:])
        assert got["middle"] == last[len(last) // 2]
        days = Counter(d.day for d in dates)
        top = max(days.values())
        assert got["usual"] == min(day for day, seen in days.items() if seen == top)


def _weekly_customer(amount: int = 700) -> pl.DataFrame:
    """A customer invoiced every 7 days (the shortest rhythm expected billing keeps), 20 times."""
    days = [AS_OF - timedelta(days=7 * k) for k in range(20)]
    return pl.DataFrame(
        {
            "realm_id": "r1",
            "party_id": "weekly",
            "party": "Weekly Co",
            "date": days,
            "amount": [Decimal(amount)] * len(days),
            "terms_days": 0,
        },
        schema_overrides={"amount": MONEY, "terms_days": pl.Int32},
    )


def test_expected_billing_places_every_invoice_of_the_shortest_rhythm_in_the_horizon() -> None:
    """Billed every 7 days, the last today: the next ones on days 7, 14, … 91 — all 13 within a
    91-day horizon, none beyond (the steps cross-joined cover the shortest gap)."""
    assert MIN_GAP_DAYS == 7
    empty = pl.DataFrame(schema={"realm_id": pl.String, "pattern_id": pl.String})
    frame = undated_billing(_weekly_customer(), confirmed=empty, as_of=AS_OF, horizon_days=91)
    expected = [AS_OF + timedelta(days=7 * k) for k in range(1, 14)]
    assert frame.sort("invoice_date")["invoice_date"].to_list() == expected


def test_seasonal_factors_for_some_months_are_those_months_of_all() -> None:
    """A customer billed monthly for two years, more in December: the factors asked for Dec–Feb
    only are exactly those months' rows of the factors of every month."""
    days = [date(2024, 11, 5) + timedelta(days=30 * k) for k in range(25)]
    events = pl.DataFrame(
        {
            "realm_id": "r1",
            "party_id": "c1",
            "date": days,
            "amount": [Decimal(3000 if d.month == 12 else 1000) for d in days],
        },
        schema_overrides={"amount": MONEY},
    )
    every = seasonal_factors(events, AS_OF)
    window = (date(2026, 12, 1), date(2027, 2, 1))
    some = seasonal_factors(events, AS_OF, window)
    assert some.height == 3 and every.height > 3
    key = ["realm_id", "party_id", "month"]
    assert_frame_equal(some.sort(key), every.filter(pl.col("month").is_between(*window)).sort(key))
    december = some.filter(pl.col("month") == date(2026, 12, 1))["factor"][0]
    assert december > 1.0


cadences = st.lists(  # customers billed on a rhythm (retainers are found only then), jittered
    st.tuples(
        st.sampled_from(["r1", "r2"]),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([14, 30, 91]),  # days between invoices
        st.integers(2, 9),  # invoices
        st.lists(st.integers(-2, 2), min_size=9, max_size=9),  # each one's jitter in days
        st.integers(1, 999),  # amount in dollars
        st.sampled_from([0, 15, 30]),  # terms in days
    ),
    min_size=1,
    max_size=6,
)


def _billed(groups: list[tuple[str, str, int, int, list[int], int, int]]) -> list[tuple]:
    return [
        (realm, party, -gap * k + jitter[k], amount + k, terms)
        for realm, party, gap, count, jitter, amount, terms in groups
        for k in range(count)
    ]


@hsettings(max_examples=60, deadline=None)
@given(cadences, st.randoms(use_true_random=False))
def test_events_read_in_order_give_what_sorting_them_again_gives(
    groups: list[tuple[str, str, int, int, list[int], int, int]], rng: random.Random
) -> None:
    """The pipeline hands retainers and billing rhythms the invoice events in ``EVENT_ORDER``
    and they skip their sort (``in_order``): the same figures as sorting the events again, in
    whatever order they came."""
    data = _billed(groups)
    shuffled = [data[i] for i in rng.sample(range(len(data)), len(data))]
    events = pl.DataFrame(
        {
            "realm_id": [r for r, *_ in shuffled],
            "party_id": [p for _, p, *_ in shuffled],
            "party": [f"Customer {p.upper()}" for _, p, *_ in shuffled],
            "date": [AS_OF + timedelta(days=d) for *_, d, _, _ in shuffled],
            "amount": [Decimal(a) for *_, a, _ in shuffled],
            "terms_days": [t for *_, t in shuffled],
        },
        schema={
            "realm_id": pl.String,
            "party_id": pl.String,
            "party": pl.String,
            "date": pl.Date,
            "amount": MONEY,
            "terms_days": pl.Int32,
        },
    )
    ordered = sorted_by(events, *EVENT_ORDER)
    by_key = sorted(range(len(shuffled)), key=lambda i: shuffled[i][:3])  # Python's sort: stable
    assert ordered.equals(events[by_key])  # ties keep the order they came in
    assert_frame_equal(
        detect_inflows(ordered, None, AS_OF, in_order=True), detect_inflows(events, None, AS_OF)
    )
    assert_frame_equal(  # one row per party, in no particular order
        billing_rhythm(ordered, AS_OF, in_order=True),
        billing_rhythm(events, AS_OF),
        check_row_order=False,
    )
