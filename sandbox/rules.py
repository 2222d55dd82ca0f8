"""QBO's business rules for documents written through the API.

``prepare`` validates a candidate document and fills the fields QBO computes (TotalAmt, Balance,
DueDate, DocNumber, UnappliedAmt, ref names). ``effects`` lists what a document does to others
(a Payment lowers invoice balances and the customer balance; a BillPayment lowers bills, the vendor
and the bank account...). Writers apply ``effects(old)`` reversed and ``effects(new)`` forward,
so create, update, void and delete share one code path.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox import docstore, timeutil
from sandbox import faults_envelope as F
from sandbox.entities import NAMED_ENTITIES

Doc = dict[str, Any]
CENT = Decimal("0.01")

# Top-level refs and the entity they point to.
TOP_REFS = {
    "CustomerRef": "Customer",
    "VendorRef": "Vendor",
    "SalesTermRef": "Term",
    "TermRef": "Term",
    "APAccountRef": "Account",
    "ARAccountRef": "Account",
    "DepositToAccountRef": "Account",
    "AccountRef": "Account",
    "FromAccountRef": "Account",
    "ToAccountRef": "Account",
}
NESTED_REFS = {
    ("CheckPayment", "BankAccountRef"): "Account",
    ("CreditCardPayment", "CCAccountRef"): "Account",
}
LINE_REF_DETAILS = ("AccountBasedExpenseLineDetail", "DepositLineDetail", "JournalEntryLineDetail")
LIABILITY_TYPES = {
    "Credit Card",
    "Accounts Payable",
    "Other Current Liability",
    "Long Term Liability",
}


def money(value: Any, element: str = "Amount") -> Decimal:
    try:
        return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    except ArithmeticError as exc:
        raise F.validation(
            "Invalid Number", f"{element} must be a number, got {value!r}", element
        ) from exc


def as_number(value: Decimal) -> float:
    return float(value)


@dataclass
class Context:
    conn: sqlite3.Connection
    realm: str
    tz: str
    now: float

    @property
    def today(self) -> date:
        return timeutil.local_date(self.now, self.tz)


# ---- validation helpers ------------------------------------------------------------------
def _get_path(doc: Doc, path: str) -> Any:
    node: Any = doc
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def check_required(doc: Doc, required: tuple[str, ...]) -> None:
    for path in required:
        value = _get_path(doc, path)
        if value is None or value == "" or value == []:
            raise F.required(path)


def _resolve_ref(ctx: Context, ref: Any, entity: str, element: str) -> Doc:
    if not isinstance(ref, dict) or not str(ref.get("value") or "").strip():
        raise F.invalid_reference(element, ref)
    target = docstore.get_live(ctx.conn, ctx.realm, entity, str(ref["value"]))
    if target is None or (target.get("Active") is False):
        raise F.invalid_reference(element, ref.get("value"))
    ref["value"] = str(ref["value"])
    if "name" not in ref:
        label = target.get("DisplayName") or target.get("FullyQualifiedName") or target.get("Name")
        if label:
            ref["name"] = label
    return target


def check_refs(ctx: Context, doc: Doc) -> dict[str, Doc]:
    """Every reference must point to a live (active) document (else 2500); names are filled in."""
    found: dict[str, Doc] = {}
    for key, entity in TOP_REFS.items():
        if key in doc and doc[key] is not None:
            found[key] = _resolve_ref(ctx, doc[key], entity, key)
    for (outer, key), entity in NESTED_REFS.items():
        ref = (doc.get(outer) or {}).get(key) if isinstance(doc.get(outer), dict) else None
        if ref is not None:
            found[f"{outer}.{key}"] = _resolve_ref(ctx, ref, entity, f"{outer}.{key}")
    for line in doc.get("Line") or []:
        for detail in LINE_REF_DETAILS:
            ref = (line.get(detail) or {}).get("AccountRef") if isinstance(line, dict) else None
            if ref is not None:
                _resolve_ref(ctx, ref, "Account", f"Line.{detail}.AccountRef")
    return found


def number_lines(doc: Doc) -> None:
    lines = doc.get("Line")
    if lines is None:
        return
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        raise F.validation("Invalid Line", "Line must be a list of objects", "Line")
    used = {str(line["Id"]) for line in lines if line.get("Id")}
    counter = 1
    for line in lines:
        if "Amount" in line:
            line["Amount"] = as_number(money(line["Amount"], "Line.Amount"))
        for link in line.get("LinkedTxn") or []:
            if isinstance(link, dict) and link.get("TxnId") is not None:
                link["TxnId"] = str(
                    link["TxnId"]
                )  # ids are strings on the wire, whatever clients send
        if line.get("DetailType") == "SubTotalLineDetail":
            continue
        if not line.get("Id"):
            while str(counter) in used:
                counter += 1
            line["Id"] = str(counter)
            used.add(line["Id"])


def lines_total(doc: Doc) -> Decimal:
    total = Decimal(0)
    for line in doc.get("Line") or []:
        kind = line.get("DetailType")
        if kind == "SubTotalLineDetail":
            continue
        amount = money(line.get("Amount", 0), "Line.Amount")
        total += -amount if kind == "DiscountLineDetail" else amount
    return total


def linked_amounts(doc: Doc, txn_type: str) -> list[tuple[str, Decimal]]:
    """(linked document id, amount) for each payment line linked to a ``txn_type`` document."""
    out = []
    for line in doc.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == txn_type and link.get("TxnId"):
                out.append((str(link["TxnId"]), money(line.get("Amount", 0), "Line.Amount")))
    return out


# ---- per-entity preparation --------------------------------------------------------------
def prepare(ctx: Context, entity: str, doc: Doc, old: Doc | None) -> Doc:
    """Validate ``doc`` and fill computed fields; ``old`` is the stored version on updates."""
    number_lines(doc)
    refs = check_refs(ctx, doc)
    handler = _PREPARE.get(entity)
    if handler is not None:
        handler(ctx, doc, old, refs)
    return doc


def _named(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc], entity: str) -> None:
    name = str(doc.get("DisplayName") or "").strip()
    if docstore.name_taken(
        ctx.conn, ctx.realm, NAMED_ENTITIES, name, int(doc["Id"]) if doc.get("Id") else None
    ):
        raise F.duplicate_name(name)
    doc.setdefault("Active", True)
    if entity in ("Customer", "Vendor"):
        doc["Balance"] = (old or {}).get("Balance", 0.0)
        if entity == "Customer":
            doc["BalanceWithJobs"] = doc["Balance"]


def _account(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    if not doc.get("AccountType") and not doc.get("AccountSubType"):
        raise F.required("AccountType")
    doc.setdefault("Active", True)
    doc["CurrentBalance"] = (old or {}).get("CurrentBalance", 0.0)


def _term(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    doc.setdefault("Active", True)
    doc.setdefault("Type", "STANDARD")


def _due_date(ctx: Context, doc: Doc, term: Doc | None) -> None:
    if doc.get("DueDate"):
        return
    txn = timeutil.parse_date(doc["TxnDate"])
    due = txn
    if term is not None and term.get("DueDays") is not None:
        due = timeutil.add_days(txn, int(term["DueDays"]))
    elif term is not None and term.get("DayOfMonthDue"):
        day = min(int(term["DayOfMonthDue"]), 28)
        due = (
            txn.replace(day=day)
            if txn.day <= day
            else timeutil.add_days(txn.replace(day=1), 32).replace(day=day)
        )
    doc["DueDate"] = due.isoformat()


def _open_document(
    ctx: Context, doc: Doc, old: Doc | None, party_key: str, party: Doc, term_key: str
) -> None:
    """Shared by Invoice and Bill: TxnDate, DueDate from terms, TotalAmt and Balance."""
    doc.setdefault("TxnDate", ctx.today.isoformat())
    try:
        timeutil.parse_date(doc["TxnDate"])
        if doc.get("DueDate"):
            timeutil.parse_date(doc["DueDate"])
    except ValueError as exc:
        raise F.validation("Invalid Date", str(exc), "TxnDate") from exc
    term_ref = doc.get("SalesTermRef") or party.get(term_key)
    term = (
        docstore.get_live(ctx.conn, ctx.realm, "Term", term_ref["value"])
        if isinstance(term_ref, dict)
        else None
    )
    _due_date(ctx, doc, term)
    total = lines_total(doc)
    paid = (
        Decimal(0) if old is None else money(old.get("TotalAmt", 0)) - money(old.get("Balance", 0))
    )
    if total - paid < 0:
        raise F.business(f"the new total {total} is below the {paid} already paid", "Line")
    doc["TotalAmt"] = as_number(total)
    doc["Balance"] = as_number(total - paid)
    if old is not None and old.get("LinkedTxn"):
        doc["LinkedTxn"] = old["LinkedTxn"]
    elif old is None:
        doc.pop("LinkedTxn", None)


def _invoice(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    sent = doc.get("LinkedTxn") if "LinkedTxn" in doc else None
    _open_document(ctx, doc, old, "CustomerRef", refs["CustomerRef"], "SalesTermRef")
    _estimate_links(ctx, doc, old, sent)
    own_id = int(doc["Id"]) if doc.get("Id") else None
    if not doc.get("DocNumber"):
        doc["DocNumber"] = (old or {}).get("DocNumber") or docstore.next_docnumber(
            ctx.conn, ctx.realm, "Invoice"
        )
    elif docstore.docnumber_taken(ctx.conn, ctx.realm, "Invoice", str(doc["DocNumber"]), own_id):
        raise F.QBOFault(
            400,
            "6140",
            "Duplicate Document Number Error",
            f"Duplicate Document Number Error : You must specify a different number. "
            f"This number has already been used. DocNumber={doc['DocNumber']}",
            "DocNumber",
        )
    _currency(ctx, doc)
    doc["EmailStatus"] = (old or {}).get("EmailStatus", "NotSet")
    if (old or {}).get("DeliveryInfo"):
        doc["DeliveryInfo"] = old["DeliveryInfo"]  # type: ignore[index]  # old checked above


def _estimate_links(ctx: Context, doc: Doc, old: Doc | None, sent: Any) -> None:
    """An invoice made from an estimate links it (``LinkedTxn`` TxnType Estimate, same customer,
    not rejected nor already invoiced); the estimate then links back and is Closed."""
    if sent is None:
        wanted = [x for x in (old or {}).get("LinkedTxn") or [] if x.get("TxnType") == "Estimate"]
    else:
        wanted = [x for x in sent or [] if isinstance(x, dict) and x.get("TxnType") == "Estimate"]
    own = str(doc.get("Id") or "")
    for link in wanted:
        link["TxnId"] = str(link.get("TxnId"))
        estimate = docstore.get_live(ctx.conn, ctx.realm, "Estimate", link["TxnId"])
        if estimate is None:
            raise F.invalid_reference("LinkedTxn.Estimate", link["TxnId"])
        if (estimate.get("CustomerRef") or {}).get("value") != doc["CustomerRef"]["value"]:
            raise F.business(f"Estimate {link['TxnId']} belongs to another customer", "LinkedTxn")
        if estimate.get("TxnStatus") == "Rejected":
            raise F.business(f"Estimate {link['TxnId']} was rejected", "LinkedTxn")
        others = [
            x["TxnId"]
            for x in estimate.get("LinkedTxn") or []
            if x.get("TxnType") == "Invoice" and str(x.get("TxnId")) != own
        ]
        if others:
            raise F.business(
                f"Estimate {link['TxnId']} is already invoiced by Invoice {others[0]}", "LinkedTxn"
            )
    kept = [x for x in doc.get("LinkedTxn") or [] if x.get("TxnType") != "Estimate"]
    links = [{"TxnId": x["TxnId"], "TxnType": "Estimate"} for x in wanted] + kept
    if links:
        doc["LinkedTxn"] = links
    else:
        doc.pop("LinkedTxn", None)


def _bill(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    _open_document(ctx, doc, old, "VendorRef", refs["VendorRef"], "TermRef")
    _currency(ctx, doc)


# What a payment's lines may link: the open document it pays and the credit it uses up.
PAYMENT_TARGETS = {"Payment": ("Invoice", "CreditMemo"), "BillPayment": ("Bill", "VendorCredit")}


def _payment_like(ctx: Context, doc: Doc, entity: str, party_key: str) -> Decimal:
    """Shared by Payment and BillPayment: linked documents exist, belong to the party, amounts fit.
    A line linking a credit (CreditMemo / VendorCredit) pays the linked documents with that
    credit instead of money, so the money applied is documents minus credits (QBO: a payment of
    an invoice wholly covered by a credit memo totals 0). Returns the amount left unapplied."""
    doc.setdefault("TxnDate", ctx.today.isoformat())
    total = money(doc["TotalAmt"], "TotalAmt")
    if total < 0:
        raise F.business("TotalAmt cannot be negative", "TotalAmt")
    doc["TotalAmt"] = as_number(total)
    target, credit = PAYMENT_TARGETS[entity]
    applied = {target: Decimal(0), credit: Decimal(0)}
    for line in doc.get("Line") or []:
        kinds = {str(link.get("TxnType")) for link in line.get("LinkedTxn") or []}
        unknown = kinds - set(applied)
        if unknown:
            raise F.validation(
                "Invalid LinkedTxn",
                f"a {entity} line can link {target} or {credit}, not {', '.join(sorted(unknown))}",
                "Line.LinkedTxn.TxnType",
            )
    for kind in (target, credit):
        seen: set[str] = set()
        for txn_id, amount in linked_amounts(doc, kind):
            if txn_id in seen:
                raise F.business(f"{kind} {txn_id} is linked twice in one {entity}", "Line")
            seen.add(txn_id)
            linked = docstore.get_live(ctx.conn, ctx.realm, kind, txn_id)
            if linked is None:
                raise F.invalid_reference(f"Line.LinkedTxn.{kind}", txn_id)
            if (linked.get(party_key) or {}).get("value") != doc[party_key]["value"]:
                raise F.business(
                    f"{kind} {txn_id} belongs to another {party_key[:-3].lower()}", "Line.LinkedTxn"
                )
            if amount < 0:
                raise F.business("a line amount cannot be negative", "Line.Amount")
            applied[kind] += amount
    if applied[credit] > applied[target]:
        raise F.business(
            f"the {credit} lines use {applied[credit]} of credit, more than the "
            f"{applied[target]} applied to {target}s",
            "Line",
        )
    money_applied = applied[target] - applied[credit]
    if money_applied > total:
        raise F.business(f"the lines apply {money_applied}, more than the TotalAmt {total}", "Line")
    return total - money_applied


def undeposited_funds(ctx: Context) -> Doc | None:
    """The company's Undeposited Funds account (where payments without a bank account wait)."""
    found = docstore.docs_where(
        ctx.conn,
        ctx.realm,
        "Account",
        "json_extract(d.doc, '$.AccountSubType') = 'UndepositedFunds' "
        "AND coalesce(json_extract(d.doc, '$.Active'), 1) = 1 ORDER BY d.id LIMIT 1",
        [],
    )
    return found[0] if found else None


def _to_undeposited(ctx: Context, doc: Doc) -> None:
    """A payment or cash sale without a DepositToAccountRef lands in Undeposited Funds."""
    if doc.get("DepositToAccountRef"):
        return
    funds = undeposited_funds(ctx)
    if funds is not None:
        doc["DepositToAccountRef"] = {"value": str(funds["Id"]), "name": funds.get("Name")}


def _payment(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    doc["UnappliedAmt"] = as_number(_payment_like(ctx, doc, "Payment", "CustomerRef"))
    _to_undeposited(ctx, doc)
    _deposit_links_kept(doc, old)
    _currency(ctx, doc)


def _bill_payment(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    pay_type = doc.get("PayType")
    if pay_type == "Check":
        check_required(doc, ("CheckPayment.BankAccountRef",))
    elif pay_type == "CreditCard":
        check_required(doc, ("CreditCardPayment.CCAccountRef",))
    else:
        raise F.validation(
            "Invalid Enumeration",
            f"PayType must be Check or CreditCard, got {pay_type!r}",
            "PayType",
        )
    _payment_like(ctx, doc, "BillPayment", "VendorRef")
    _currency(ctx, doc)


def _totalled(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    doc.setdefault("TxnDate", ctx.today.isoformat())
    doc["TotalAmt"] = as_number(lines_total(doc))


def _journal(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    doc.setdefault("TxnDate", ctx.today.isoformat())
    sides = {"Debit": Decimal(0), "Credit": Decimal(0)}
    for line in doc["Line"]:
        posting = (line.get("JournalEntryLineDetail") or {}).get("PostingType")
        if posting not in sides:
            raise F.validation(
                "Invalid Enumeration",
                "JournalEntryLineDetail.PostingType must be Debit or Credit",
                "Line.JournalEntryLineDetail.PostingType",
            )
        sides[posting] += money(line.get("Amount", 0))
    if sides["Debit"] != sides["Credit"]:
        raise F.business(
            f"debits {sides['Debit']} and credits {sides['Credit']} do not balance", "Line"
        )
    doc["TotalAmt"] = as_number(sides["Debit"])


def _deposit_links_kept(doc: Doc, old: Doc | None) -> None:
    """The Deposit that moved a payment out of Undeposited Funds stays linked across edits."""
    kept = [x for x in (old or {}).get("LinkedTxn") or [] if x.get("TxnType") == "Deposit"]
    if kept:
        doc["LinkedTxn"] = kept
    else:
        doc.pop("LinkedTxn", None)


def home_currency(ctx: Context) -> str:
    prefs = docstore.get_live(ctx.conn, ctx.realm, "Preferences", "1") or {}
    return str(((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value") or "USD")


def rate_on(ctx: Context, currency: str, on: str) -> Decimal | None:
    """The company's ExchangeRate for ``currency`` in force on date ``on`` (latest on or before)."""
    found = docstore.docs_where(
        ctx.conn,
        ctx.realm,
        "ExchangeRate",
        "upper(json_extract(d.doc, '$.SourceCurrencyCode')) = ? "
        "AND json_extract(d.doc, '$.AsOfDate') <= ? "
        "ORDER BY json_extract(d.doc, '$.AsOfDate') DESC LIMIT 1",
        [currency.upper(), on[:10]],
    )
    return Decimal(str(found[0]["Rate"])) if found else None


def _currency(ctx: Context, doc: Doc) -> None:
    """A foreign-currency document carries its ExchangeRate (home per foreign unit: the one
    sent, else the company's rate for its TxnDate) and read-only HomeTotalAmt / HomeBalance.
    A foreign document with no rate to be found is refused, naming the currency."""
    code = str((doc.get("CurrencyRef") or {}).get("value") or "").upper()
    home = home_currency(ctx)
    if not code or code == home:
        return
    raw = doc.get("ExchangeRate")
    rate: Decimal | None
    if raw in (None, "", 0, "0"):
        rate = rate_on(ctx, code, str(doc.get("TxnDate") or ctx.today.isoformat()))
        if rate is None:
            raise F.validation(
                "Missing exchange rate",
                f"the document is in {code} but no ExchangeRate was sent and the company has no "
                f"{code} rate on or before {doc.get('TxnDate')}",
                "ExchangeRate",
            )
    else:
        try:
            rate = Decimal(str(raw))
        except ArithmeticError as exc:
            raise F.validation(
                "Invalid Number", f"ExchangeRate must be a number, got {raw!r}", "ExchangeRate"
            ) from exc
        if rate <= 0:
            raise F.validation(
                "Invalid Number", f"ExchangeRate must be positive, got {raw!r}", "ExchangeRate"
            )
    doc["ExchangeRate"] = float(rate)
    set_home_amounts(doc)


def set_home_amounts(doc: Doc) -> None:
    """HomeTotalAmt / HomeBalance of a foreign document (amount × ExchangeRate, half-up)."""
    rate = doc.get("ExchangeRate")
    if rate in (None, "", 0, 1, "1"):
        return
    factor = Decimal(str(rate))
    for amount, home in (("TotalAmt", "HomeTotalAmt"), ("Balance", "HomeBalance")):
        if amount in doc:
            doc[home] = as_number((money(doc[amount]) * factor).quantize(CENT, ROUND_HALF_UP))


def _credit(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    """CreditMemo / VendorCredit: the whole credit is open until payments use it up."""
    _totalled(ctx, doc, old, refs)
    used = (
        Decimal(0) if old is None else money(old.get("TotalAmt", 0)) - money(old.get("Balance", 0))
    )
    if money(doc["TotalAmt"]) < used:
        raise F.business(
            f"the new total {doc['TotalAmt']} is below the {used} of credit already applied",
            "Line",
        )
    doc["Balance"] = as_number(money(doc["TotalAmt"]) - used)
    if "CustomerRef" in doc:
        doc["RemainingCredit"] = doc["Balance"]
    if old is not None and old.get("LinkedTxn"):
        doc["LinkedTxn"] = old["LinkedTxn"]
    else:
        doc.pop("LinkedTxn", None)
    _currency(ctx, doc)


def _receipt(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    """SalesReceipt (cash sale: no A/R; without a bank account it lands in Undeposited Funds)
    and RefundReceipt (money back, DepositToAccountRef = the account it is paid from)."""
    _totalled(ctx, doc, old, refs)
    if "DepositToAccountRef" not in doc or not doc["DepositToAccountRef"]:
        _to_undeposited(ctx, doc)
    _deposit_links_kept(doc, old)
    _currency(ctx, doc)


def _transfer(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    doc.setdefault("TxnDate", ctx.today.isoformat())
    amount = money(doc["Amount"], "Amount")
    if amount <= 0:
        raise F.business("a Transfer Amount must be positive", "Amount")
    doc["Amount"] = as_number(amount)
    if doc["FromAccountRef"]["value"] == doc["ToAccountRef"]["value"]:
        raise F.business("a Transfer needs two different accounts", "ToAccountRef")
    for key in ("FromAccountRef", "ToAccountRef"):
        if refs[key].get("AccountType") not in TRANSFER_TYPES:
            raise F.business(
                f"{key} must be a bank, credit card or other balance-sheet account, "
                f"not {refs[key].get('AccountType')!r}",
                key,
            )


TRANSFER_TYPES = {
    "Bank",
    "Credit Card",
    "Other Current Asset",
    "Other Current Liability",
    "Long Term Liability",
    "Equity",
}
ESTIMATE_STATUSES = ("Pending", "Accepted", "Closed", "Rejected")


def _estimate(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    """A quote: TxnStatus one of QBO's four; linked to the Invoice it became (then Closed)."""
    _totalled(ctx, doc, old, refs)
    status = doc.get("TxnStatus") or "Pending"
    if status not in ESTIMATE_STATUSES:
        raise F.validation(
            "Invalid Enumeration",
            f"TxnStatus must be one of {', '.join(ESTIMATE_STATUSES)}, got {status!r}",
            "TxnStatus",
        )
    for key in ("ExpirationDate", "TxnDate"):
        if doc.get(key):
            try:
                timeutil.parse_date(doc[key])
            except ValueError as exc:
                raise F.validation("Invalid Date", str(exc), key) from exc
    links = [x for x in doc.get("LinkedTxn") or [] if isinstance(x, dict)]
    for link in links:
        if link.get("TxnType") != "Invoice":
            raise F.validation(
                "Invalid LinkedTxn", "an Estimate links only the Invoice it became", "LinkedTxn"
            )
        link["TxnId"] = str(link.get("TxnId"))
        invoice = docstore.get_live(ctx.conn, ctx.realm, "Invoice", link["TxnId"])
        if invoice is None:
            raise F.invalid_reference("LinkedTxn.Invoice", link["TxnId"])
        if (invoice.get("CustomerRef") or {}).get("value") != doc["CustomerRef"]["value"]:
            raise F.business(f"Invoice {link['TxnId']} belongs to another customer", "LinkedTxn")
    if links:
        doc["LinkedTxn"] = links
        status = "Closed"
    doc["TxnStatus"] = status
    _currency(ctx, doc)


def _deposit(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    """Moves payments (and cash sales) out of Undeposited Funds: each linked once, for its whole
    amount, and only while it waits there (not already in another deposit)."""
    _totalled(ctx, doc, old, refs)
    own = str(doc.get("Id") or "")
    seen: set[tuple[str, str]] = set()
    for kind in ("Payment", "SalesReceipt"):
        for txn_id, amount in linked_amounts(doc, kind):
            if (kind, txn_id) in seen:
                raise F.business(f"{kind} {txn_id} is linked twice in this Deposit", "Line")
            seen.add((kind, txn_id))
            linked = docstore.get_live(ctx.conn, ctx.realm, kind, txn_id)
            if linked is None:
                raise F.invalid_reference(f"Line.LinkedTxn.{kind}", txn_id)
            other = [
                x["TxnId"]
                for x in linked.get("LinkedTxn") or []
                if x.get("TxnType") == "Deposit" and str(x.get("TxnId")) != own
            ]
            if other:
                raise F.business(
                    f"{kind} {txn_id} is already deposited by Deposit {other[0]}", "Line.LinkedTxn"
                )
            funds = undeposited_funds(ctx)
            where = (linked.get("DepositToAccountRef") or {}).get("value")
            if funds is None or where != str(funds["Id"]):
                raise F.business(
                    f"{kind} {txn_id} is not waiting in Undeposited Funds", "Line.LinkedTxn"
                )
            if amount != money(linked.get("TotalAmt", 0)):
                raise F.business(
                    f"the line deposits {amount} of {kind} {txn_id}, which received "
                    f"{money(linked.get('TotalAmt', 0))}",
                    "Line.Amount",
                )
    _currency(ctx, doc)


_PREPARE = {
    "Customer": lambda c, d, o, r: _named(c, d, o, r, "Customer"),
    "Vendor": lambda c, d, o, r: _named(c, d, o, r, "Vendor"),
    "Employee": lambda c, d, o, r: _named(c, d, o, r, "Employee"),
    "Account": _account,
    "Term": _term,
    "Item": _term,
    "Invoice": _invoice,
    "Bill": _bill,
    "Payment": _payment,
    "BillPayment": _bill_payment,
    "Purchase": _totalled,
    "Deposit": _deposit,
    "JournalEntry": _journal,
    "CreditMemo": _credit,
    "VendorCredit": _credit,
    "SalesReceipt": _receipt,
    "RefundReceipt": _receipt,
    "Transfer": _transfer,
    "Estimate": _estimate,
}


# ---- effects on other documents ----------------------------------------------------------
@dataclass(frozen=True)
class Effect:
    entity: str
    doc_id: str
    field: str
    delta: Decimal
    link: tuple[str, str] | None = None  # (TxnId, TxnType) recorded in the target's LinkedTxn
    cash: bool = False  # account movement: sign follows the account type (asset vs liability)


def _ref_id(doc: Doc, *path: str) -> str | None:
    node: Any = doc
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return str(node["value"]) if isinstance(node, dict) and node.get("value") else None


def effects(entity: str, doc: Doc) -> list[Effect]:
    """What a stored document contributes to the balances of other documents."""
    total = money(doc.get("TotalAmt", 0))
    own = str(doc.get("Id"))
    out: list[Effect] = []
    if entity == "Invoice":
        for link in doc.get("LinkedTxn") or []:
            if link.get("TxnType") == "Estimate":
                out.append(
                    Effect("Estimate", str(link["TxnId"]), "", Decimal(0), link=(own, entity))
                )
    if entity in ("Invoice", "Bill", "CreditMemo", "VendorCredit"):
        party = "Customer" if entity in ("Invoice", "CreditMemo") else "Vendor"
        sign = 1 if entity in ("Invoice", "Bill") else -1  # a credit lowers what the party owes
        party_id = _ref_id(doc, f"{party}Ref")
        if party_id:
            out.append(Effect(party, party_id, "Balance", sign * money(doc.get("Balance", 0))))
    elif entity in ("Payment", "BillPayment"):
        target, credit = PAYMENT_TARGETS[entity]
        party = "Customer" if entity == "Payment" else "Vendor"
        for kind in (target, credit):
            for txn_id, amount in linked_amounts(doc, kind):
                out.append(Effect(kind, txn_id, "Balance", -amount, link=(own, entity)))
        party_id = _ref_id(doc, f"{party}Ref")
        if party_id:
            out.append(Effect(party, party_id, "Balance", -total))
        if entity == "Payment":
            account = _ref_id(doc, "DepositToAccountRef")
            if account:
                out.append(Effect("Account", account, "CurrentBalance", total, cash=True))
        else:
            account = _ref_id(doc, "CheckPayment", "BankAccountRef") or _ref_id(
                doc, "CreditCardPayment", "CCAccountRef"
            )
            if account:
                out.append(Effect("Account", account, "CurrentBalance", -total, cash=True))
    elif entity == "Purchase":
        account = _ref_id(doc, "AccountRef")
        if account:
            out.append(Effect("Account", account, "CurrentBalance", -total, cash=True))
    elif entity == "Deposit":
        account = _ref_id(doc, "DepositToAccountRef")
        if account:
            out.append(Effect("Account", account, "CurrentBalance", total, cash=True))
        for kind in ("Payment", "SalesReceipt"):
            for txn_id, amount in linked_amounts(doc, kind):
                out.append(Effect(kind, txn_id, "", Decimal(0), link=(own, "Deposit")))
                out.append(Effect("Account", UNDEPOSITED, "CurrentBalance", -amount, cash=True))
    elif entity in ("SalesReceipt", "RefundReceipt"):
        account = _ref_id(doc, "DepositToAccountRef")
        if account:
            sign = 1 if entity == "SalesReceipt" else -1
            out.append(Effect("Account", account, "CurrentBalance", sign * total, cash=True))
    elif entity == "Transfer":
        amount = money(doc.get("Amount", 0))
        from_account = _ref_id(doc, "FromAccountRef")
        to_account = _ref_id(doc, "ToAccountRef")
        if from_account and to_account:
            out.append(Effect("Account", from_account, "CurrentBalance", -amount, cash=True))
            out.append(Effect("Account", to_account, "CurrentBalance", amount, cash=True))
    return out


def apply_effects(ctx: Context, items: list[Effect], sign: int) -> None:
    """Apply (sign +1) or reverse (sign -1) effects; each touched document gets one new version."""
    grouped: dict[tuple[str, str], list[Effect]] = {}
    for item in items:
        doc_id = item.doc_id
        if doc_id == UNDEPOSITED:
            funds = undeposited_funds(ctx)
            if funds is None:
                continue
            doc_id = str(funds["Id"])
        grouped.setdefault((item.entity, doc_id), []).append(item)
    for (entity, doc_id), group in grouped.items():
        target = docstore.get_live(ctx.conn, ctx.realm, entity, doc_id)
        if target is None:
            if sign < 0:
                continue  # the target was deleted meanwhile: nothing left to restore
            raise F.invalid_reference(entity, doc_id)
        for item in group:
            if item.link:
                _relink(target, item.link, add=sign > 0)
                if entity == "Estimate":  # invoiced: Closed; its invoice gone: Accepted again
                    target["TxnStatus"] = "Closed" if target.get("LinkedTxn") else "Accepted"
            if not item.field:  # a link only (a Deposit's payments, an invoice's estimate)
                continue
            delta = item.delta * sign
            if item.cash and target.get("AccountType") in LIABILITY_TYPES:
                delta = -delta
            value = money(target.get(item.field, 0)) + delta
            if item.field == "Balance" and entity in OPEN_DOCUMENTS and value < 0:
                what = (
                    "credit left on"
                    if entity in ("CreditMemo", "VendorCredit")
                    else "open balance of"
                )
                raise F.business(
                    f"the amount applied is more than the {what} {entity} {doc_id} "
                    f"({money(target.get(item.field, 0))})",
                    "Line.Amount",
                )
            target[item.field] = as_number(value)
            if entity == "Customer":
                target["BalanceWithJobs"] = target["Balance"]
            if entity == "CreditMemo" and item.field == "Balance":
                target["RemainingCredit"] = target["Balance"]
            if item.field == "Balance":
                set_home_amounts(target)
        docstore.replace(ctx.conn, ctx.realm, entity, target, ctx.now, ctx.tz)


OPEN_DOCUMENTS = ("Invoice", "Bill", "CreditMemo", "VendorCredit")
UNDEPOSITED = "@undeposited"  # the company's Undeposited Funds account, resolved when applied


def _relink(target: Doc, link: tuple[str, str], *, add: bool) -> None:
    links = [dict(x) for x in target.get("LinkedTxn") or []]
    entry = {"TxnId": link[0], "TxnType": link[1]}
    if add:
        if entry not in links:
            links.append(entry)
    elif entry in links:
        links.remove(entry)
    if links:
        target["LinkedTxn"] = links
    else:
        target.pop("LinkedTxn", None)
