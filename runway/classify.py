"""What a payment is for: payroll, tax, rent, loan, utilities, subscription — from account and
vendor names. One table of patterns, so every calculator classifies the same way."""

from __future__ import annotations

import polars as pl

# (kind, account-name pattern, party-name pattern); first match wins, payroll first.
KINDS: tuple[tuple[str, str, str], ...] = (
    (
        "payroll",
        r"payroll|wage|salar|compensation",
        r"gusto|\badp\b|paychex|justworks|rippling|trinet|insperity|payroll",
    ),
    (
        "tax",
        r"\btax",
        r"\birs\b|internal revenue|eftps|\btax|franchise|dep(?:artmen)?t\.? of revenue"
        r"|\bdor\b|treasury|comptroller",
    ),
    ("rent", r"\brent|lease", r"propert|realty|landlord|\brent|lease"),
    (
        "loan",
        r"loan|note payable|interest exp|line of credit",
        r"\bloan|\bsba\b|lending|funding",
    ),
    (
        "utilities",
        r"utilit|electric|internet|telephone|phone",
        r"electric|energy|comcast|verizon|at&t|\bpower\b|water",
    ),
    (
        "subscription",
        r"software|subscription|saas|dues",
        r"google|microsoft|adobe|slack|zoom|aws|amazon web|dropbox|atlassian|github|hubspot"
        r"|salesforce|notion|figma",
    ),
)
MUST_PAY_KINDS = ("payroll", "tax", "rent", "loan", "utilities")


def _kind(text: pl.Expr, which: int) -> pl.Expr:
    lowered = text.str.to_lowercase()
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for kind, *patterns in reversed(KINDS):
        expr = pl.when(lowered.str.contains(patterns[which])).then(pl.lit(kind)).otherwise(expr)
    return expr


def account_kind(name: pl.Expr) -> pl.Expr:
    return _kind(name, 0)


def party_kind(name: pl.Expr) -> pl.Expr:
    return _kind(name, 1)


def accounts_classified(accounts: pl.DataFrame) -> pl.DataFrame:
    """realm_id, account_id, is_bank, acct_kind (expense-like accounts only)."""
    name = pl.coalesce("fully_qualified_name", "name").fill_null("")
    expense_like = pl.col("account_type").is_in(
        ["Expense", "Other Expense", "Cost of Goods Sold", "Other Current Liability"]
    )
    return accounts.select(
        "realm_id",
        pl.col("id").alias("account_id"),
        (pl.col("account_type") == "Bank").alias("is_bank"),
        pl.when(expense_like).then(account_kind(name)).otherwise(None).alias("acct_kind"),
    )


def lines_kind(frame: pl.DataFrame, accounts: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Kind of a document from its biggest classified expense line: key + line_kind."""
    kinds = accounts_classified(accounts).select("realm_id", "account_id", "acct_kind")
    return (
        frame.select(*key, "lines")
        .explode("lines")
        .unnest("lines")
        .join(kinds, on=["realm_id", "account_id"], how="left")
        .filter(pl.col("acct_kind").is_not_null())
        .sort(*key, "amount", descending=[False] * len(key) + [True])
        .group_by(key)
        .agg(pl.col("acct_kind").first().alias("line_kind"))
    )
