"""Oodaloo: cash-runway console for agencies on QuickBooks Online.

This package holds the wiring shared by every layer: typed configuration, the clock, the
choice of QBO endpoint and the command line. Domain code lives in `sync/`, `runway/`,
`actions/`, `digest/` and the simulated QBO in `sandbox/`.
"""

__version__ = "0.1.0"
