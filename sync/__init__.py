"""QBO ↔ DuckDB: the QBO client (OAuth, rate limits, retries), bulk sync with change tracking,
freshness-aware reads and the scheduler. Knows QBO and DuckDB; knows nothing about cash."""
