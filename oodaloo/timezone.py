"""The product's one default time zone, for companies whose own zone is unknown. Its own module
(no clock, no network) so the calculators can name it without importing the clock."""

from __future__ import annotations

DEFAULT_TZ = "America/New_York"
