"""Fetching query pages: several statements packed into one batch request (≤ 30 items) when
that saves requests, plain queries otherwise; a faulted batch item is asked again on its own
(through the retry policy). Pages come back as ``Page``s: the documents' JSON text for the
store plus what paging needs, read by DuckDB without parsing documents in Python."""

from __future__ import annotations

from datetime import datetime

from sync.client import MAX_BATCH_ITEMS, qbo_timestamp
from sync.context import RunContext
from sync.errors import PermanentError
from sync.rawpages import Page
from sync.schema import BY_QBO_NAME


def window_statement(
    entity: str, *, lo: datetime | None, hi: datetime | None, offset: int, page_size: int
) -> str:
    """A page of one entity ordered by MetaData.LastUpdatedTime within [lo, hi]."""
    conds: list[str] = []
    spec = BY_QBO_NAME.get(entity)
    if spec is not None and spec.is_list:
        conds.append("Active IN (true, false)")
    if lo is not None:
        conds.append(f"MetaData.LastUpdatedTime >= '{qbo_timestamp(lo)}'")
    if hi is not None:
        conds.append(f"MetaData.LastUpdatedTime <= '{qbo_timestamp(hi)}'")
    where = f" WHERE {' AND '.join(conds)}" if conds else ""
    return (
        f"SELECT * FROM {entity}{where} ORDERBY MetaData.LastUpdatedTime "
        f"STARTPOSITION {offset + 1} MAXRESULTS {page_size}"
    )


def fetch_pages(ctx: RunContext, statements: dict[str, str]) -> dict[str, Page]:
    """The page of each statement, keyed like the input; as few requests as possible."""
    out: dict[str, Page] = {}
    keys = list(statements)
    use_batch = (
        ctx.options.use_batch and len(keys) > 1 and not ctx.client.refuses(ctx.realm_id, "batch")
    )
    if use_batch:
        for start in range(0, len(keys), MAX_BATCH_ITEMS):
            chunk = keys[start : start + MAX_BATCH_ITEMS]
            try:
                answers = ctx.client.batch_pages(
                    ctx.realm_id, [statements[k] for k in chunk], lane="sync"
                )
            except PermanentError:
                ctx.client.mark_refused(ctx.realm_id, "batch")  # this company: plain queries
                break
            for key, answer in zip(chunk, answers, strict=True):
                # a faulty item is asked again below, on its own, with retries
                if isinstance(answer, Page):
                    out[key] = answer
    for key in keys:
        if key not in out:
            out[key] = ctx.client.query_page(ctx.realm_id, statements[key], lane="sync")
    return out
