"""Cash-runway calculators: pure Polars functions over snapshots of the store (see docs/reports.md)."""
