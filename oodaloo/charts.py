"""Altair chart specs shared by the console (``st.altair_chart``) and the PDF digest (vl-convert).

Every chart is built from runway result frames (Polars), with the data **inlined** in the spec
(no URLs, so offline rendering works) and the DejaVu Sans font set in the config (vl-convert
measures text with installed fonts; the same font in the browser and in the PDF keeps them alike).

Money arrives as Decimal or integer cents; it is converted to float dollars here for drawing
only, never compared.

Input frames (docs/reports.md is the authoritative contract):

- forecast frame (``CompanyView.forecast``): long, one row per (``line``, ``week``) with ``line``
  in {p50, p90} and ``week_start, inflows, outflows, closing``. Bars show the P50 line's weekly
  flows; the two balance lines are the lines' closings. A wide frame (``inflow``, ``outflow``,
  ``closing_p50``, ``closing_p90`` per week) is accepted too.
- aging (``Aging.totals``): wide ``current, d1_30, d31_60, d61_90, d91_plus`` (optionally with a
  ``side`` column, one row per side), or long ``bucket, amount[, side]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import altair as alt
import polars as pl

FONT = "DejaVu Sans"
TEXT = "#333333"  # axis and legend text: about 12.6:1 on white (WCAG AA asks 4.5:1)
WEEK_SELECTION = "week"
"""Name of the point selection on the forecast chart; Streamlit returns it under this key."""

BUCKET_ORDER = ["Current", "1–30", "31–60", "61–90", "91+"]
COLORS = {
    "p50": "#1f5fa8",
    "p90": "#d9822b",
    "reserve": "#b3261e",
    "inflow": "#4c9a5a",
    "outflow": "#c65a4f",
    "payroll": "#6b4fa0",
    "ar": "#1f5fa8",
    "ap": "#c65a4f",
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "week_start": ("week_start", "week_starting", "start", "week_of"),
    "inflow": ("inflows", "inflow", "cash_in"),
    "outflow": ("outflows", "outflow", "cash_out"),
    "closing_p50": ("closing_p50", "balance_p50", "p50", "closing"),
    "closing_p90": ("closing_p90", "balance_p90", "p90", "closing_late"),
    "amount": ("amount", "open_amount", "balance", "total"),
}


LEGEND = {
    "Money in": COLORS["inflow"],
    "Money out": COLORS["outflow"],
    "Balance (P50)": COLORS["p50"],
    "Balance, late payers (P90)": COLORS["p90"],
    "Reserve": COLORS["reserve"],
    "Payroll": COLORS["payroll"],
    "Lowest daily balance": "#111111",
}
"""One legend for every layer: bars, balance lines, reserve, payroll markers and the low point."""


def _legend_color(shown: Sequence[str]) -> alt.Color:
    domain = [name for name in LEGEND if name in shown]
    return alt.Color(
        "label:N",
        title=None,
        scale=alt.Scale(domain=domain, range=[LEGEND[name] for name in domain]),
        legend=alt.Legend(orient="top", labelLimit=0, columns=4),
    )


def forecast_chart(
    forecast_frame: pl.DataFrame,
    reserve: Decimal | int | float | None,
    payroll_dates: Iterable[date] = (),
    *,
    low_point: tuple[Any, Any] | None = None,
    width: int | str = "container",
    height: int = 320,
) -> alt.LayerChart:
    """The 13-week forecast: P50 and P90 closing balances, the reserve, weekly in/out bars,
    payroll markers and (when given) the daily low point ``(balance, date)``, with a point
    selection named ``week`` on the bars (field ``week``). Ticks fall on each week's first day;
    tooltips read in words and money."""
    from oodaloo import present

    rows = _forecast_rows(forecast_frame)
    if not rows:
        raise ValueError("forecast_chart needs at least one week in the forecast frame")
    payroll_rows = [
        {"date": _iso(d), "label": "Payroll", "when": present.day(d)} for d in payroll_dates
    ]
    first, last = rows[0]["week_start"], rows[-1]["week_end"]
    payroll_rows = [r for r in payroll_rows if first <= r["date"] <= last]
    low_rows: list[dict[str, Any]] = []
    if low_point is not None and low_point[0] is not None and low_point[1] is not None:
        low_rows = [
            {
                "date": _iso(low_point[1]),
                "balance": _to_dollars(low_point[0]),
                "label": "Lowest daily balance",
                "text": f"{present.money(low_point[0])} on {present.day(low_point[1])}",
            }
        ]
    shown = ["Money in", "Money out", "Balance (P50)", "Balance, late payers (P90)"]
    shown += ["Reserve"] if reserve is not None else []
    shown += ["Payroll"] if payroll_rows else []
    shown += ["Lowest daily balance"] if low_rows else []
    color = _legend_color(shown)

    data = alt.Data(values=rows)
    ticks = [_datetime(r["week_start"]) for r in rows]
    x_start = alt.X(
        "bar_start:T",
        title=None,
        axis=alt.Axis(format="%d %b", labelAngle=0, values=ticks),
    )
    pick = alt.selection_point(name=WEEK_SELECTION, fields=["week"], on="click", clear="dblclick")
    tooltip = [
        alt.Tooltip("week_text:N", title="Week"),
        alt.Tooltip("in_text:N", title="Money in"),
        alt.Tooltip("out_text:N", title="Money out"),
        alt.Tooltip("p50_text:N", title="Balance at week's end"),
        alt.Tooltip("p90_text:N", title="If customers pay late"),
    ]
    opacity = alt.condition(pick, alt.value(0.85), alt.value(0.35))
    inflow = (
        alt.Chart(data)
        .transform_calculate(label="'Money in'")
        .mark_bar()
        .encode(
            x=x_start,
            x2="bar_end:T",
            y=alt.Y("inflow:Q", title="Dollars", axis=alt.Axis(format="$,.0f")),
            y2=alt.datum(0),
            color=color,
            opacity=opacity,
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    outflow = (
        alt.Chart(data)
        .transform_calculate(label="'Money out'")
        .mark_bar()
        .encode(
            x=x_start,
            x2="bar_end:T",
            y=alt.Y("outflow_neg:Q", title="Dollars"),
            y2=alt.datum(0),
            color=color,
            opacity=opacity,
            tooltip=tooltip,
        )
    )
    lines = (
        alt.Chart(data)
        .transform_fold(["closing_p50", "closing_p90"], as_=["series", "balance"])
        .transform_calculate(
            label="datum.series == 'closing_p50' ? 'Balance (P50)' : 'Balance, late payers (P90)'",
            balance_text="datum.series == 'closing_p50' ? datum.p50_text : datum.p90_text",
        )
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("week_end:T"),
            y=alt.Y("balance:Q"),
            color=color,
            strokeDash=alt.condition(
                "datum.series == 'closing_p90'", alt.value([6, 3]), alt.value([1, 0])
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Line"),
                alt.Tooltip("end_text:N", title="Week ending"),
                alt.Tooltip("balance_text:N", title="Balance"),
            ],
        )
    )
    layers: list[alt.Chart] = [inflow, outflow, lines]
    if reserve is not None:
        reserve_data = alt.Data(
            values=[
                {
                    "reserve": _to_dollars(reserve),
                    "label": "Reserve",
                    "text": present.money(reserve),
                }
            ]
        )
        layers.append(
            alt.Chart(reserve_data)
            .mark_rule(strokeDash=[4, 4], strokeWidth=1.5)
            .encode(
                y="reserve:Q",
                color=color,
                tooltip=[alt.Tooltip("text:N", title="Reserve")],
            )
        )
    if payroll_rows:
        markers = alt.Chart(alt.Data(values=payroll_rows))
        layers.append(
            markers.mark_rule(strokeDash=[2, 3], opacity=0.7).encode(
                x="date:T", color=color, tooltip=[alt.Tooltip("when:N", title="Payroll")]
            )
        )
        layers.append(
            markers.mark_point(shape="triangle-down", filled=True, size=60, yOffset=-4).encode(
                x="date:T",
                y=alt.value(0),
                color=color,
                tooltip=[alt.Tooltip("when:N", title="Payroll")],
            )
        )
    if low_rows:
        layers.append(
            alt.Chart(alt.Data(values=low_rows))
            .mark_point(shape="diamond", filled=True, size=120)
            .encode(
                x="date:T",
                y="balance:Q",
                color=color,
                tooltip=[alt.Tooltip("text:N", title="Lowest daily balance")],
            )
        )
    chart = alt.layer(*layers).properties(width=width, height=height)
    return _configure(chart)


def describe_forecast(
    forecast_frame: pl.DataFrame,
    reserve: Any,
    payroll_dates: Iterable[date] = (),
    low_point: tuple[Any, Any] | None = None,
) -> str:
    """The chart's text alternative: what a sighted reader takes from it, in one paragraph."""
    from oodaloo import present

    rows = _forecast_rows(forecast_frame)
    if not rows:
        return "No forecast weeks to show."
    start, end = rows[0], rows[-1]
    p50 = [r["closing_p50"] for r in rows]
    low = min(range(len(rows)), key=lambda i: p50[i])
    text = (
        f"Forecast chart, {present.plural(len(rows), 'week')} from "
        f"{present.day(start['week_start'])}: the balance moves from "
        f"{present.money(start['closing_p50'])} after the first week to "
        f"{present.money(end['closing_p50'])} at the end (P50); if customers pay late (P90) it "
        f"ends at {present.money(end['closing_p90'])}. The lowest weekly closing is "
        f"{present.money(p50[low])} in the week of {present.day(rows[low]['week_start'])}."
    )
    if low_point is not None and low_point[0] is not None:
        text += f" The lowest daily balance is {present.money(low_point[0])}"
        text += f" on {present.day(low_point[1])}." if low_point[1] else "."
    if reserve is not None:
        below = sum(1 for value in p50 if value < _to_dollars(reserve))
        text += (
            f" The reserve of {present.money(reserve)} is crossed in "
            f"{present.plural(below, 'week')}."
            if below
            else f" Every weekly closing stays above the {present.money(reserve)} reserve."
        )
    dates = list(payroll_dates)
    if dates:
        text += f" {present.plural(len(dates), 'payroll')} fall in the period."
    return text


def aging_chart(
    buckets_frame: pl.DataFrame, *, width: int | str = "container", height: int = 180
) -> alt.Chart:
    """Open amounts by aging bucket (QuickBooks' buckets, in their order), split by side if
    given."""
    from oodaloo import present

    buckets_frame = _aging_long(buckets_frame)
    amount_col = _column(buckets_frame, "amount")
    side = "side" if "side" in buckets_frame.columns else None
    rows: list[dict[str, Any]] = []
    for row in buckets_frame.iter_rows(named=True):
        rows.append(
            {
                "bucket": _bucket_label(str(row["bucket"])),
                "amount": _money(row[amount_col], amount_col),
                "side": str(row[side]) if side else "Open",
                "amount_text": present.money_exact(row[amount_col]),
            }
        )
    order = BUCKET_ORDER + sorted({r["bucket"] for r in rows} - set(BUCKET_ORDER))
    encoding: dict[str, Any] = {
        "x": alt.X("bucket:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        "y": alt.Y("amount:Q", title="Open amount", axis=alt.Axis(format="$,.0f")),
        "tooltip": [
            alt.Tooltip("side:N", title="Side"),
            alt.Tooltip("bucket:N", title="Days past due"),
            alt.Tooltip("amount_text:N", title="Open amount"),
        ],
    }
    if side:
        encoding["color"] = alt.Color(
            "side:N", title=None, scale=_side_scale(rows), legend=alt.Legend(orient="top")
        )
        encoding["xOffset"] = "side:N"
    else:
        encoding["color"] = alt.value(COLORS["ar"])
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(**encoding)
        .properties(width=width, height=height)
    )
    return _configure(chart)


def sparkline(
    series: Sequence[Any] | pl.Series, *, width: int = 120, height: int = 32
) -> alt.Chart:
    """A tiny trend line without axes (for the firm digest; the console uses LineChartColumn)."""
    values = series.to_list() if isinstance(series, pl.Series) else list(series)
    rows = [{"i": i, "v": _to_dollars(v)} for i, v in enumerate(values) if v is not None]
    chart = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(strokeWidth=1.5, color=COLORS["p50"])
        .encode(
            x=alt.X("i:Q", axis=None),
            y=alt.Y("v:Q", axis=None, scale=alt.Scale(zero=False)),
        )
        .properties(width=width, height=height)
    )
    return _configure(chart, view_stroke=None)


def selected_week(event: Any) -> int | None:
    """The week index picked on ``forecast_chart`` from a Streamlit selection event (or None)."""
    try:
        points = event["selection"][WEEK_SELECTION]
    except (KeyError, TypeError):
        return None
    if isinstance(points, list) and points:
        value = points[0].get("week")
        return int(value) if value is not None else None
    return None


def render_png(chart: alt.TopLevelMixin, *, scale: float = 2.0) -> bytes:
    """PNG bytes via vl-convert (offline: data inline, font from the system's DejaVu install)."""
    import vl_convert as vlc

    return vlc.vegalite_to_png(chart.to_dict(), scale=scale)


# ---- helpers ---------------------------------------------------------------------------


def _configure(chart: alt.TopLevelMixin, view_stroke: str | None = "transparent") -> Any:
    return (
        chart.configure(font=FONT)
        .configure_axis(
            labelFont=FONT,
            titleFont=FONT,
            grid=True,
            gridOpacity=0.4,
            labelColor=TEXT,
            titleColor=TEXT,
        )
        .configure_legend(labelFont=FONT, titleFont=FONT, labelColor=TEXT, titleColor=TEXT)
        .configure_title(font=FONT)
        .configure_view(stroke=view_stroke)
    )


def _forecast_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    frame = _widen_forecast(frame)
    start_col = _column(frame, "week_start")
    names = {
        key: _column(frame, key) for key in ("inflow", "outflow", "closing_p50", "closing_p90")
    }
    rows: list[dict[str, Any]] = []
    for index, row in enumerate(frame.iter_rows(named=True), start=1):
        start = _as_date(row[start_col])
        inflow = _money(row[names["inflow"]], names["inflow"])
        outflow = abs(_money(row[names["outflow"]], names["outflow"]))
        rows.append(
            {
                "week": int(row["week"]) if "week" in row and row["week"] is not None else index,
                "week_start": start.isoformat(),
                "week_end": (start + timedelta(days=7)).isoformat(),
                "bar_start": (start + timedelta(days=1)).isoformat(),
                "bar_end": (start + timedelta(days=6)).isoformat(),
                "inflow": inflow,
                "outflow_abs": outflow,
                "outflow_neg": -outflow,
                "closing_p50": _money(row[names["closing_p50"]], names["closing_p50"]),
                "closing_p90": _money(row[names["closing_p90"]], names["closing_p90"]),
            }
        )
    return [_with_words(r) for r in rows]


def _with_words(row: dict[str, Any]) -> dict[str, Any]:
    """Tooltip text in words and money (a tooltip never shows a field name or a raw float)."""
    from oodaloo import present

    end = date.fromisoformat(row["week_start"]) + timedelta(days=6)
    return {
        **row,
        "week_text": f"{present.day(row['week_start'])} to {present.day(end)}",
        "end_text": present.day(end),
        "in_text": present.money(row["inflow"]),
        "out_text": present.money(row["outflow_abs"]),
        "p50_text": present.money(row["closing_p50"]),
        "p90_text": present.money(row["closing_p90"]),
    }


def _datetime(iso: str) -> alt.DateTime:
    day = date.fromisoformat(iso)
    return alt.DateTime(year=day.year, month=day.month, date=day.day)


def _widen_forecast(frame: pl.DataFrame) -> pl.DataFrame:
    """Long (line, week) rows -> one row per week with the P50 flows and both closings."""
    if "line" not in frame.columns:
        return frame
    p50 = frame.filter(pl.col("line") == "p50").sort("week")
    p90 = frame.filter(pl.col("line") == "p90").select(
        "week", pl.col("closing").alias("closing_p90")
    )
    wide = p50.rename({"closing": "closing_p50"}).join(p90, on="week", how="left")
    return wide.with_columns(pl.coalesce("closing_p90", "closing_p50").alias("closing_p90"))


def _aging_long(frame: pl.DataFrame) -> pl.DataFrame:
    """Aging totals (wide bucket columns) -> ``bucket, amount[, side]`` rows."""
    if "bucket" in frame.columns:
        return frame
    wide = {
        "current": "Current",
        "d1_30": "1–30",
        "d31_60": "31–60",
        "d61_90": "61–90",
        "d91_plus": "91+",
    }
    missing = [c for c in wide if c not in frame.columns]
    if missing:
        raise ValueError(
            "aging_chart needs 'bucket' and 'amount' columns or the bucket totals "
            f"(missing {missing})"
        )
    rows = []
    for row in frame.iter_rows(named=True):
        for column, label in wide.items():
            item = {"bucket": label, "amount": row[column]}
            if "side" in frame.columns:
                item["side"] = row["side"]
            rows.append(item)
    return pl.DataFrame(rows, infer_schema_length=None)


def _column(frame: pl.DataFrame, key: str) -> str:
    for name in _ALIASES.get(key, (key,)):
        if name in frame.columns:
            return name
        if f"{name}_cents" in frame.columns:
            return f"{name}_cents"
    raise ValueError(f"chart input is missing the '{key}' column (has: {', '.join(frame.columns)})")


def _money(value: Any, column: str) -> float:
    """Float dollars for drawing; ``*_cents`` columns are integer cents."""
    dollars = _to_dollars(value)
    return dollars / 100.0 if column.endswith("_cents") else dollars


def _to_dollars(value: Any) -> float:
    if value is None:
        return 0.0
    return float(value)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _iso(value: Any) -> str:
    return _as_date(value).isoformat()


def _side_scale(rows: list[dict[str, Any]]) -> alt.Scale:
    """A/R in blue and A/P in red whatever order the frame lists them in."""
    sides = sorted({r["side"] for r in rows}, key=lambda s: (s != "A/R", s != "A/P", s))
    palette = {"A/R": COLORS["ar"], "A/P": COLORS["ap"]}
    extra = iter([COLORS["p90"], COLORS["payroll"], COLORS["inflow"]] * 4)
    return alt.Scale(domain=sides, range=[palette.get(s) or next(extra) for s in sides])


def _bucket_label(raw: str) -> str:
    """Accept ASCII hyphens ("1-30") and show QuickBooks' en dash ("1–30")."""
    return raw.replace("-", "–")
