"""The console's Digest page body (``pages/digest.py`` calls ``render_digest_page(settings)``):
stored digests by week and scope, download, a first-page preview, e-mail outcomes, and a button
that makes this week's digest now."""

from __future__ import annotations

from typing import Any

import streamlit as st

from digest import fmt, ledger
from digest.make import FIRM, digest_paths
from oodaloo import present
from oodaloo.config import Settings

PICKER_GENERATION = "digest_picker_generation"
MAKE_SCOPE_KEY = "digest_make_scope"  # the "Make it now" picker, read when the click arrives


def stored_weeks(settings: Settings) -> list[str]:
    """Weeks with at least one stored PDF, newest first."""
    root = settings.digests_dir
    return sorted(
        (p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.pdf"))), reverse=True
    )


def stored_scopes(settings: Settings, week: str) -> list[str]:
    """Scopes stored for ``week``: the firm first, then companies."""
    scopes = [p.stem for p in (settings.digests_dir / week).glob("*.pdf")]
    return sorted(scopes, key=lambda s: (s != FIRM, s))


def first_page_png(pdf_path: str, scale: float = 1.4) -> bytes | None:
    """The first page as PNG (pypdfium2); None when the PDF cannot be rasterised."""
    try:
        import io

        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(pdf_path)
        try:
            image = document[0].render(scale=scale).to_pil()
        finally:
            document.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    except Exception:  # a preview is a convenience; the download still works
        return None


def _scope_label(scope: str, manifest: dict[str, Any] | None) -> str:
    if scope == FIRM:
        return "Firm roll-up"
    name = (manifest or {}).get("company_name")
    return str(name) if name else "Company digest"


def _make_now(settings: Settings) -> None:
    """Make the digest the picker shows *now*: read from the picker's state when the click
    arrives, not bound at the last render (a click that lands before the picker's own rerun
    finished would otherwise make the previously chosen company's digest)."""
    from digest.make import make_digest
    from digest.weeks import IsoWeek
    from oodaloo.clock import now as clock_now
    from oodaloo.clock import today

    scope = str(st.session_state.get(MAKE_SCOPE_KEY, FIRM))
    now = clock_now(settings)
    week = IsoWeek.of(today(settings))
    before = ledger.record(settings, scope, str(week))
    fixed = before is not None and before.status == ledger.MADE and before.data_as_of
    try:  # a week already made regenerates from its recorded cut-off, so nothing changes
        produced = make_digest(settings, scope, week, now=now)
    except (LookupError, ValueError) as exc:
        st.session_state["digest_message"] = ("error", f"Could not make the digest: {exc}")
        return
    note = " — an early preview; the Friday 07:00 digest replaces it" if produced.early else ""
    if fixed:
        note = (
            f" — the same as first made: it shows the data known at "
            f"{present.moment(produced.data_as_of)}; later actions appear in next week's digest"
        )
    st.session_state["digest_message"] = (
        "success",
        f"Made the {week} digest — {_made_label(settings, scope)} ({produced.pages} pages){note}.",
    )
    st.session_state["digest_pick"] = (str(week), scope)
    # The week and company pickers below are widgets whose value the browser sends back with
    # every click; new keys make them start again from what was just made.
    st.session_state[PICKER_GENERATION] = st.session_state.get(PICKER_GENERATION, 0) + 1


def _made_label(settings: Settings, scope: str) -> str:
    """Which digest was made, in the message that says so: the firm or the company's name."""
    return "Firm roll-up" if scope == FIRM else _companies(settings).get(scope, scope)


def _companies(settings: Settings) -> dict[str, str]:
    from digest.make import company_directory

    return {realm: info["name"] for realm, info in company_directory(settings).items()}


def render(settings: Settings, realm_id: str | None = None, as_of: object = None) -> None:
    """What ``pages/digest.py`` calls: the page, opened on the selected company's digest."""
    render_digest_page(settings, realm_id)


def render_digest_page(settings: Settings, realm_id: str | None = None) -> None:
    st.caption(
        "A PDF per company and one for the firm, made every Friday at 07:00 in each company's "
        "time zone from the data as known at that moment. Insights, not advice."
    )

    message = st.session_state.pop("digest_message", None)
    if message:
        (st.success if message[0] == "success" else st.error)(message[1])

    st.header("Make this week's digest now")
    with st.container():
        companies = _companies(settings)
        options = [FIRM, *sorted(companies, key=lambda r: companies[r])]
        st.selectbox(
            "Digest",
            options,
            format_func=lambda s: "Firm roll-up" if s == FIRM else companies.get(s, s),
            key=MAKE_SCOPE_KEY,
        )
        st.button(
            "Make it now",
            key="digest_make_now",
            on_click=_make_now,
            args=(settings,),
            type="primary",
        )

    weeks = stored_weeks(settings)
    if not weeks:
        st.info(
            "No digest yet. The first one is made on Friday at 07:00, or now with the button above."
        )
        return
    picked_week, picked_scope = st.session_state.get("digest_pick", (weeks[0], realm_id))
    generation = st.session_state.get(PICKER_GENERATION, 0)
    week_key, scope_key = f"digest_week_{generation}", f"digest_scope_{generation}"
    _default(week_key, weeks, picked_week)
    week = st.selectbox("Week", weeks, key=week_key)
    scopes = stored_scopes(settings, week)
    manifests = {s: _manifest(settings, week, s) for s in scopes}
    _default(scope_key, scopes, picked_scope)
    scope = st.selectbox(
        "Company",
        scopes,
        format_func=lambda s: _scope_label(s, manifests[s]),
        key=scope_key,
    )
    pdf_path, _ = digest_paths(settings, week, scope)
    record = ledger.record(settings, scope, week)
    manifest = manifests[scope] or {}

    left, right = st.columns([2, 3])
    with left:
        st.download_button(
            "Download PDF",
            data=pdf_path.read_bytes(),
            file_name=f"oodaloo-digest-{week}-{scope}.pdf",
            mime="application/pdf",
            key="digest_download",
            type="primary",
        )
        if record is not None:
            made = present.moment(record.made_at) if record.made_at else "—"
            status = {
                "made": "Made",
                "early": "Early preview",
                "failed": "Failed",
                "claimed": "Being made",
            }[record.status]
            st.markdown(f"**{status}** {made} · {record.pages or '?'} pages")
            if record.error:
                st.error(record.error)
        if manifest.get("data_as_of"):
            st.caption(f"Figures as known at {present.moment(manifest['data_as_of'])}")
        for kpi in manifest.get("kpis", []):
            st.metric(
                kpi["label"],
                fmt.kpi_value(kpi["value"], kpi["kind"]),
                help=kpi.get("detail") or None,
            )
        _email_status(settings, week, scope)
    with right:
        png = first_page_png(str(pdf_path))
        if png is not None:
            st.image(
                png,
                caption=f"First page of the {week} digest — {_scope_label(scope, manifest)}",
                width="stretch",
            )
        else:
            st.json(manifest, expanded=False)


def _default(key: str, options: list[str], wanted: object) -> None:
    """A picker's value set through session state only (never also an index, which Streamlit
    warns about): kept while it is still offered, else ``wanted``, else the first option."""
    if st.session_state.get(key) in options:
        return
    st.session_state[key] = wanted if wanted in options else options[0]


def _manifest(settings: Settings, week: str, scope: str) -> dict[str, Any] | None:
    from digest.make import stored_manifest

    try:
        return stored_manifest(settings, week, scope)
    except ValueError:
        return None


def _email_status(settings: Settings, week: str, scope: str) -> None:
    st.header("E-mail")
    if not settings.smtp_host:
        st.caption("E-mail is off (no SMTP server set: OODALOO_SMTP_HOST).")
    rows = [d for d in ledger.deliveries(settings, week) if d.scope == scope]
    if not rows:
        st.caption("Not e-mailed.")
        return
    for d in rows:
        if d.status == ledger.SENT:
            st.markdown(
                f"✅ {d.recipient} — sent ({d.attempts} attempt{'s' if d.attempts != 1 else ''})"
            )
        else:
            st.markdown(f"⚠️ {d.recipient} — **failed** after {d.attempts} attempts: {d.error}")
