"""Which account pays a bill: never a foreign-currency account because it holds more."""

from __future__ import annotations

from actions.handlers import default_bank_account


def bank(account_id: str, balance: float, currency: str | None = "USD", **extra: object) -> dict:
    doc: dict[str, object] = {
        "Id": account_id,
        "AccountType": "Bank",
        "CurrentBalance": balance,
        **extra,
    }
    if currency is not None:
        doc["CurrencyRef"] = {"value": currency}
    return doc


def test_the_richest_home_currency_account_pays_even_when_a_foreign_one_holds_more() -> None:
    accounts = [bank("10", 50_000), bank("11", 20_000), bank("12", 270_950, "CAD")]
    assert default_bank_account(accounts, "USD") == "10"


def test_without_a_known_home_currency_the_common_currency_wins() -> None:
    accounts = [bank("10", 50_000), bank("11", 20_000), bank("12", 270_950, "CAD")]
    assert default_bank_account(accounts) == "10"


def test_inactive_and_non_bank_accounts_never_pay() -> None:
    accounts = [
        bank("10", 5_000),
        bank("11", 90_000, Active=False),
        {"Id": "12", "AccountType": "Credit Card", "CurrentBalance": 99_000},
    ]
    assert default_bank_account(accounts, "USD") == "10"


def test_accounts_without_currency_are_home_accounts_and_ties_go_to_the_lowest_id() -> None:
    accounts = [bank("21", 1_000, None), bank("20", 1_000, None)]
    assert default_bank_account(accounts, "USD") == "20"
    assert default_bank_account([bank("30", 1_000, "CAD")], "USD") is None
