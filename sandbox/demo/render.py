"""Records -> QBO JSON documents, with every read-only figure (Balance, UnappliedAmt,
CurrentBalance, LinkedTxn) computed here from the records, in one place."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.demo.books import Books, Party, Rec
from sandbox.demo.calibrate import bank_flows
from sandbox.demo.master import USD, Company

ENTITY_ORDER = (
    "Account",
    "Term",
    "Item",
    "Customer",
    "Vendor",
    "Invoice",
    "Payment",
    "Bill",
    "BillPayment",
    "Purchase",
    "Deposit",
    "JournalEntry",
    "CreditMemo",
    "VendorCredit",
    "SalesReceipt",
    "RefundReceipt",
    "Transfer",
    "Estimate",
    "ExchangeRate",
)
NON_TAXABLE = {"value": "NON"}
CENT = Decimal("0.01")
Doc = dict[str, Any]


def m(cents: int) -> float:
    """Cents as a JSON number with at most two decimals (exact when read back as Decimal)."""
    return cents / 100


def _ref(party: Party) -> dict[str, str]:
    return {"value": party.id, "name": party.name}


def _day(day: int) -> str:
    return date.fromordinal(day).isoformat()


def _home(rate: float, total: int, balance: int) -> dict[str, float]:
    """HomeTotalAmt / HomeBalance of a foreign document: cents × rate, half-up to the cent."""
    factor = Decimal(str(rate))
    return {
        "HomeTotalAmt": float((Decimal(total) * factor / 100).quantize(CENT, ROUND_HALF_UP)),
        "HomeBalance": float((Decimal(balance) * factor / 100).quantize(CENT, ROUND_HALF_UP)),
    }


class Renderer:
    def __init__(self, company: Company) -> None:
        self.company = company
        self.books: Books = company.books
        self.fmt = company.books.stamps.fmt

    def _common(self, doc: Doc, obj: Rec | Party) -> Doc:
        doc["domain"] = "QBO"
        doc["sparse"] = False
        doc["Id"] = obj.id
        doc["SyncToken"] = str(obj.sync)
        doc["MetaData"] = {
            "CreateTime": self.fmt(obj.created),
            "LastUpdatedTime": self.fmt(max(obj.updated, obj.created)),
        }
        return doc

    # ---- balances -------------------------------------------------------------------------
    def _balances(self) -> dict[str, int]:
        """Open amount per customer/vendor id and CurrentBalance per balance-sheet account id."""
        out: dict[str, int] = defaultdict(int)
        for rec in self.books.records:
            if rec.voided:
                continue
            if rec.kind in ("Invoice", "Bill"):
                out[rec.party.id] += rec.balance
                out[rec.account.id] += rec.balance
            elif rec.kind == "Payment" and rec.extra.get("unapplied"):
                out[rec.party.id] -= rec.extra["unapplied"]
                ar = self.company.accounts["ar_cad" if rec.account.key == "bank_cad" else "ar"]
                out[ar.id] -= rec.extra["unapplied"]
            elif rec.kind == "Purchase" and rec.account.type == "Credit Card":
                out[rec.account.id] += rec.total
            if rec.kind == "JournalEntry":
                for posting, account, amount, *_ in rec.lines:
                    if account.type == "Credit Card":
                        out[account.id] += -amount if posting == "Debit" else amount
                    elif account.type == "Equity":
                        out[account.id] += amount if posting == "Credit" else -amount
            if rec.kind in ("CreditMemo", "VendorCredit"):  # credits lower what is owed
                out[rec.party.id] -= rec.balance
                out[rec.account.id] -= rec.balance
            elif rec.kind in ("Payment", "SalesReceipt") and rec.account.key == "undeposited":
                out[rec.account.id] += rec.total
            elif rec.kind == "Deposit" and rec.extra.get("linked"):
                funds = self.company.accounts["undeposited"]
                out[funds.id] -= sum(amount for _, amount in rec.extra["linked"])
            elif rec.kind == "Transfer":
                for account, sign in ((rec.account, -1), (rec.extra["to"], 1)):
                    if account.type != "Bank":  # liabilities grow as money leaves them
                        flip = -1 if account.classification == "Liability" else 1
                        out[account.id] += sign * flip * rec.total
        for account_id, days in bank_flows(self.books.records).items():
            out[account_id] = sum(days.values())
        return out

    # ---- list entities --------------------------------------------------------------------
    def party(self, party: Party, balances: dict[str, int]) -> Doc:
        kind = party.kind
        if kind == "Account":
            parent = party.parent
            doc: Doc = {"Name": party.name, "SubAccount": parent is not None}
            if parent is not None:
                doc["ParentRef"] = {"value": parent.id}
            balance = m(balances.get(party.id, 0))
            doc.update(
                FullyQualifiedName=f"{parent.name}:{party.name}" if parent else party.name,
                Active=True,
                Classification=party.classification,
                AccountType=party.type,
                AccountSubType=party.sub_type,
                CurrentBalance=balance,
                CurrentBalanceWithSubAccounts=balance,
                CurrencyRef=dict(party.currency),
            )
            if party.attrs.get("description"):
                doc["Description"] = party.description
        elif kind == "Term":
            doc = {
                "Name": party.name,
                "Active": True,
                "Type": "STANDARD",
                "DueDays": party.due_days,
            }
        elif kind == "Item":
            doc = {
                "Name": party.name,
                "FullyQualifiedName": party.name,
                "Active": True,
                "Type": "Service",
                "Taxable": False,
                "IncomeAccountRef": _ref(party.income),
            }
        else:
            doc = {
                "DisplayName": party.name,
                "CompanyName": party.name,
                "PrintOnCheckName": party.name,
                "Active": True,
            }
            if party.email:
                doc["PrimaryEmailAddr"] = {"Address": party.email}
            doc["Balance"] = m(balances.get(party.id, 0))
            if kind == "Customer":
                doc.update(
                    SalesTermRef={"value": party.term.id},
                    BalanceWithJobs=doc["Balance"],
                    CurrencyRef=dict(party.currency),
                    Taxable=False,
                    Job=False,
                    BillWithParent=False,
                    PreferredDeliveryMethod="Email" if party.email else "None",
                    FullyQualifiedName=party.name,
                )
            else:
                doc.update(
                    TermRef={"value": party.term.id},
                    Vendor1099=party.is_1099,
                    CurrencyRef=dict(USD),
                )
        return self._common(doc, party)

    # ---- transactions -------------------------------------------------------------------
    def invoice(self, rec: Rec) -> Doc:
        voided = rec.voided
        lines: list[Doc] = []
        for n, (item, description, qty, rate, amount) in enumerate(rec.lines, 1):
            lines.append(
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Description": description,
                    "Amount": 0.0 if voided else m(amount),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": _ref(item),
                        "UnitPrice": m(rate),
                        "Qty": 0 if voided else qty,
                        "ItemAccountRef": _ref(item.income),
                        "TaxCodeRef": dict(NON_TAXABLE),
                    },
                }
            )
        total = 0 if voided else rec.total
        lines.append(
            {"Amount": m(total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        doc: Doc = {"DocNumber": rec.extra["doc_number"], "TxnDate": _day(rec.day)}
        if not rec.extra.get("no_due"):
            doc["DueDate"] = _day(rec.due_day)
            doc["SalesTermRef"] = _ref(rec.term)
        doc.update(CustomerRef=_ref(rec.party), CurrencyRef=dict(rec.party.currency))
        if "fx" in rec.extra:
            doc["ExchangeRate"] = rec.extra["fx"]
            doc.update(_home(rec.extra["fx"], total, rec.balance))
        doc.update(
            Line=lines,
            TxnTaxDetail={"TotalTax": 0},
            TotalAmt=m(total),
            Balance=m(rec.balance),
            ApplyTaxAfterDiscount=False,
            PrintStatus="NotSet",
            EmailStatus=rec.extra["email_status"],
        )
        if rec.party.email:
            doc["BillEmail"] = {"Address": rec.party.email}
        if "delivered" in rec.extra:
            doc["DeliveryInfo"] = {
                "DeliveryType": "Email",
                "DeliveryTime": self.fmt(rec.extra["delivered"]),
            }
        links = [{"TxnId": e.id, "TxnType": "Estimate"} for e in rec.extra.get("estimates", [])]
        links += [{"TxnId": p.id, "TxnType": "Payment"} for p, _ in rec.applied]
        if links:
            doc["LinkedTxn"] = links
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def payment(self, rec: Rec) -> Doc:
        doc: Doc = {
            "CustomerRef": _ref(rec.party),
            "DepositToAccountRef": _ref(rec.account),
            "TxnDate": _day(rec.day),
            "CurrencyRef": dict(rec.party.currency),
        }
        if "fx" in rec.extra:
            doc["ExchangeRate"] = rec.extra["fx"]
            if not rec.voided:
                doc["HomeTotalAmt"] = _home(rec.extra["fx"], rec.total, 0)["HomeTotalAmt"]
        if rec.voided:
            doc.update(TotalAmt=0.0, UnappliedAmt=0.0, Line=[])
        else:
            doc.update(
                TotalAmt=m(rec.total),
                UnappliedAmt=m(rec.extra.get("unapplied", 0)),
                Line=[
                    {"Amount": m(amount), "LinkedTxn": [{"TxnId": inv.id, "TxnType": "Invoice"}]}
                    for inv, amount in rec.lines
                ]
                + [
                    {"Amount": m(amount), "LinkedTxn": [{"TxnId": cm.id, "TxnType": "CreditMemo"}]}
                    for cm, amount in rec.extra.get("credits", [])
                ],
            )
        if "deposit" in rec.extra:
            doc["LinkedTxn"] = [{"TxnId": rec.extra["deposit"].id, "TxnType": "Deposit"}]
        doc["ProcessPayment"] = False
        if rec.extra.get("ref"):
            doc["PaymentRefNum"] = rec.extra["ref"]
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def _expense_lines(self, rec: Rec) -> list[Doc]:
        return [
            {
                "Id": str(n),
                "LineNum": n,
                "Description": description,
                "Amount": m(amount),
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {
                    "AccountRef": _ref(account),
                    "BillableStatus": "NotBillable",
                    "TaxCodeRef": dict(NON_TAXABLE),
                },
            }
            for n, (account, description, amount) in enumerate(rec.lines, 1)
        ]

    def bill(self, rec: Rec) -> Doc:
        doc: Doc = {}
        if rec.extra.get("doc_number"):
            doc["DocNumber"] = rec.extra["doc_number"]
        doc["TxnDate"] = _day(rec.day)
        if not rec.extra.get("no_due"):
            doc["DueDate"] = _day(rec.due_day)
            doc["SalesTermRef"] = {"value": rec.term.id}
        doc.update(
            VendorRef=_ref(rec.party),
            APAccountRef=_ref(rec.account),
            CurrencyRef=dict(USD),
            Line=self._expense_lines(rec),
            TotalAmt=m(rec.total),
            Balance=m(rec.balance),
        )
        if rec.applied:
            doc["LinkedTxn"] = [
                {"TxnId": p.id, "TxnType": "BillPaymentCheck"} for p, _ in rec.applied
            ]
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def bill_payment(self, rec: Rec) -> Doc:
        doc: Doc = {
            "VendorRef": _ref(rec.party),
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": _ref(rec.account), "PrintStatus": "NotSet"},
            "APAccountRef": _ref(self.company.accounts["ap"]),
            "DocNumber": rec.extra["doc_number"],
            "TxnDate": _day(rec.day),
            "CurrencyRef": dict(USD),
        }
        if rec.voided:
            doc.update(TotalAmt=0.0, Line=[])
        else:
            doc.update(
                TotalAmt=m(rec.total),
                Line=[
                    {"Amount": m(amount), "LinkedTxn": [{"TxnId": bill.id, "TxnType": "Bill"}]}
                    for bill, amount in rec.lines
                ]
                + [
                    {
                        "Amount": m(amount),
                        "LinkedTxn": [{"TxnId": vc.id, "TxnType": "VendorCredit"}],
                    }
                    for vc, amount in rec.extra.get("credits", [])
                ],
            )
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def purchase(self, rec: Rec) -> Doc:
        doc: Doc = {"PaymentType": rec.extra["payment_type"], "AccountRef": _ref(rec.account)}
        if rec.party is not None:
            doc["EntityRef"] = {"value": rec.party.id, "name": rec.party.name, "type": "Vendor"}
        if rec.extra.get("doc_number"):
            doc["DocNumber"] = rec.extra["doc_number"]
        doc.update(
            TxnDate=_day(rec.day),
            TotalAmt=m(rec.total),
            Credit=False,
            CurrencyRef=dict(USD),
            Line=self._expense_lines(rec),
        )
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def deposit(self, rec: Rec) -> Doc:
        if rec.extra.get("linked"):  # payments moved out of Undeposited Funds
            lines = [
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Amount": m(amount),
                    "LinkedTxn": [{"TxnId": src.id, "TxnType": src.kind, "TxnLineId": "0"}],
                }
                for n, (src, amount) in enumerate(rec.extra["linked"], 1)
            ]
        else:
            lines = [
                {
                    "Id": str(n),
                    "LineNum": n,
                    "Description": description,
                    "Amount": m(amount),
                    "DetailType": "DepositLineDetail",
                    "DepositLineDetail": {"AccountRef": _ref(account)},
                }
                for n, (account, description, amount) in enumerate(rec.lines, 1)
            ]
        doc: Doc = {
            "DepositToAccountRef": _ref(rec.account),
            "TxnDate": _day(rec.day),
            "TotalAmt": m(rec.total),
            "CurrencyRef": dict(rec.account.currency),
            "Line": lines,
        }
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def journal_entry(self, rec: Rec) -> Doc:
        lines = []
        for n, (posting, account, amount, description, entity) in enumerate(rec.lines):
            detail: Doc = {"PostingType": posting, "AccountRef": _ref(account)}
            if entity is not None:
                detail["Entity"] = {"Type": "Vendor", "EntityRef": _ref(entity)}
            lines.append(
                {
                    "Id": str(n),
                    "Description": description,
                    "Amount": m(amount),
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": detail,
                }
            )
        doc: Doc = {
            "DocNumber": rec.extra["doc_number"],
            "TxnDate": _day(rec.day),
            "Adjustment": False,
            "TotalAmt": m(rec.total),
            "CurrencyRef": dict(USD),
            "Line": lines,
        }
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    # ---- credits, cash sales, transfers, estimates, rates ---------------------------------
    def _sales_lines(self, rec: Rec) -> list[Doc]:
        lines: list[Doc] = [
            {
                "Id": str(n),
                "LineNum": n,
                "Description": description,
                "Amount": m(amount),
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {
                    "ItemRef": _ref(item),
                    "UnitPrice": m(rate),
                    "Qty": qty,
                    "ItemAccountRef": _ref(item.income),
                    "TaxCodeRef": dict(NON_TAXABLE),
                },
            }
            for n, (item, description, qty, rate, amount) in enumerate(rec.lines, 1)
        ]
        lines.append(
            {"Amount": m(rec.total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        return lines

    def credit_memo(self, rec: Rec) -> Doc:
        doc: Doc = {
            "DocNumber": rec.extra["doc_number"],
            "TxnDate": _day(rec.day),
            "CustomerRef": _ref(rec.party),
            "CurrencyRef": dict(rec.party.currency),
            "Line": self._sales_lines(rec),
            "TotalAmt": m(rec.total),
            "Balance": m(rec.balance),
            "RemainingCredit": m(rec.balance),
            "ApplyTaxAfterDiscount": False,
            "PrintStatus": "NotSet",
            "EmailStatus": "NotSet",
        }
        if rec.applied:
            doc["LinkedTxn"] = [{"TxnId": p.id, "TxnType": "Payment"} for p, _ in rec.applied]
        return self._common(doc, rec)

    def vendor_credit(self, rec: Rec) -> Doc:
        doc: Doc = {
            "DocNumber": rec.extra["doc_number"],
            "TxnDate": _day(rec.day),
            "VendorRef": _ref(rec.party),
            "APAccountRef": _ref(rec.account),
            "CurrencyRef": dict(USD),
            "Line": self._expense_lines(rec),
            "TotalAmt": m(rec.total),
            "Balance": m(rec.balance),
        }
        if rec.applied:
            doc["LinkedTxn"] = [
                {"TxnId": p.id, "TxnType": "BillPaymentCheck"} for p, _ in rec.applied
            ]
        return self._common(doc, rec)

    def receipt(self, rec: Rec) -> Doc:
        doc: Doc = {
            "DocNumber": rec.extra["doc_number"],
            "TxnDate": _day(rec.day),
            "CustomerRef": _ref(rec.party),
            "CurrencyRef": dict(rec.party.currency),
            "Line": self._sales_lines(rec),
            "TotalAmt": m(rec.total),
            "DepositToAccountRef": _ref(rec.account),
            "PrintStatus": "NotSet",
            "EmailStatus": "NotSet",
        }
        if rec.kind == "RefundReceipt":
            doc["PaymentType"] = "Check"
        if "deposit" in rec.extra:
            doc["LinkedTxn"] = [{"TxnId": rec.extra["deposit"].id, "TxnType": "Deposit"}]
        if rec.party.email:
            doc["BillEmail"] = {"Address": rec.party.email}
        return self._common(doc, rec)

    def transfer(self, rec: Rec) -> Doc:
        doc: Doc = {
            "FromAccountRef": _ref(rec.account),
            "ToAccountRef": _ref(rec.extra["to"]),
            "Amount": m(rec.total),
            "TxnDate": _day(rec.day),
            "CurrencyRef": dict(USD),
        }
        if rec.note:
            doc["PrivateNote"] = rec.note
        return self._common(doc, rec)

    def estimate(self, rec: Rec) -> Doc:
        doc: Doc = {
            "DocNumber": rec.extra["doc_number"],
            "TxnDate": _day(rec.day),
            "ExpirationDate": _day(rec.due_day),
            "CustomerRef": _ref(rec.party),
            "CurrencyRef": dict(rec.party.currency),
            "Line": self._sales_lines(rec),
            "TotalAmt": m(rec.total),
            "TxnStatus": rec.extra["status"],
            "ApplyTaxAfterDiscount": False,
            "PrintStatus": "NotSet",
            "EmailStatus": "EmailSent" if rec.party.email else "NotSet",
        }
        if "accepted" in rec.extra:
            doc["AcceptedDate"] = _day(rec.extra["accepted"])
            doc["AcceptedBy"] = rec.party.name
        if "invoice" in rec.extra:
            doc["LinkedTxn"] = [{"TxnId": rec.extra["invoice"].id, "TxnType": "Invoice"}]
        if rec.party.email:
            doc["BillEmail"] = {"Address": rec.party.email}
        return self._common(doc, rec)

    def exchange_rate(self, rec: Rec) -> Doc:
        doc: Doc = {
            "SourceCurrencyCode": "CAD",
            "TargetCurrencyCode": "USD",
            "Rate": rec.extra["rate"],
            "AsOfDate": _day(rec.day),
        }
        return self._common(doc, rec)

    def render(self) -> dict[str, list[Doc]]:
        balances = self._balances()
        out: dict[str, list[Doc]] = {entity: [] for entity in ENTITY_ORDER}
        for party in self.books.parties:
            out[party.kind].append(self.party(party, balances))
        renderers = {
            "Invoice": self.invoice,
            "Payment": self.payment,
            "Bill": self.bill,
            "BillPayment": self.bill_payment,
            "Purchase": self.purchase,
            "Deposit": self.deposit,
            "JournalEntry": self.journal_entry,
            "CreditMemo": self.credit_memo,
            "VendorCredit": self.vendor_credit,
            "SalesReceipt": self.receipt,
            "RefundReceipt": self.receipt,
            "Transfer": self.transfer,
            "Estimate": self.estimate,
            "ExchangeRate": self.exchange_rate,
        }
        for rec in self.books.records:
            out[rec.kind].append(renderers[rec.kind](rec))
        for docs in out.values():
            docs.sort(key=lambda d: int(d["Id"]))
        return out
