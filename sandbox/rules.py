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
    _open_document(ctx, doc, old, "CustomerRef", refs["CustomerRef"], "SalesTermRef")
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
    doc["EmailStatus"] = (old or {}).get("EmailStatus", "NotSet")
    if (old or {}).get("DeliveryInfo"):
        doc["DeliveryInfo"] = old["DeliveryInfo"]  # type: ignore[index]


def _bill(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    _open_document(ctx, doc, old, "VendorRef", refs["VendorRef"], "TermRef")


def _payment_like(ctx: Context, doc: Doc, target: str, party_key: str) -> Decimal:
    """Shared by Payment and BillPayment: linked documents exist, belong to the party, amounts fit."""
    doc.setdefault("TxnDate", ctx.today.isoformat())
    total = money(doc["TotalAmt"], "TotalAmt")
    if total < 0:
        raise F.business("TotalAmt cannot be negative", "TotalAmt")
    doc["TotalAmt"] = as_number(total)
    applied = Decimal(0)
    for txn_id, amount in linked_amounts(doc, target):
        linked = docstore.get_live(ctx.conn, ctx.realm, target, txn_id)
        if linked is None:
            raise F.invalid_reference(f"Line.LinkedTxn.{target}", txn_id)
        if (linked.get(party_key) or {}).get("value") != doc[party_key]["value"]:
            raise F.business(
                f"{target} {txn_id} belongs to another {party_key[:-3].lower()}", "Line.LinkedTxn"
            )
        if amount < 0:
            raise F.business("a line amount cannot be negative", "Line.Amount")
        applied += amount
    if applied > total:
        raise F.business(f"the lines apply {applied}, more than the TotalAmt {total}", "Line")
    return total - applied


def _payment(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    doc["UnappliedAmt"] = as_number(_payment_like(ctx, doc, "Invoice", "CustomerRef"))


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
    _payment_like(ctx, doc, "Bill", "VendorRef")


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


def _credit(ctx: Context, doc: Doc, old: Doc | None, refs: dict[str, Doc]) -> None:
    _totalled(ctx, doc, old, refs)
    doc["Balance"] = doc["TotalAmt"]


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
    "Deposit": _totalled,
    "JournalEntry": _journal,
    "CreditMemo": _credit,
    "VendorCredit": _credit,
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
    if entity in ("Invoice", "Bill"):
        party = "Customer" if entity == "Invoice" else "Vendor"
        party_id = _ref_id(doc, f"{party}Ref")
        if party_id:
            out.append(Effect(party, party_id, "Balance", money(doc.get("Balance", 0))))
    elif entity in ("Payment", "BillPayment"):
        target, party = ("Invoice", "Customer") if entity == "Payment" else ("Bill", "Vendor")
        for txn_id, amount in linked_amounts(doc, target):
            out.append(Effect(target, txn_id, "Balance", -amount, link=(own, entity)))
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
    return out


def apply_effects(ctx: Context, items: list[Effect], sign: int) -> None:
    """Apply (sign +1) or reverse (sign -1) effects; each touched document gets one new version."""
    grouped: dict[tuple[str, str], list[Effect]] = {}
    for item in items:
        grouped.setdefault((item.entity, item.doc_id), []).append(item)
    for (entity, doc_id), group in grouped.items():
        target = docstore.get_live(ctx.conn, ctx.realm, entity, doc_id)
        if target is None:
            if sign < 0:
                continue  # the target was deleted meanwhile: nothing left to restore
            raise F.invalid_reference(entity, doc_id)
        for item in group:
            delta = item.delta * sign
            if item.cash and target.get("AccountType") in LIABILITY_TYPES:
                delta = -delta
            value = money(target.get(item.field, 0)) + delta
            if item.field == "Balance" and entity in ("Invoice", "Bill") and value < 0:
                raise F.business(
                    f"the amount applied is more than the open balance of {entity} {doc_id}",
                    "Line.Amount",
                )
            target[item.field] = as_number(value)
            if entity == "Customer":
                target["BalanceWithJobs"] = target["Balance"]
            if item.link:
                _relink(target, item.link, add=sign > 0)
        docstore.replace(ctx.conn, ctx.realm, entity, target, ctx.now, ctx.tz)


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
