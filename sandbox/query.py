"""QBO's query language, parsed as real clients send it and translated to SQL over JSON.

``SELECT * | COUNT(*) FROM Entity [WHERE c AND c ...] [ORDER BY|ORDERBY p [ASC|DESC], ...]
[STARTPOSITION n] [MAXRESULTS n]``. No OR, no projections, no joins. Keywords, entity names and
property paths are case-insensitive; values are quoted (backslash escapes), bare numbers or
true/false. Conditions become SQL on the ``docs`` row: typed columns for Id and
MetaData.LastUpdatedTime (indexed), ``json_extract`` for the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox import timeutil
from sandbox.entities import LIST_ENTITIES, canonical

MAX_RESULTS = 1000
DEFAULT_MAX_RESULTS = 100


class QueryError(ValueError):
    """A statement QBO would refuse: ``code`` 4000 (parse) or 4001 (validation)."""

    def __init__(self, message: str, code: str = "4000") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Condition:
    path: str  # canonical dotted path, e.g. "MetaData.LastUpdatedTime"
    op: str  # = < > <= >= IN LIKE
    values: list[Any]  # parsed literals (str | float | bool)
    bare: list[bool] = field(default_factory=list)  # literal written without quotes


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


# Field names as QBO spells them; paths are matched case-insensitively against these.
KNOWN_FIELDS = [
    "Id",
    "SyncToken",
    "MetaData",
    "CreateTime",
    "LastUpdatedTime",
    "Name",
    "DisplayName",
    "CompanyName",
    "GivenName",
    "FamilyName",
    "Active",
    "Balance",
    "BalanceWithJobs",
    "TotalAmt",
    "Amount",
    "CurrentBalance",
    "UnappliedAmt",
    "DueDate",
    "TxnDate",
    "DocNumber",
    "PrivateNote",
    "EmailStatus",
    "BillEmail",
    "Address",
    "PrimaryEmailAddr",
    "CustomerRef",
    "VendorRef",
    "AccountRef",
    "APAccountRef",
    "SalesTermRef",
    "TermRef",
    "DepositToAccountRef",
    "EntityRef",
    "AccountType",
    "AccountSubType",
    "Classification",
    "PaymentType",
    "PayType",
    "Type",
    "DueDays",
    "DayOfMonthDue",
    "DeliveryInfo",
    "DeliveryType",
    "DeliveryTime",
    "CurrencyRef",
    "value",
    "Taxable",
    "Job",
    "ParentRef",
    "FullyQualifiedName",
    "HomeBalance",
    "sparse",
    "domain",
    "Line",
    "LinkedTxn",
    "TxnId",
    "TxnType",
    "CheckPayment",
    "BankAccountRef",
    "CreditCardPayment",
    "CCAccountRef",
    "Title",
    "Notes",
    "PrintOnCheckName",
    "FromAccountRef",
    "ToAccountRef",
    "TxnStatus",
    "ExpirationDate",
    "HomeTotalAmt",
    "RemainingCredit",
    "ExchangeRate",
    "SourceCurrencyCode",
    "TargetCurrencyCode",
    "AsOfDate",
    "Rate",
]
_FIELD_CASE = {name.lower(): name for name in KNOWN_FIELDS}
NUMERIC_FIELDS = {
    "Balance",
    "BalanceWithJobs",
    "TotalAmt",
    "Amount",
    "CurrentBalance",
    "UnappliedAmt",
    "DueDays",
    "DayOfMonthDue",
    "HomeBalance",
    "HomeTotalAmt",
    "RemainingCredit",
    "ExchangeRate",
    "Rate",
}
BOOLEAN_FIELDS = {"Active", "Taxable", "Job", "sparse"}
TIMESTAMP_FIELDS = {"MetaData.CreateTime", "MetaData.LastUpdatedTime", "DeliveryInfo.DeliveryTime"}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:\\.|[^'\\])*')
    | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*])
    | (?P<word>[A-Za-z_][\w.]*)
    | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise QueryError(f"QueryParserError: unexpected text at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or "bad"
        value = match.group(kind)
        if kind == "bad":
            if value == "'":
                raise QueryError("QueryParserError: unterminated or unescaped quote in value")
            raise QueryError(f"QueryParserError: unexpected character {value!r}")
        tokens.append((kind, value))
        pos = match.end()
    return tokens


def canonical_path(path: str) -> str:
    """``metadata.lastupdatedtime`` -> ``MetaData.LastUpdatedTime``;
    ``VendorRef`` -> ``VendorRef.value``."""
    parts = [_FIELD_CASE.get(part.lower(), part) for part in path.split(".") if part]
    if not parts:
        raise QueryError("QueryParserError: empty property name")
    if parts[-1].endswith("Ref"):
        parts.append("value")
    return ".".join(parts)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, expected: str = "a token") -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError(f"QueryParserError: statement ended where {expected} was expected")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].upper() in words:
            self.pos += 1
            return token[1].upper()
        return None

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            found = self.peek()
            shown = found[1] if found else "end of statement"
            raise QueryError(f"QueryParserError: expected {word}, found {shown!r}")

    def expect_punct(self, char: str) -> None:
        kind, value = self.next(repr(char))
        if (kind, value) != ("punct", char):
            raise QueryError(f"QueryParserError: expected {char!r}, found {value!r}")

    def integer(self, what: str) -> int:
        kind, value = self.next(what)
        if kind == "string":
            value = value[1:-1]
        if not value.lstrip("-").isdigit():
            raise QueryError(f"QueryParserError: {what} needs a whole number, got {value!r}")
        return int(value)

    def literal(self) -> tuple[Any, bool]:
        kind, value = self.next("a value")
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", value[1:-1]), False
        if kind == "number":
            return float(value), True
        if kind == "word" and value.lower() in ("true", "false"):
            return value.lower() == "true", True
        raise QueryError(f"QueryParserError: expected a value, found {value!r}")

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        count = False
        if self.keyword("COUNT"):
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        else:
            kind, value = self.next("*")
            if value != "*":
                raise QueryError(
                    "QueryParserError: only SELECT * and SELECT COUNT(*) are supported"
                )
        self.expect_keyword("FROM")
        kind, name = self.next("an entity name")
        entity = canonical(name) if kind == "word" else None
        if entity is None:
            raise QueryError(f"QueryValidationError: unknown entity {name!r}", code="4001")
        query = Query(entity=entity, count=count)
        if self.keyword("WHERE"):
            query.where.append(self.condition())
            while True:
                if self.keyword("AND"):
                    query.where.append(self.condition())
                elif self.keyword("OR"):
                    raise QueryError("QueryParserError: OR is not supported in QBO queries")
                else:
                    break
        self.clauses(query)
        if self.peek() is not None:
            raise QueryError(f"QueryParserError: unexpected {self.peek()[1]!r}")  # type: ignore[index]  # peeked
        return query

    def clauses(self, query: Query) -> None:
        while self.peek() is not None:
            word = self.keyword("ORDERBY", "ORDER", "STARTPOSITION", "MAXRESULTS")
            if word in ("ORDERBY", "ORDER"):
                if word == "ORDER":
                    self.expect_keyword("BY")
                query.order = [self.order_item()]
                while self.peek() == ("punct", ","):
                    self.pos += 1
                    query.order.append(self.order_item())
            elif word == "STARTPOSITION":
                query.start = max(1, self.integer("STARTPOSITION"))
            elif word == "MAXRESULTS":
                query.max_results = self.integer("MAXRESULTS")
                if query.max_results > MAX_RESULTS:
                    raise QueryError(
                        f"QueryValidationError: value {query.max_results} is too large. "
                        f"Max allowed value is {MAX_RESULTS}",
                        code="4001",
                    )
                if query.max_results < 1:
                    raise QueryError(
                        "QueryValidationError: MAXRESULTS must be at least 1", code="4001"
                    )
            else:
                return

    def order_item(self) -> tuple[str, bool]:
        kind, value = self.next("a property")
        if kind != "word":
            raise QueryError(f"QueryParserError: expected a property to order by, found {value!r}")
        descending = self.keyword("ASC", "DESC") == "DESC"
        return canonical_path(value), descending

    def condition(self) -> Condition:
        kind, value = self.next("a property")
        if kind != "word":
            raise QueryError(f"QueryParserError: expected a property, found {value!r}")
        path = canonical_path(value)
        if self.keyword("IN"):
            self.expect_punct("(")
            items = [self.literal()]
            while self.peek() == ("punct", ","):
                self.pos += 1
                items.append(self.literal())
            self.expect_punct(")")
            return Condition(path, "IN", [v for v, _ in items], [b for _, b in items])
        if self.keyword("LIKE"):
            literal, bare = self.literal()
            return Condition(path, "LIKE", [literal], [bare])
        kind, op = self.next("an operator")
        if kind != "op" or op in ("!=", "<>"):
            raise QueryError(f"QueryParserError: unsupported operator {op!r}")
        literal, bare = self.literal()
        return Condition(path, op, [literal], [bare])


def parse(text: str) -> Query:
    """Parse one statement; raises QueryError (code 4000/4001) with a message naming the problem."""
    if not text or not text.strip():
        raise QueryError("QueryParserError: empty query")
    return _Parser(text).parse()


# ---- translation to SQL -------------------------------------------------------------------
def _json_path(path: str) -> str:
    return "$." + ".".join(
        f'"{part}"' if not part.isidentifier() else part for part in path.split(".")
    )


def _leaf(path: str) -> str:
    parts = path.split(".")
    return parts[-2] if parts[-1] == "value" and len(parts) > 1 else parts[-1]


def _expression(path: str, *, bare_number: bool = False) -> tuple[str, str]:
    """(SQL expression, value kind) for a property path; kind in id|epoch|number|bool|text."""
    lower = path.lower()
    if lower == "id":
        return "d.id", "id"
    if lower == "synctoken":
        return "d.sync_token", "number"
    if path == "MetaData.LastUpdatedTime":
        return "d.updated_at", "epoch"
    extract = f"json_extract(d.doc, '{_json_path(path)}')"
    if path in TIMESTAMP_FIELDS:
        return f"qbo_ts({extract})", "epoch"
    leaf = _leaf(path)
    if leaf in BOOLEAN_FIELDS:
        default = 1 if leaf == "Active" else 0
        return f"coalesce({extract}, {default})", "bool"
    if leaf in NUMERIC_FIELDS or bare_number:
        return f"CAST({extract} AS REAL)", "number"
    return extract, "text"


def _convert(value: Any, kind: str, tz: str | None) -> Any:
    try:
        if kind == "id":
            text = str(int(value)) if isinstance(value, float) else str(value)
            return int(text) if text.isdigit() else -1
        if kind == "epoch":
            return timeutil.parse_timestamp(str(value), tz)
        if kind == "number":
            return float(value)
        if kind == "bool":
            if isinstance(value, bool):
                return int(value)
            return 1 if str(value).lower() == "true" else 0
    except ValueError as exc:
        raise QueryError(f"QueryValidationError: bad value {value!r}: {exc}", code="4001") from exc
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if not isinstance(value, bool) else ("true" if value else "false")


def _like_pattern(value: str) -> str:
    return value.replace("\\", "\\\\").replace("_", "\\_")


def where_sql(query: Query, tz: str | None) -> tuple[str, list[Any]]:
    """SQL conditions (joined by AND, referring to alias ``d``) and their parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for cond in query.where:
        # ``bare`` may be shorter (its default is empty): a literal without a flag counts as
        # quoted, so the pairs are cut at the shorter list.
        bare_number = any(
            b and isinstance(v, float) for v, b in zip(cond.values, cond.bare, strict=False)
        )
        expr, kind = _expression(cond.path, bare_number=bare_number)
        if cond.op == "LIKE":
            clauses.append(f"{expr} LIKE ? ESCAPE '\\'")
            params.append(_like_pattern(str(cond.values[0])))
        elif cond.op == "IN":
            clauses.append(f"{expr} IN ({', '.join('?' * len(cond.values))})")
            params.extend(_convert(v, kind, tz) for v in cond.values)
        else:
            clauses.append(f"{expr} {cond.op} ?")
            params.append(_convert(cond.values[0], kind, tz))
    if query.entity in LIST_ENTITIES and not any(c.path.lower() == "active" for c in query.where):
        clauses.append("coalesce(json_extract(d.doc, '$.Active'), 1) = 1")
    return (" AND ".join(clauses) or "1"), params


def order_sql(query: Query) -> str:
    parts = [f"{_expression(path)[0]} {'DESC' if desc else 'ASC'}" for path, desc in query.order]
    parts.append("d.id ASC")
    return ", ".join(parts)
