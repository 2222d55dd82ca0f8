"""The console's 13-week chart (oodaloo.charts.forecast_chart), rendered offline to PNG for the PDF.

vl-convert measures and draws text with fonts it knows, so the vendored DejaVu Sans directory is
registered once per process; the spec gets a fixed pixel width (the console's is "container").
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from digest.pdf import FONT_DIR

CHART_WIDTH_PX = 640
CHART_HEIGHT_PX = 250
_fonts_lock = threading.Lock()
_fonts_registered = False


def register_fonts() -> None:
    global _fonts_registered
    with _fonts_lock:
        if not _fonts_registered:
            import vl_convert as vlc

            vlc.register_font_directory(str(FONT_DIR))
            _fonts_registered = True


def spec_png(spec: dict[str, Any], scale: float = 2.0) -> bytes:
    """PNG bytes of a Vega-Lite spec (data inline), with the vendored font available."""
    import vl_convert as vlc

    register_fonts()
    return bytes(vlc.vegalite_to_png(spec, scale=scale))


def forecast_png(
    forecast: pl.DataFrame, reserve: Decimal | None, payroll_dates: list[date]
) -> bytes | None:
    """The console's forecast chart as a PNG, or None when there is no forecast to draw."""
    if forecast.is_empty():
        return None
    from oodaloo.charts import forecast_chart

    chart = forecast_chart(
        forecast, reserve, payroll_dates, width=CHART_WIDTH_PX, height=CHART_HEIGHT_PX
    )
    return spec_png(chart.to_dict())
