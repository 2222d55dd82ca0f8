"""Money in the calculators' row text (tray effects, payroll shortfalls) rounds like every other
figure the product shows: half-up to the whole dollar, checked against the presentation layer's
own (Decimal-based) formatting over ties, signs and separators."""

from __future__ import annotations

import random
from decimal import Decimal

import polars as pl

from oodaloo import present
from runway.money import MONEY, whole_dollars_text


def test_row_text_dollars_match_the_presentation_layer() -> None:
    rng = random.Random(20261130)
    values = [Decimal("12344.50"), Decimal("-4100.50"), Decimal("0.49"), Decimal("-0.50")]
    values += [Decimal("999.50"), Decimal("1000000.00"), Decimal("2.50"), Decimal("3.50")]
    values += [Decimal(rng.randint(-(10**9), 10**9)) / 100 for _ in range(500)]
    frame = pl.DataFrame({"v": values}, schema={"v": MONEY})
    worded = frame.select(
        signed=whole_dollars_text(pl.col("v")),
        digits=whole_dollars_text(pl.col("v"), sign=False),
    )
    for value, signed, digits in zip(values, worded["signed"], worded["digits"], strict=True):
        expected = present.money(value)  # the same minus sign (U+2212) as every page
        if expected == present.MINUS + "$0":  # -0.49 rounds to nothing: no sign on zero
            expected = "$0"
        assert signed == expected, value
        assert digits == expected.lstrip(present.MINUS + "$"), value


def test_every_kind_of_spending_reads_as_words() -> None:
    """Names built from a kind ("Checks and cash (owner draws)") never show a raw code."""
    from runway.classify import KINDS
    from runway.recurring import BALANCE_SHEET_KINDS
    from runway.words import kind_words

    kinds = [k for k, *_ in KINDS] + list(BALANCE_SHEET_KINDS.values())
    kinds += ["estimated_tax", "refund", "other"]
    worded = pl.DataFrame({"kind": kinds}).select(kind_words(pl.col("kind")))["kind"]
    assert all("_" not in w and w.strip() == w and w for w in worded), list(worded)
    assert dict(zip(kinds, worded, strict=True))["owner_draw"] == "owner draws"


def test_row_text_ratios_match_the_presentation_layer() -> None:
    """Coverage in a tray row's words reads as the payroll table writes it: "1.80×", not "1.8×"
    beside "1.81×"; ties half-up; a negative one with the product's minus sign."""
    from runway.words import ratio

    rng = random.Random(20261201)
    values = [1.805, 1.8, -0.05, -0.005, 0.004, 0.0, 18.925, 2.0, -1.115, 10.0]
    values += [rng.randint(-5000, 50000) / 1000 for _ in range(500)]  # exact thousandths
    worded = pl.DataFrame({"v": values}).select(w=ratio(pl.col("v")))["w"]
    for value, text in zip(values, worded, strict=True):
        expected = present.ratio(value)
        if expected == present.MINUS + "0.00×":  # -0.004 rounds to nothing: no sign on zero
            expected = "0.00×"
        assert text == expected, value
