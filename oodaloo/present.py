"""How figures read, in the console and in the PDF: one presentation layer.

Why one module: the console and the digest used to format money and dates separately and
disagreed ($12,344 on the page, $12,345 in the PDF for 12,344.50). Every page, the PDF and the
e-mail format through these functions, so the same number reads the same everywhere.

Rules (tests in tests/ui/test_present.py):
- one rounding rule, half-up: to the cent for exact amounts, to the dollar for headline figures;
- one date format, "Fri 20 Nov 2026" ("20 Nov 2026" where space is tight);
- nothing shows "None": an unknown value is an em dash;
- every column a user sees has a human label (``COLUMN_LABELS``; ``label`` falls back to words);
- a status is a colour and a word, never a colour alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from runway.money import MINUS  # one minus sign for row text and pages

DASH = "—"
CENT = Decimal("0.01")
DOLLAR = Decimal("1")

Kind = Literal["text", "money", "date", "int", "ratio", "days", "weeks", "percent", "status"]


# ---- numbers ---------------------------------------------------------------------------


def decimal(value: Any) -> Decimal | None:
    """Any number (Decimal, int, float, numeric text) as a Decimal; None when unknown or not finite.

    Floats go through ``str`` so 0.1 stays 0.1 (not 0.1000000000000000055...)."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def round_half_up(value: Any, step: Decimal = CENT) -> Decimal | None:
    """The house rounding rule: half-up (12,344.50 -> 12,345; 0.125 -> 0.13)."""
    number = decimal(value)
    return None if number is None else number.quantize(step, rounding=ROUND_HALF_UP)


def money(value: Any, *, signed: bool = False, currency: str = "$") -> str:
    """A headline amount in whole dollars, half-up: '$12,345', '−$1,200' ('+$5' when signed)."""
    amount = round_half_up(value, DOLLAR)
    if amount is None:
        return DASH
    text = f"{currency}{abs(amount):,}"
    if amount < 0:
        return MINUS + text
    return f"+{text}" if signed and amount > 0 else text


def money_exact(value: Any, *, currency: str = "$") -> str:
    """An amount to the cent, half-up: '$12,344.50' (approval review, CSV-adjacent detail)."""
    amount = round_half_up(value, CENT)
    if amount is None:
        return DASH
    text = f"{currency}{abs(amount):,.2f}"
    return MINUS + text if amount < 0 else text


def ratio(value: Any) -> str:
    """Coverage ratios: '1.35×', '−0.05×' (the same minus sign as money)."""
    number = round_half_up(value, CENT)
    return DASH if number is None else f"{number}×".replace("-", MINUS)


def percent(value: Any) -> str:
    """A share (0.25) as '25%', half-up."""
    number = decimal(value)
    if number is None:
        return DASH
    return f"{(number * 100).quantize(DOLLAR, rounding=ROUND_HALF_UP)}%"


def count(value: Any) -> str:
    number = decimal(value)
    return DASH if number is None else f"{int(number):,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 payroll', '3 payrolls' (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def weeks(value: Any, *, none_text: str = "beyond the horizon") -> str:
    """Runway in weeks: '8.4 weeks', '1 week'; None means the balance never falls below the line."""
    number = round_half_up(value, Decimal("0.1"))
    if number is None:
        return none_text
    return f"{number} week" if number == 1 else f"{number} weeks"


def weeks_short(value: Any) -> str:
    """A metric-sized runway ('8.4 wk', '> 2 yrs') that a narrow column never truncates."""
    number = round_half_up(value, Decimal("0.1"))
    return "> 2 yrs" if number is None else f"{number} wk"


def days(value: Any) -> str:
    """'7 days'; a negative count is time still to go: 'in 7 days' (never "−7 days late")."""
    number = decimal(value)
    if number is None:
        return DASH
    whole = int(number)
    return plural(whole, "day") if whole >= 0 else f"in {plural(-whole, 'day')}"


# ---- dates -----------------------------------------------------------------------------


def as_date(value: Any) -> date | None:
    """A date from a date, a datetime or ISO text; None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def day(value: Any) -> str:
    """The one date format: 'Fri 20 Nov 2026'."""
    when = as_date(value)
    return DASH if when is None else f"{when:%a} {when.day} {when:%b %Y}"


def short_day(value: Any) -> str:
    """'20 Nov 2026' where space is tight."""
    when = as_date(value)
    return DASH if when is None else f"{when.day} {when:%b %Y}"


def moment(value: Any) -> str:
    """A point in time: 'Fri 20 Nov 2026, 14:05 UTC' (its own zone name, never a raw timestamp)."""
    if value is None or value == "":
        return DASH
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if not isinstance(value, datetime):
        return day(value)
    zone = value.tzname() or ""
    return f"{day(value)}, {value:%H:%M}" + (f" {zone}" if zone else "")


def due_phrase(due: Any, as_of: Any) -> str:
    """'due in 7 days', 'due today', '3 days late' — never a negative lateness."""
    due_day, today = as_date(due), as_date(as_of)
    if due_day is None or today is None:
        return "no due date"
    late = (today - due_day).days
    if late > 0:
        return f"{plural(late, 'day')} late"
    if late == 0:
        return "due today"
    return f"due in {plural(-late, 'day')}"


def week_span(start: Any) -> str:
    """'week of Mon 16 Nov 2026'."""
    when = as_date(start)
    return DASH if when is None else f"week of {day(when)}"


def week_start(value: date, first_weekday: int = 0) -> date:
    """The first day (Monday by default) of ``value``'s week."""
    return value - timedelta(days=(value.weekday() - first_weekday) % 7)


# ---- statuses --------------------------------------------------------------------------

# A status is a word with a mark before it. The marks are geometric shapes DejaVu Sans has (the
# PDF's font, and the one a headless browser falls back to: emoji dots drew there as empty
# boxes), one shape per tone so the mark means the same without its colour; a renderer that
# can colour text repeats the tone with ``status_color`` (hex) or ``status_markdown``.
TONE_MARK: dict[str, str] = {"good": "●", "warn": "▲", "bad": "■", "neutral": "○"}
TONE_COLOR: dict[str, str] = {  # text colours at WCAG AA (>= 4.5:1) on white
    "good": "#1e7b34",
    "warn": "#9a5b00",
    "bad": "#b3261e",
    "neutral": "#5f6368",
}
TONE_MARKDOWN: dict[str, str] = {  # Streamlit's named Markdown colours for the same tones
    "good": "green",
    "warn": "orange",
    "bad": "red",
    "neutral": "gray",
}
STATUS_TONE: dict[str, tuple[str, str]] = {
    # status -> (tone, word); the word carries the meaning, shape and colour repeat it
    "green": ("good", "Covered"),
    "amber": ("warn", "Tight"),
    "red": ("bad", "Short"),
    "none": ("neutral", "No payroll known"),
    "fresh": ("good", "Synced recently"),
    "stale": ("warn", "Stale"),
    "never": ("neutral", "Never synced"),
    "unreachable": ("bad", "QuickBooks unreachable"),
    "reconnect_needed": ("bad", "Reconnect needed"),
    "executed": ("good", "Done"),
    "succeeded": ("good", "Done"),
    "pending": ("warn", "Pending — will retry"),
    "retrying": ("warn", "Pending — will retry"),
    "waiting": ("warn", "Pending — will retry"),
    "refused": ("bad", "Refused"),
    "failed": ("bad", "Failed"),
    "duplicate": ("neutral", "Already done earlier"),
    "skipped": ("neutral", "Skipped"),
    "already_succeeded": ("good", "Already done earlier"),
    "in_progress": ("warn", "Pending"),
    "unknown": ("warn", "Being checked with QuickBooks"),
    "cancelled": ("neutral", "Cancelled"),
}
STATUS: dict[str, tuple[str, str]] = {
    key: (TONE_MARK[tone], word) for key, (tone, word) in STATUS_TONE.items()
}
"""status -> (mark, word), the pair ``status`` prints."""


def phrase(value: Any) -> str:
    """A code value as words: 'open_91_plus' -> 'Open 91+', 'customer_lag_broken' -> 'Customer
    lag broken'."""
    if value is None or value == "":
        return DASH
    text = words(str(value)).replace(" plus", "+")
    return text[:1].upper() + text[1:]


def status(value: Any) -> str:
    """A status as mark and word: '■ Short'; unknown statuses read as their own words."""
    if value is None or value == "":
        return STATUS["none"][0] + " " + STATUS["none"][1]
    key = str(value).strip().lower()
    if key in STATUS:
        dot, word = STATUS[key]
        return f"{dot} {word}"
    return words(key).capitalize()


def status_tone(value: Any) -> str:
    """'good', 'warn', 'bad' or 'neutral' (an unknown status is neutral)."""
    key = "none" if value is None or value == "" else str(value).strip().lower()
    return STATUS_TONE.get(key, ("neutral", ""))[0]


def status_mark(value: Any) -> str:
    """The status's mark alone (for a caller that words the status itself)."""
    return TONE_MARK[status_tone(value)]


def status_color(value: Any) -> str:
    """The status's colour (hex) for renderers that colour text: the PDF, a styled cell."""
    return TONE_COLOR[status_tone(value)]


def status_markdown(value: Any) -> str:
    """``status`` with its mark coloured, for Streamlit Markdown (captions, text)."""
    text = status(value)
    key = "none" if value is None or value == "" else str(value).strip().lower()
    if key not in STATUS:
        return text
    mark, word = STATUS[key]
    return f":{TONE_MARKDOWN[status_tone(value)]}[{mark}] {word}"


# ---- labels ----------------------------------------------------------------------------

COLUMN_LABELS: dict[str, str] = {
    "company": "Company",
    "company_name": "Company",
    "name": "Company",
    "party": "Who",
    "party_name": "Who",
    "customer": "Customer",
    "vendor": "Vendor",
    "amount": "Amount",
    "open_amount": "Open amount",
    "balance": "Balance",
    "total": "Total",
    "current": "Not yet due",
    "d1_30": "1–30 days late",
    "d31_60": "31–60 days late",
    "d61_90": "61–90 days late",
    "d91_plus": "91+ days late",
    "due_date": "Due",
    "due": "Due",
    "days_past_due": "Due / late",
    "reason": "Why",
    "latest_safe_date": "Latest safe date",
    "planned_date": "Planned date",
    "effect_text": "Effect",
    "email": "E-mail",
    "doc_number": "Number",
    "doc_type": "Document",
    "date": "Date",
    "week": "Week",
    "direction": "In / out",
    "kind": "Kind",
    "source_id": "Document",
    "source": "Source",
    "runway_weeks": "Runway",
    "breach_date": "Below reserve",
    "payroll_status": "Next payroll",
    "payrolls_covered": "Payrolls covered",
    "dso_days": "DSO (days)",
    "dso_trend_days": "DSO change (28 days)",
    "hygiene_score": "Hygiene score",
    "freshness_badge": "Data",
    "freshness_status": "Data",
    "exception_score": "Exception score",
    "overdue_91_share": "Overdue 91+",
    "cash": "Cash",
    "reserve": "Reserve",
    "status": "Status",
    "badge": "Data",
    "state": "Connection",
    "last_error": "Last error",
    "last_success_at": "Last synced",
    "started_at": "Started",
    "finished_at": "Finished",
    "entity": "Record type",
    "change": "Change",
    "changed_at": "Changed",
    "event": "Event",
    "actor": "By",
    "action": "Action",
    "outcome": "Result",
    "message": "Detail",
    "severity": "Severity",
    "detail": "Detail",
    "flag": "Flag",
    "account": "Account",
    "account_name": "Account",
    "currency": "Currency",
    "rate": "Rate",
    "converted": "In home currency",
    "cash_position": "Cash position",
    "realm_id": "Company id",
    "id": "QuickBooks id",
    "doc_id": "QuickBooks id",
    "sync_token": "Version",
    "run_id": "Run",
    "requests": "Requests",
    "rows": "Rows",
    "error": "Error",
    "total_amt": "Total",
    "source_updated_at": "Changed in QuickBooks",
    "ingested_at": "Synced",
    "before": "Before",
    "after": "After",
    "forecast_effect": "Effect on the forecast",
    "balance_as_of": "Balance as of",
    "note": "Note",
    "included": "In cash",
    "approval_id": "Approval",
    "target_id": "Document",
    "at": "When",
    "created_at": "Created",
    "updated_at": "Updated",
    "description": "What",
}

_WORDS = {"ar": "A/R", "ap": "A/P", "dso": "DSO", "dpo": "DPO", "qbo": "QuickBooks", "id": "id"}


def words(name: str) -> str:
    """'days_past_due' -> 'days past due'; known abbreviations spelled as people write them."""
    parts = [_WORDS.get(p, p) for p in str(name).replace("-", "_").split("_") if p]
    return " ".join(parts)


def label(column: str, labels: Mapping[str, str] | None = None) -> str:
    """The human label of a column: the caller's, the house list's, else its words capitalised."""
    if labels and column in labels:
        return labels[column]
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    text = words(column)
    if text.lower().startswith("d") and text[1:2].isdigit():  # d91 plus -> 91+ days late
        text = text[1:].replace(" plus", "+") + " days late"
    return text[:1].upper() + text[1:]


# ---- cells ------------------------------------------------------------------------------


def cell(value: Any, kind: Kind | str) -> str:
    """One table cell as text, by its column kind (the PDF and every text rendering)."""
    if value is None or value == "":
        return DASH
    if kind == "money":
        return money(value)
    if kind == "date":
        return day(value)
    if kind == "ratio":
        return ratio(value)
    if kind == "days":
        return days(value)
    if kind == "weeks":
        return weeks(value)
    if kind == "percent":
        return percent(value)
    if kind == "int":
        return count(value)
    if kind == "status":
        return status(value)
    return str(value)


def kpi_value(value: Any, kind: Kind | str) -> str:
    if kind == "weeks":
        return weeks(value)
    return cell(value, kind)


def text_or_dash(value: Any) -> str:
    """Text for a cell that must never read 'None'."""
    return DASH if value is None or value == "" else str(value)


# ---- the owner's three questions, in words (console and PDF) ------------------------------


def _sum(rows: list[dict[str, Any]], key: str = "amount") -> Decimal:
    return sum((decimal(r.get(key)) or Decimal(0) for r in rows), Decimal(0))


def answer_payroll(payroll: list[dict[str, Any]]) -> str:
    """Can the next payroll be covered? Never says "covered" for a payroll whose coverage with
    late collections (P90) is below 1."""
    if not payroll:
        return "No payroll calendar is known yet: none was detected in the books and none is set."
    nxt = payroll[0]
    amount, when, cover = money(nxt.get("amount")), day(nxt.get("date")), ratio(nxt.get("coverage"))
    state = nxt.get("status")
    if state == "green":
        text = (
            f"Yes. The payroll of {amount} on {when} is covered {cover} even with late "
            "collections, reserve intact."
        )
    elif state == "amber":
        text = (
            f"Only just. The payroll of {amount} on {when} is covered ({cover} with late "
            "collections) only by using the reserve or counting on customers paying at their "
            "usual pace."
        )
    else:
        cash = (decimal(nxt.get("cash_before_p90")) or Decimal(0)) - (
            decimal(nxt.get("must_pay_before")) or Decimal(0)
        )
        short = (decimal(nxt.get("amount")) or Decimal(0)) - cash
        text = (
            f"Not on current projections. With late collections the cash before the payroll of "
            f"{amount} on {when} reaches {cover} of it, "
            f"about {money(max(short, Decimal(0)))} short."
        )
    covered = int(nxt.get("payrolls_covered") or 0)
    verb = "is" if covered == 1 else "are"
    return f"{text} {covered} of the next {plural(len(payroll), 'payroll')} {verb} covered."


def answer_chase(chase: list[dict[str, Any]], doc_numbers: Mapping[str, str]) -> str:
    """Who is late, and whom to chase: the count, the total and the first three by priority."""
    if not chase:
        return (
            "Nobody this week: no overdue invoice qualifies for a reminder (none overdue, reminded "
            "in the last days, or no e-mail on file)."
        )
    top = ", ".join(
        f"{r.get('party_name')} ({money(r.get('amount'))}, invoice "
        f"{doc_numbers.get(str(r.get('doc_id')), r.get('doc_id'))}, "
        f"{plural(int(r.get('days_past_due') or 0), 'day')} past due)"
        for r in chase[:3]
    )
    noun = "invoice qualifies" if len(chase) == 1 else "invoices qualify"
    return (
        f"{len(chase)} overdue {noun} for a reminder, worth {money(_sum(chase))}. "
        f"Biggest gains first: {top}."
    )


def answer_wait(can_delay: list[dict[str, Any]], must_pay: list[dict[str, Any]]) -> str:
    """What can wait: the bills that can move later within the terms, and what must be paid."""
    must = (
        f" Must pay: {plural(len(must_pay), 'item')} worth {money(_sum(must_pay))}."
        if must_pay
        else " Nothing is flagged as must-pay."
    )
    if not can_delay:
        return "No bill can move later within the terms set." + must
    lead = can_delay[0]
    effect = f" ({lead['effect_text']})" if lead.get("effect_text") else ""
    return (
        f"{plural(len(can_delay), 'bill')} worth {money(_sum(can_delay))} can move later "
        f"within the terms set — e.g. {lead.get('party_name')} {money(lead.get('amount'))} until "
        f"{day(lead.get('latest_safe_date'))}{effect}." + must
    )


# ---- reading what people type (Settings): clear errors, never a crash -----------------------

MAX_AMOUNT = Decimal("999999999999.99")  # fits the store's Decimal(18, 2) with room to spare


class InputError(ValueError):
    """What the user typed cannot be used; the message names the field and what to type."""


def parse_amount(
    text: str, what: str, *, minimum: Decimal = Decimal(0), allow_zero: bool = True
) -> Decimal | None:
    """'$12,500.50' -> Decimal('12500.50'); empty -> None. Refuses words, exponents beyond
    range ('1e400'), negatives and more than cents, each with a sentence naming ``what``."""
    cleaned = str(text or "").strip().replace(",", "").replace("$", "").replace(" ", "")
    if not cleaned:
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(f"{what}: “{text}” is not an amount; type a number like 12500.") from None
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise InputError(
            f"{what}: {text} is too large; the most it can be is {money_exact(MAX_AMOUNT)}."
        )
    if number < minimum or (not allow_zero and number == 0):
        least = "more than $0" if not allow_zero else f"at least {money(minimum)}"
        raise InputError(f"{what}: {text} is not allowed; it must be {least}.")
    if number != number.quantize(CENT):
        raise InputError(f"{what}: {text} has more than two decimals; amounts are in cents.")
    return number.quantize(CENT)


def parse_whole(text: str, what: str, low: int, high: int) -> int:
    """A whole number of days within [low, high], or a sentence saying what is allowed."""
    cleaned = str(text or "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise InputError(f"{what}: “{text}” is not a number; type a whole number.") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise InputError(f"{what}: “{text}” is not a whole number.")
    if not low <= number <= high:
        raise InputError(f"{what}: {cleaned} is out of range; it must be from {low} to {high}.")
    return int(number)


def parse_day(text: str, what: str) -> date | None:
    """'2026-11-20' (or 2026/11/20) -> date; empty -> None; '2026/13/45' refused, never rolled
    over into another date."""
    cleaned = str(text or "").strip()
    if not cleaned:
        return None
    parts = cleaned.replace("/", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
        raise InputError(f"{what}: “{text}” is not a date; type it as year-month-day, 2026-11-20.")
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise InputError(
            f"{what}: {cleaned} is not a real date (month 1–12, day of the month)."
        ) from None


def parse_emails(text: str, what: str) -> list[str]:
    """One address per line (commas accepted); each must look like name@domain.tld."""
    import re

    pattern = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    found = [p.strip() for line in str(text or "").splitlines() for p in line.split(",")]
    found = [p for p in found if p]
    wrong = [p for p in found if not pattern.match(p)]
    if wrong:
        verb = "is not an e-mail address" if len(wrong) == 1 else "are not e-mail addresses"
        raise InputError(f"{what}: {', '.join(wrong[:3])} {verb}.")
    return found


# ---- text from QuickBooks is data, never markup -------------------------------------------
# (issue 14) A customer named ``![x](http://evil/p.png) [Reconnect QuickBooks](http://evil)``
# must read as those characters, not become an image and a link; a CSV cell ``=HYPERLINK(...)``
# must not become a formula in a spreadsheet.

_MARKDOWN_SPECIAL = set("\\`*_{}[]()<>#+-.!|~=:$&@")


def escape_markdown(value: Any) -> str:
    """``value`` as text that st.markdown (and st.caption, st.write, labels) shows literally:
    every Markdown/HTML-significant character backslash-escaped, newlines as spaces, and "://"
    broken so no bare URL turns into a link."""
    text = "" if value is None else str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    out = "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in text)
    return out.replace("\\:\\/\\/", "\\:\u2060//").replace("\\:/", "\\:\u2060/")


HtmlCell = str | tuple[str, str]
"""A cell of ``html_table``: its text, or (text, tone) for a status coloured by its tone."""


def html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[HtmlCell]],
    *,
    name: str = "",
    label: str = "",
    right: Collection[int] = (),
    helps: Mapping[int, str] | None = None,
    scroll: bool = False,
) -> str:
    """A read-only table as static HTML: the browser draws it at once, with no data-grid
    JavaScript to load and start (~1.4 MB that a page with one ``st.dataframe`` pays on its
    first paint), and its text is read aloud, found and copied. Every header and cell is
    escaped here: QuickBooks-supplied text stays data, never markup. ``name`` tags the table
    (``data-table``) for tests and styles; ``label`` names it for screen readers; ``right``
    holds the columns (by position) aligned as numbers; ``helps`` explains a column in its
    header's tooltip; ``scroll`` keeps a long table in a box that scrolls (focusable, so it
    scrolls from the keyboard too)."""
    from html import escape

    helps = helps or {}
    heads = []
    for at, title in enumerate(header):
        attributes = ' scope="col"' + (' class="oo-num"' if at in right else "")
        if at in helps:
            attributes += f' title="{escape(helps[at])}"'
        heads.append(f"<th{attributes}>{escape(title)}</th>")
    body = []
    for row in rows:
        cells = []
        for at, value in enumerate(row):
            css = ["oo-num"] if at in right else []
            if isinstance(value, tuple):
                text, tone = value
                css.append(f"oo-{tone if tone in TONE_MARK else 'neutral'}")
            else:
                text = value
            kind = f' class="{" ".join(css)}"' if css else ""
            cells.append(f"<td{kind}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    box = f' role="region" aria-label="{escape(label or name)}" tabindex="0"' if scroll else ""
    return (
        f'<div class="oo-table{" oo-scroll" if scroll else ""}" data-table="{escape(name)}"'
        f"{box}><table><thead><tr>"
        + "".join(heads)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def html_figures(figures: Iterable[tuple[str, str, str]], *, name: str = "") -> str:
    """Headline figures, each a (label, value, note), as one static HTML row (a description
    list: label, then value and note): one element for the browser to draw instead of a
    column, a metric and a caption per figure. Escaped like ``html_table``."""
    from html import escape

    items = "".join(
        f'<div class="oo-figure"><dt>{escape(label)}</dt><dd class="oo-value">{escape(value)}'
        f'</dd><dd class="oo-note">{escape(note)}</dd></div>'
        for label, value, note in figures
    )
    return f'<dl class="oo-figures" data-figures="{escape(name)}">{items}</dl>'


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or tab / CR) gets a
    leading apostrophe (OWASP CSV injection). Numbers stay numbers, so -12.50 stays -12.50."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_frame(frame: Any) -> Any:
    """A Polars frame whose text cells pass ``csv_safe`` (for every CSV download)."""
    import polars as pl

    risky = r"^[=+\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(risky))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def currency_notes(accounts: Iterable[Mapping[str, Any]]) -> list[str]:
    """One sentence per bank account whose currency is not the home currency: converted ones say
    at which rate and date (so the cash figure shows where it came from), and one without any rate
    says it is left out of cash. The console's frame (every page) and the PDF show the same
    sentences: an account is never dropped silently."""
    notes: list[str] = []
    for row in accounts:
        if row.get("kind") not in (None, "bank"):
            continue
        name = str(row.get("account_name") or row.get("account_id") or "an account")
        currency = str(row.get("currency") or "")
        native = round_half_up(row.get("balance_foreign"), CENT)
        native_text = DASH if native is None else f"{currency} {native:,.2f}"
        if row.get("unconverted"):
            notes.append(
                f"{name} ({native_text}) has no {currency} exchange rate: it is not in the cash "
                "figure until QuickBooks has a rate."
            )
        elif row.get("rate") is not None:
            notes.append(
                f"{name} ({native_text}) is in cash as {money(row.get('balance'))}, converted at "
                f"{decimal(row.get('rate'))} per {currency} (rate of {day(row.get('rate_date'))})."
            )
    return notes
