"""oodaloo.charts: specs are self-contained (inline data, DejaVu Sans) and render offline."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest

from oodaloo import charts

AS_OF = date(2026, 11, 20)


def forecast_frame(weeks: int = 13) -> pl.DataFrame:
    """The long forecast frame of docs/reports.md: one row per (line, week)."""
    rows = []
    for line, lag in (("p50", 0), ("p90", 2500)):
        closing = Decimal("180000.00")
        for week in range(weeks):
            opening = closing
            inflows, outflows = Decimal("30000.00") - lag, Decimal("41000.50")
            closing = opening + inflows - outflows
            rows.append(
                {
                    "realm_id": "1",
                    "line": line,
                    "week": week,
                    "week_start": AS_OF + timedelta(days=7 * week),
                    "week_end": AS_OF + timedelta(days=7 * week + 6),
                    "opening": opening,
                    "inflows": inflows,
                    "outflows": outflows,
                    "net": inflows - outflows,
                    "closing": closing,
                }
            )
    return pl.DataFrame(
        rows,
        schema_overrides={
            k: pl.Decimal(18, 2) for k in ("opening", "inflows", "outflows", "net", "closing")
        },
    )


def test_forecast_chart_is_inline_and_selectable() -> None:
    spec = charts.forecast_chart(
        forecast_frame(), Decimal("40000"), [AS_OF + timedelta(days=7), date(2027, 6, 1)]
    ).to_dict()
    text = json.dumps(spec)
    assert '"url"' not in text  # data inline: offline rendering needs no network
    assert spec["config"]["font"] == charts.FONT
    assert [p["name"] for p in spec["params"]] == [charts.WEEK_SELECTION]
    layers = spec["layer"]
    bars = layers[0]["data"]["values"]
    assert [row["week"] for row in bars] == list(range(13))
    assert bars[0]["inflow"] == 30000.0 and bars[0]["outflow_neg"] == -41000.5
    assert (
        bars[1]["closing_p90"] < bars[1]["closing_p50"]
    )  # late collections line from the p90 rows
    assert any(
        layer.get("mark", {}).get("type") == "rule" and "reserve" in json.dumps(layer)
        for layer in layers
    )
    payroll = [layer for layer in layers if "Payroll" in json.dumps(layer.get("data", {}))]
    assert payroll and all(
        v["date"] != "2027-06-01" for v in payroll[0]["data"]["values"]
    )  # outside the horizon


def test_forecast_chart_renders_png_offline() -> None:
    png = charts.render_png(
        charts.forecast_chart(forecast_frame(), 40000, [AS_OF + timedelta(days=11)]), scale=1
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_aging_chart_from_totals_orders_quickbooks_buckets() -> None:
    totals = pl.DataFrame(
        {
            "side": ["A/P", "A/R"],
            "current": [Decimal(5), Decimal(1)],
            "d1_30": [Decimal(4), Decimal(2)],
            "d31_60": [Decimal(3), Decimal(3)],
            "d61_90": [Decimal(2), Decimal(4)],
            "d91_plus": [Decimal(1), Decimal(5)],
        }
    )
    spec = charts.aging_chart(totals).to_dict()
    assert spec["encoding"]["x"]["sort"] == charts.BUCKET_ORDER
    assert spec["encoding"]["color"]["scale"]["domain"] == ["A/R", "A/P"]
    values = spec["data"]["values"]
    assert {"bucket": "91+", "amount": 5.0, "side": "A/R", "amount_text": "$5.00"} in values


def test_aging_chart_names_missing_columns() -> None:
    with pytest.raises(ValueError, match="d91_plus"):
        charts.aging_chart(pl.DataFrame({"current": [1]}))


def test_sparkline_and_selected_week() -> None:
    spec = charts.sparkline(pl.Series([3.0, None, 5.0])).to_dict()
    assert [v["v"] for v in spec["data"]["values"]] == [3.0, 5.0]
    assert charts.selected_week({"selection": {"week": [{"week": 4}]}}) == 4
    assert charts.selected_week({"selection": {"week": []}}) is None
    assert charts.selected_week(None) is None


def test_forecast_chart_rejects_empty_frame() -> None:
    with pytest.raises(ValueError, match="at least one week"):
        charts.forecast_chart(forecast_frame().clear(), None)


def test_forecast_chart_reads_in_words_with_one_legend_and_weekly_ticks() -> None:
    frame = forecast_frame()
    low = (Decimal("31234.50"), AS_OF + timedelta(days=45))
    spec = charts.forecast_chart(
        frame, Decimal("40000"), [AS_OF + timedelta(days=7)], low_point=low
    ).to_dict()
    tooltips = [
        tip
        for layer in spec["layer"]
        for tip in layer.get("encoding", {}).get("tooltip", [])
        if isinstance(tip, dict)
    ]
    assert tooltips and all(tip["type"] == "nominal" for tip in tooltips)  # words, not raw floats
    assert "outflow_neg" not in json.dumps(tooltips)
    bars = spec["layer"][0]["data"]["values"]
    assert bars[0]["out_text"] == "$41,001"  # 41,000.50 half-up to the dollar
    assert bars[0]["week_text"] == "Fri 20 Nov 2026 to Thu 26 Nov 2026"
    domain = spec["layer"][0]["encoding"]["color"]["scale"]["domain"]
    assert {"Money in", "Money out", "Payroll", "Reserve", "Lowest daily balance"} <= set(domain)
    ticks = spec["layer"][0]["encoding"]["x"]["axis"]["values"]
    starts = sorted({row["week_start"] for row in frame.iter_rows(named=True)})
    assert [(t["year"], t["month"], t["date"]) for t in ticks] == [
        (d.year, d.month, d.day) for d in starts
    ]
    marker = [layer for layer in spec["layer"] if "Lowest daily balance" in json.dumps(layer)]
    assert marker and "$31,235 on Mon 4 Jan 2027" in json.dumps(marker[-1]["data"])


def test_every_chart_has_a_text_alternative() -> None:
    frame = forecast_frame()
    text = charts.describe_forecast(frame, Decimal("40000"), [AS_OF], None)
    closings = frame.filter(pl.col("line") == "p50")["closing"].to_list()
    lowest = min(closings).quantize(Decimal("1"), "ROUND_HALF_UP")
    sign = "−" if lowest < 0 else ""
    assert "13 weeks" in text and f"{sign}${abs(lowest):,}" in text
    assert "reserve of $40,000 is crossed" in text
