"""Exactly-once actions on QBO (pay a bill, delay a bill, send a reminder): a durable intent
ledger, guards before every write, the executor with recovery, an outbox, audit and the CLI."""
