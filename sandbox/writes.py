"""Create, update (full and sparse), delete, void and send — each inside the caller's write
transaction, so a document and everything it changes commit together (or not at all)."""

from __future__ import annotations

import copy
from typing import Any

from sandbox import docstore, rules, timeutil
from sandbox import faults_envelope as F
from sandbox.entities import ENTITIES
from sandbox.rules import Context

Doc = dict[str, Any]
ALWAYS_READ_ONLY = ("Id", "SyncToken", "MetaData", "domain", "status")


def _clean(entity: str, body: Any) -> Doc:
    """Drop read-only fields and empty-string dates, as QBO ignores them."""
    if not isinstance(body, dict):
        raise F.validation(
            "Request has invalid or unsupported property",
            f"the {entity} body must be a JSON object",
        )
    read_only = set(ENTITIES[entity].read_only) | set(ALWAYS_READ_ONLY)
    clean = {}
    for key, value in body.items():
        if key in read_only or key == "sparse":
            continue
        if value == "" and (key.endswith("Date") or key.endswith("Time")):
            continue
        clean[key] = copy.deepcopy(value)
    return clean


def _identity(body: Doc, entity: str) -> tuple[str, Any]:
    doc_id = body.get("Id")
    if doc_id is None or str(doc_id).strip() == "":
        raise F.required("Id")
    if "SyncToken" not in body or body["SyncToken"] in (None, ""):
        raise F.required("SyncToken")
    return str(doc_id), body["SyncToken"]


VOIDABLE = ("Invoice", "Payment", "BillPayment", "SalesReceipt", "RefundReceipt", "CreditMemo")


def _refuse_if_linked(entity: str, old: Doc, what: str) -> None:
    """QBO keeps the books whole: a payment already deposited, or a credit already used by a
    payment, cannot be voided or deleted until that link is undone."""
    links = old.get("LinkedTxn") or []
    if entity in ("Payment", "SalesReceipt"):
        deposits = [x["TxnId"] for x in links if x.get("TxnType") == "Deposit"]
        if deposits:
            raise F.business(
                f"{entity} {old['Id']} is part of Deposit {deposits[0]}: remove it from the "
                f"deposit before it can be {what}"
            )
    if entity in ("CreditMemo", "VendorCredit"):
        users = [x["TxnId"] for x in links if x.get("TxnType") in ("Payment", "BillPayment")]
        if users:
            raise F.business(
                f"{entity} {old['Id']} is applied by payment {users[0]}: unapply it before it "
                f"can be {what}"
            )


class Writer:
    """All write operations of one request in one realm (call inside ``SandboxDB.write()``)."""

    def __init__(self, ctx: Context, db: Any) -> None:
        self.ctx = ctx
        self.db = db

    def _stamp(self) -> str:
        return timeutil.stamp(self.ctx.now, self.ctx.tz)

    def _load_for_change(self, entity: str, body: Doc) -> Doc:
        doc_id, token = _identity(body, entity)
        stored = docstore.get(self.ctx.conn, self.ctx.realm, entity, doc_id)
        if stored is None or stored.deleted:
            raise F.not_found(entity, doc_id)
        if str(token).strip() != str(stored.sync_token):
            raise F.stale(entity, doc_id, stored.sync_token, token)
        return stored.doc

    def create(self, entity: str, body: Any) -> Doc:
        if ENTITIES[entity].singleton:
            raise F.validation(
                "Operation not supported",
                f"{entity} cannot be created: a company has exactly one; update it instead",
            )
        doc = _clean(entity, body)
        rules.check_required(doc, ENTITIES[entity].required)
        rules.prepare(self.ctx, entity, doc, None)
        stamp = self._stamp()
        doc = {
            "Id": self.db.allocate_id(self.ctx.conn, self.ctx.realm),
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            **doc,
            "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp},
        }
        docstore.insert(self.ctx.conn, self.ctx.realm, entity, doc, self.ctx.now)
        rules.apply_effects(self.ctx, rules.effects(entity, doc), +1)
        return doc

    def update(self, entity: str, body: Any, *, sparse: bool | None = None) -> Doc:
        if not isinstance(body, dict):
            raise F.validation(
                "Request has invalid or unsupported property",
                f"the {entity} body must be a JSON object",
            )
        old = self._load_for_change(entity, body)
        is_sparse = bool(body.get("sparse")) if sparse is None else sparse
        changes = _clean(entity, body)
        keep: Doc = {k: old[k] for k in ("Id", "domain", "MetaData") if k in old}
        doc: Doc = {**copy.deepcopy(old), **changes} if is_sparse else {**keep, **changes}
        doc["sparse"] = False
        rules.check_required(doc, ENTITIES[entity].required)
        return self._store_change(entity, old, doc)

    def _store_change(self, entity: str, old: Doc, doc: Doc) -> Doc:
        rules.apply_effects(self.ctx, rules.effects(entity, old), -1)
        if not ENTITIES[entity].singleton:
            rules.prepare(self.ctx, entity, doc, old)
        doc = docstore.replace(
            self.ctx.conn, self.ctx.realm, entity, doc, self.ctx.now, self.ctx.tz
        )
        rules.apply_effects(self.ctx, rules.effects(entity, doc), +1)
        return doc

    def delete(self, entity: str, body: Any) -> Doc:
        if not isinstance(body, dict):
            raise F.validation(
                "Request has invalid or unsupported property",
                "the delete body must be a JSON object",
            )
        if ENTITIES[entity].is_list or ENTITIES[entity].singleton:
            raise F.business(f"{entity} cannot be deleted; make it inactive (Active false) instead")
        old = self._load_for_change(entity, body)
        _refuse_if_linked(entity, old, "deleted")
        rules.apply_effects(self.ctx, rules.effects(entity, old), -1)
        docstore.mark_deleted(self.ctx.conn, self.ctx.realm, entity, int(old["Id"]), self.ctx.now)
        return {"domain": "QBO", "status": "Deleted", "Id": old["Id"]}

    def void(self, entity: str, body: Any) -> Doc:
        """Invoice, SalesReceipt, RefundReceipt, CreditMemo (operation=void) and Payment /
        BillPayment (operation=update&include=void)."""
        if entity not in VOIDABLE:
            raise F.validation("Operation not supported", f"{entity} cannot be voided")
        if not isinstance(body, dict):
            raise F.validation(
                "Request has invalid or unsupported property", "the void body must be a JSON object"
            )
        old = self._load_for_change(entity, body)
        _refuse_if_linked(entity, old, "voided")
        doc = copy.deepcopy(old)
        note = str(old.get("PrivateNote") or "")
        doc["PrivateNote"] = (
            "Voided" if not note or note.startswith("Voided") else f"Voided - {note}"
        )
        doc["TotalAmt"] = 0.0
        if entity == "Invoice":
            for line in doc.get("Line") or []:
                if "Amount" in line:
                    line["Amount"] = 0.0
            doc["Balance"] = 0.0
            # Voiding keeps whatever was paid: the balance goes to zero, the total too.
            doc = docstore.replace(
                self.ctx.conn, self.ctx.realm, entity, doc, self.ctx.now, self.ctx.tz
            )
            rules.apply_effects(self.ctx, rules.effects(entity, old), -1)
            return doc
        doc["Line"] = []
        if entity == "Payment":
            doc["UnappliedAmt"] = 0.0
        if entity == "CreditMemo":
            doc["Balance"] = doc["RemainingCredit"] = 0.0
        for home in ("HomeTotalAmt", "HomeBalance"):
            if home in doc:
                doc[home] = 0.0
        rules.apply_effects(self.ctx, rules.effects(entity, old), -1)
        return docstore.replace(
            self.ctx.conn, self.ctx.realm, entity, doc, self.ctx.now, self.ctx.tz
        )

    def send_invoice(self, doc_id: str, send_to: str | None) -> Doc:
        stored = docstore.get(self.ctx.conn, self.ctx.realm, "Invoice", doc_id)
        if stored is None or stored.deleted:
            raise F.not_found("Invoice", doc_id)
        doc = copy.deepcopy(stored.doc)
        if send_to is not None:
            if "@" not in send_to:
                raise F.validation(
                    "Invalid Email Address",
                    f"sendTo is not an email address: {send_to!r}",
                    "sendTo",
                )
            doc["BillEmail"] = {"Address": send_to}
        if not ((doc.get("BillEmail") or {}).get("Address")):
            raise F.validation(
                "Invalid Email Address",
                "Email address is missing: the invoice has no BillEmail and no sendTo was given",
                "BillEmail",
                code="6000",
            )
        doc["EmailStatus"] = "EmailSent"
        doc["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": self._stamp()}
        return docstore.replace(
            self.ctx.conn, self.ctx.realm, "Invoice", doc, self.ctx.now, self.ctx.tz
        )
