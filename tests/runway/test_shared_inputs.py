"""Work the pipeline does once and hands on (the base P50 daily paths and the likely duplicate
bills, read by the tray, the runway and hygiene; the tray rows drawn up beside the forecast)
against the same work done by each reader itself; and the forecast items' packed-key sort
against the plain sort on the five keys."""

from __future__ import annotations

import inspect
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import polars as pl
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import runway.pipeline as pipeline
from runway.common import shared_codes
from runway.forecast import ITEM_ORDER, daily_paths, in_item_order
from runway.hygiene import likely_duplicates
from runway.payers import invoice_payments, payment_links
from runway.pipeline import CalculatorInputs, compute
from runway.tray import draft_rows, prep_tray
from tests.runway.conftest import AS_OF, agency_example, days
from tests.runway.factory import snapshot

items = st.lists(
    st.tuples(
        st.sampled_from(["9", "10", "r-é", "r-a", "R"]),  # "10" < "9" < "R" < "r-a" < "r-é"
        st.sampled_from(["p50", "p90"]),
        st.integers(-800, 95),  # day offset: overdue items lie far back
        st.sampled_from(["invoice", "bill", "expected", "expected_spend", "recurring", None]),
        st.sampled_from(["b:2", "b:10", "a", "x:é", None]),
    ),
    max_size=60,
)


@hsettings(max_examples=150, deadline=None)
@given(items)
def test_packed_item_order_is_the_plain_sort(rows: list[tuple[Any, ...]]) -> None:
    frame = pl.DataFrame(
        [
            (r, ln, AS_OF + timedelta(days=d), k, s, Decimal(i))
            for i, (r, ln, d, k, s) in enumerate(rows)
        ],
        schema={
            "realm_id": pl.String,
            "line": pl.String,
            "date": pl.Date,
            "kind": pl.String,
            "source_id": pl.String,
            "amount": pl.Decimal(18, 2),
        },
        orient="row",
    ).unique(subset=list(ITEM_ORDER), keep="first", maintain_order=True)  # no full-key ties
    assert_frame_equal(in_item_order(frame), frame.sort(*ITEM_ORDER))
    known = frame.filter(pl.col("kind").is_not_null())  # the packed path (no null keys)
    assert_frame_equal(in_item_order(known), known.sort(*ITEM_ORDER))


def test_the_tray_reads_the_paths_and_duplicates_the_pipeline_computed_once() -> None:
    """The tray given the pipeline's P50 paths and duplicate bills (as ``compute`` does) equals
    the tray computing both itself; and what it is given is exactly what it would compute."""
    c = agency_example()
    vendor = c.vendor("Print Shop")
    c.bill(vendor, AS_OF - days(15), AS_OF - days(5), 800, balance=0)  # paid
    c.bill(vendor, AS_OF - days(12), AS_OF + days(3), 800)  # same amount: a likely duplicate
    c.bill(vendor, AS_OF - days(2), AS_OF + days(9), 450)
    snap = snapshot(c)
    seen: list[tuple[Any, dict[str, Any]]] = []

    def keep(tables: Any, **kw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
        seen.append((tables, kw))
        return prep_tray(tables, **kw)

    with mock.patch.object(pipeline, "prep_tray", keep):
        view = compute(CalculatorInputs(snap, AS_OF))
    tables, kw = seen[0]
    own_paths = daily_paths(kw["items"], kw["position"], AS_OF, lines=("p50",))
    assert_frame_equal(kw["base_paths"], own_paths)
    own_dups = likely_duplicates(snap["bill"], AS_OF)
    assert own_dups.height == 1
    assert_frame_equal(kw["duplicates"], own_dups)
    alone = {k: v for k, v in kw.items() if k not in ("base_paths", "duplicates", "draft")}
    own_draft = draft_rows(
        tables, **{k: v for k, v in alone.items() if k in inspect.signature(draft_rows).parameters}
    )
    for handed, own in zip(kw["draft"], own_draft, strict=True):
        assert_frame_equal(handed, own)
    tray, fx = prep_tray(tables, **alone)
    assert_frame_equal(view.tray, tray)
    assert_frame_equal(view.tray_effects, fx)
    flagged = view.hygiene.filter(pl.col("flag") == "duplicate_bill")["doc_id"].to_list()
    assert flagged == own_dups["id"].to_list()
    check_first = view.tray.filter(pl.col("section") == "check_first")["doc_id"].to_list()
    assert check_first == own_dups["id"].to_list()


def test_date_range_of_items_is_not_assumed() -> None:
    """Items years apart (an old overdue bill) still sort as the plain sort does."""
    frame = pl.DataFrame(
        {
            "realm_id": ["b", "a", "a", "a"],
            "line": ["p50"] * 4,
            "date": [date(2019, 1, 1), date(2026, 12, 1), date(2001, 5, 5), date(2026, 12, 1)],
            "kind": ["bill", "invoice", "bill", "bill"],
            "source_id": ["1", "2", "3", "4"],
        }
    )
    assert_frame_equal(in_item_order(frame), frame.sort(*ITEM_ORDER))


keys = st.lists(
    st.tuples(st.sampled_from(["1", "10", "2", "é", None]), st.sampled_from(["a", "b", "", None])),
    max_size=30,
)


@hsettings(max_examples=150, deadline=None)
@given(keys, keys)
def test_a_join_on_shared_codes_is_the_join_on_the_strings(
    left: list[Any], right: list[Any]
) -> None:
    """Numbered keys match exactly where the strings do (a null matches nothing)."""
    schema = {"r": pl.String, "k": pl.String}
    a = pl.DataFrame(left, schema=schema, orient="row").with_row_index("i")
    b = pl.DataFrame(right, schema={"r2": pl.String, "k2": pl.String}, orient="row")
    b = b.with_row_index("j")
    codes = shared_codes(a, b, ["r", "k"], ["r2", "k2"])
    assert codes is not None
    by_codes = (
        a.with_columns(codes[0].alias("_c"))
        .join(b.with_columns(codes[1].alias("_c")), on="_c", how="inner")
        .select("i", "j")
        .sort("i", "j")
    )
    by_strings = a.join(b, left_on=["r", "k"], right_on=["r2", "k2"], how="inner").select("i", "j")
    assert_frame_equal(by_codes, by_strings.sort("i", "j"))


def test_invoice_payments_without_codes_is_the_same() -> None:
    """When the keys are too many to number, the sums come from a join on the strings: the same
    frame."""
    c = agency_example()
    snap = snapshot(c)
    links = payment_links(snap["payment"], AS_OF)
    assert links.height
    coded = invoice_payments(snap["invoice"], links, earlier=AS_OF - timedelta(days=28))
    with mock.patch("runway.payers.shared_codes", return_value=None):
        plain = invoice_payments(snap["invoice"], links, earlier=AS_OF - timedelta(days=28))
    assert coded["applied"].drop_nulls().len() > 0
    assert_frame_equal(coded.sort("realm_id", "id"), plain.sort("realm_id", "id"))
