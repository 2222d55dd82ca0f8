"""The cash documents besides invoices and bills, read from the generated JSON (not from the
generator's records): credits, cash sales and a refund, transfers, the line of credit, estimates,
Undeposited Funds with deposits, and the CAD exchange rates, in believable proportions."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tests.demo.demo_ledger import TODAY, ZERO, money, undeposited

STATUSES = {"Pending", "Accepted", "Closed", "Rejected"}


def _links(doc: dict, kind: str) -> list[str]:
    return [
        link["TxnId"]
        for line in doc.get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link["TxnType"] == kind
    ]


def test_every_company_holds_each_kind_in_believable_proportions(firm: dict) -> None:
    for profile, docs in firm.values():
        name = profile.name
        invoices = [i for i in docs["Invoice"] if money(i["TotalAmt"]) > 0]
        memos, credits = docs["CreditMemo"], docs["VendorCredit"]
        applied = {m for p in docs["Payment"] for m in _links(p, "CreditMemo")}
        assert applied and any(money(m["Balance"]) > 0 for m in memos), name
        assert len(memos) < 0.1 * len(invoices), name  # credits are the exception
        assert {c for bp in docs["BillPayment"] for c in _links(bp, "VendorCredit")}, name
        assert any(money(c["Balance"]) > 0 for c in credits), name
        sales = docs["SalesReceipt"]
        assert 3 <= len(sales) <= 6 and len(docs["RefundReceipt"]) == 1, name
        cash_sales = sum((money(s["TotalAmt"]) for s in sales), ZERO)
        billed = sum((money(i["TotalAmt"]) for i in invoices), ZERO)
        assert cash_sales < Decimal("0.05") * billed, name
        accounts = {a["Id"]: a for a in docs["Account"]}
        kinds = Counter(
            (
                accounts[t["FromAccountRef"]["value"]]["AccountSubType"],
                accounts[t["ToAccountRef"]["value"]]["AccountSubType"],
            )
            for t in docs["Transfer"]
        )
        assert kinds[("LineOfCredit", "Checking")] >= 1, name  # a draw
        assert kinds[("Checking", "LineOfCredit")] >= 1, name  # and a repayment
        if profile.bank_accounts > 1:
            assert kinds[("Checking", "Savings")] >= 1, name
        statuses = Counter(e["TxnStatus"] for e in docs["Estimate"])
        assert set(statuses) <= STATUSES and statuses["Closed"] and statuses["Rejected"], name
        pending = [e for e in docs["Estimate"] if e["TxnStatus"] == "Pending"]
        assert any(e["ExpirationDate"] < TODAY.isoformat() for e in pending), name  # expired
        assert any(e["ExpirationDate"] >= TODAY.isoformat() for e in pending), name
        assert statuses["Accepted"] >= 1, name  # accepted, not invoiced yet
        deposited = [d for d in docs["Deposit"] if any(line.get("LinkedTxn") for line in d["Line"])]
        assert deposited and max(len(d["Line"]) for d in deposited) >= 2, name  # batched checks


def test_estimates_link_the_invoice_they_became_both_ways(firm: dict) -> None:
    for _, docs in firm.values():
        invoices = {i["Id"]: i for i in docs["Invoice"]}
        for estimate in docs["Estimate"]:
            links = estimate.get("LinkedTxn", [])
            assert (estimate["TxnStatus"] == "Closed") == bool(links), estimate["Id"]
            for link in links:
                invoice = invoices[link["TxnId"]]
                assert invoice["CustomerRef"]["value"] == estimate["CustomerRef"]["value"]
                assert invoice["TxnDate"] >= estimate["TxnDate"]
                assert money(invoice["TotalAmt"]) == money(estimate["TotalAmt"])
                assert {"TxnId": estimate["Id"], "TxnType": "Estimate"} in invoice["LinkedTxn"]
            assert estimate["ExpirationDate"] > estimate["TxnDate"]


def test_undeposited_funds_and_the_line_of_credit_tie_out(firm: dict) -> None:
    waiting_somewhere = False
    for profile, docs in firm.values():
        accounts = {a["AccountSubType"]: a for a in docs["Account"]}
        funds = accounts["UndepositedFunds"]
        assert money(funds["CurrentBalance"]) == undeposited(docs) >= 0, profile.name
        waiting_somewhere |= money(funds["CurrentBalance"]) > 0
        sources = {d["Id"]: d for entity in ("Payment", "SalesReceipt") for d in docs[entity]}
        seen: Counter[str] = Counter()
        for deposit in docs["Deposit"]:
            linked = [line for line in deposit["Line"] if line.get("LinkedTxn")]
            for line in linked:
                (link,) = line["LinkedTxn"]
                source = sources[link["TxnId"]]
                seen[link["TxnId"]] += 1
                assert source["DepositToAccountRef"]["value"] == funds["Id"]
                assert money(line["Amount"]) == money(source["TotalAmt"])
                assert source["TxnDate"] <= deposit["TxnDate"]
            if linked:
                assert money(deposit["TotalAmt"]) == sum((money(x["Amount"]) for x in linked), ZERO)
        assert not [i for i, n in seen.items() if n > 1], profile.name  # each check deposited once
        line = accounts["LineOfCredit"]
        moved = sum(
            (
                money(t["Amount"]) * (1 if t["FromAccountRef"]["value"] == line["Id"] else -1)
                for t in docs["Transfer"]
                if line["Id"] in (t["FromAccountRef"]["value"], t["ToAccountRef"]["value"])
            ),
            ZERO,
        )
        assert money(line["CurrentBalance"]) == moved >= 0, profile.name
        limit = Decimal(line["Description"].split("$")[1].replace(",", ""))
        assert money(line["CurrentBalance"]) < limit
    assert waiting_somewhere  # some checks are still waiting today


def test_a_customer_holds_a_credit_that_covers_an_overdue_invoice(firm: dict) -> None:
    for profile, docs in firm.values():
        open_credit: defaultdict[str, Decimal] = defaultdict(Decimal)
        for memo in docs["CreditMemo"]:
            open_credit[memo["CustomerRef"]["value"]] += money(memo["Balance"])
        covered = [
            i
            for i in docs["Invoice"]
            if money(i["Balance"]) > 0
            and i.get("DueDate", "9999") < TODAY.isoformat()
            and open_credit[i["CustomerRef"]["value"]] >= money(i["Balance"])
        ]
        assert covered, profile.name


def test_brightline_keeps_its_cad_account_and_rates_with_home_amounts(firm: dict) -> None:
    profile, docs = firm["Brightline Studio"]
    info = {nv["Name"]: nv["Value"] for nv in docs["CompanyInfo"][0]["NameValue"]}
    assert info["MultiCurrencyEnabled"] == "true"
    cad_bank = [
        a
        for a in docs["Account"]
        if a["AccountType"] == "Bank" and a["CurrencyRef"]["value"] == "CAD"
    ]
    assert len(cad_bank) == 1 and money(cad_bank[0]["CurrentBalance"]) > 0
    rates = sorted(docs["ExchangeRate"], key=lambda r: r["AsOfDate"])
    assert rates[-1]["AsOfDate"] == TODAY.isoformat()
    assert all(r["SourceCurrencyCode"] == "CAD" and r["TargetCurrencyCode"] == "USD" for r in rates)
    assert len({r["AsOfDate"][:7] for r in rates}) >= 18  # one a month, and today's
    by_month = {r["AsOfDate"]: r["Rate"] for r in rates}
    cents = Decimal("0.01")
    for invoice in docs["Invoice"]:
        if invoice["CurrencyRef"]["value"] != "CAD":
            assert "HomeTotalAmt" not in invoice
            continue
        rate = Decimal(str(invoice["ExchangeRate"]))
        assert money(invoice["HomeTotalAmt"]) == (money(invoice["TotalAmt"]) * rate).quantize(
            cents, ROUND_HALF_UP
        )
        assert money(invoice["HomeBalance"]) == (money(invoice["Balance"]) * rate).quantize(
            cents, ROUND_HALF_UP
        )
        month_rate = by_month.get(date.fromisoformat(invoice["TxnDate"]).replace(day=1).isoformat())
        if month_rate is not None:  # booked at the company's rate of the month
            assert invoice["ExchangeRate"] == month_rate
    for other, (_, company_docs) in firm.items():
        if other != "Brightline Studio":
            assert company_docs["ExchangeRate"] == []
