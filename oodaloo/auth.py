"""Who may move money: identities, roles per company, the second-approver threshold, and the
console's sign-in gate.

Why here and not in each page: the console pays bills in customers' books, so "who is this and
may they do that" must have one answer, checked by the code that acts (``actions.service``) as
well as shown by the pages. Roles live in state.sqlite (``access_roles``):

* ``admin``    firm admin (``realm_id = '*'``): everything, Settings and connections included;
* ``approver`` per company: approves (and may prepare);
* ``preparer`` per company: selects and submits for approval, never approves;
* ``viewer``   per company: reads only.

A role row with ``realm_id = '*'`` applies to every company; a company's own row wins over it.
``Settings.auth_admins`` names firm admins whatever the table says (bootstrap). Payments above a
company's threshold (``access_thresholds``, default ``Settings.second_approver_threshold``) need
a second, different approver.

Identity: in the console, the signed-in OIDC user (``st.user``, via ``st.login``); with
``Settings.auth_local_identity`` (development and tests, loopback only) a fixed e-mail; on the
command line a named local operator ``local:<os user>`` (or ``--as NAME``).
"""

from __future__ import annotations

import getpass
import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from oodaloo.config import Settings

log = logging.getLogger(__name__)

ADMIN, APPROVER, PREPARER, VIEWER = "admin", "approver", "preparer", "viewer"
ROLES = (ADMIN, APPROVER, PREPARER, VIEWER)
ALL_COMPANIES = "*"
# What each role may do; a permission not listed is refused.
PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset({"view", "prepare", "approve", "admin"}),
    APPROVER: frozenset({"view", "prepare", "approve"}),
    PREPARER: frozenset({"view", "prepare"}),
    VIEWER: frozenset({"view"}),
}
IDENTITY_KEY = "signed_in_identity"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_roles (
    email TEXT NOT NULL,
    realm_id TEXT NOT NULL,          -- '*' = every company
    role TEXT NOT NULL CHECK (role IN ('admin','approver','preparer','viewer')),
    granted_by TEXT,
    granted_at REAL NOT NULL,
    PRIMARY KEY (email, realm_id)
);
CREATE TABLE IF NOT EXISTS access_thresholds (
    realm_id TEXT PRIMARY KEY,
    second_approver_threshold TEXT NOT NULL,
    set_by TEXT,
    set_at REAL NOT NULL
);
"""

# Demo users of the sandbox's OIDC provider (sandbox/oidc.py) and what the demo grants them.
DEMO_ROLES = {
    "owner@demo.local": (ADMIN, ALL_COMPANIES),
    "partner@demo.local": (APPROVER, ALL_COMPANIES),
    "analyst@demo.local": (PREPARER, ALL_COMPANIES),
    "viewer@demo.local": (VIEWER, ALL_COMPANIES),
}


class AccessDeniedError(PermissionError):
    """The identity's role does not allow this (the message says which role would)."""


AccessDenied = AccessDeniedError  # the name the pages and tests read best with


@dataclass(frozen=True)
class Identity:
    """A person (or the local operator) as recorded in the ledger and the audit."""

    email: str
    name: str = ""
    source: str = "oidc"  # oidc | local | cli

    @property
    def actor(self) -> str:
        """The text written to the intent ledger's ``actor`` and the audit."""
        return self.email

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


def cli_identity(name: str | None = None) -> Identity:
    """The command line acts as a named local operator: ``local:<os user>`` or ``--as NAME``."""
    who = name.strip() if name and name.strip() else f"local:{getpass.getuser()}"
    return Identity(email=who, name=who, source="cli")


# ---- the role store ----------------------------------------------------------------------


def _connect(settings: Settings) -> Any:
    from sync import statedb

    return statedb.connect(settings)


def _ensure(con: Any) -> None:
    con.executescript(_SCHEMA)


def normalise_email(email: str) -> str:
    text = (email or "").strip().lower()
    if not text or any(c.isspace() for c in text) or len(text) > 254:
        raise ValueError(f"not an e-mail address or operator name: {email!r}")
    return text


def grant(
    settings: Settings,
    email: str,
    role: str,
    realm_id: str = ALL_COMPANIES,
    *,
    by: str | None = None,
) -> None:
    """Give ``email`` a role in one company (or every company with ``'*'``), replacing the
    previous one there."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    if role == ADMIN and realm_id != ALL_COMPANIES:
        raise ValueError("admin is a firm role: grant it for every company ('*')")
    with _connect(settings) as con:
        _ensure(con)
        con.execute(
            "INSERT INTO access_roles(email, realm_id, role, granted_by, granted_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT(email, realm_id) DO UPDATE SET role=excluded.role, "
            "granted_by=excluded.granted_by, granted_at=excluded.granted_at",
            (normalise_email(email), realm_id, role, by, time.time()),
        )


def revoke(settings: Settings, email: str, realm_id: str = ALL_COMPANIES) -> None:
    with _connect(settings) as con:
        _ensure(con)
        con.execute(
            "DELETE FROM access_roles WHERE email=? AND realm_id=?",
            (normalise_email(email), realm_id),
        )


def grants(settings: Settings) -> list[dict[str, Any]]:
    """Every role row (for the Settings page and ``oodaloo access list``)."""
    with _connect(settings) as con:
        _ensure(con)
        rows = con.execute(
            "SELECT email, realm_id, role, granted_by FROM access_roles ORDER BY email, realm_id"
        ).fetchall()
    return [{"email": r[0], "realm_id": r[1], "role": r[2], "granted_by": r[3]} for r in rows]


def _config_admins(settings: Settings) -> set[str]:
    return {e.strip().lower() for e in settings.auth_admins.split(",") if e.strip()}


def role_for(settings: Settings, email: str, realm_id: str | None) -> str | None:
    """The identity's role in a company (None: no access at all). A firm admin is admin
    everywhere; a company's own row wins over the every-company row."""
    who = (email or "").strip().lower()
    if not who:
        return None
    if who in _config_admins(settings):
        return ADMIN
    with _connect(settings) as con:
        _ensure(con)
        rows = dict(
            con.execute(
                "SELECT realm_id, role FROM access_roles WHERE email=? AND realm_id IN (?, ?)",
                (who, ALL_COMPANIES, realm_id or ALL_COMPANIES),
            ).fetchall()
        )
    if rows.get(ALL_COMPANIES) == ADMIN:
        return ADMIN
    if realm_id is not None and realm_id in rows:
        return str(rows[realm_id])
    return rows.get(ALL_COMPANIES)


def has_any_role(settings: Settings, email: str) -> bool:
    """Signed in is not enough: a person needs a role somewhere (any Google account can sign in
    when the provider is Google)."""
    who = (email or "").strip().lower()
    if who in _config_admins(settings):
        return True
    with _connect(settings) as con:
        _ensure(con)
        return (
            con.execute("SELECT 1 FROM access_roles WHERE email=? LIMIT 1", (who,)).fetchone()
            is not None
        )


def is_admin(settings: Settings, identity: Identity | None) -> bool:
    return identity is not None and role_for(settings, identity.email, None) == ADMIN


def can(
    settings: Settings, identity: Identity | None, permission: str, realm_id: str | None
) -> bool:
    """True when the identity's role in the company allows ``permission``
    (view | prepare | approve | admin). The CLI's local operator may do everything: whoever runs
    it already holds the data folder and the key."""
    if identity is None:
        return False
    if identity.source == "cli":
        return True
    role = role_for(settings, identity.email, realm_id)
    return role is not None and permission in PERMISSIONS[role]


def require(
    settings: Settings, identity: Identity | None, permission: str, realm_id: str | None
) -> None:
    """Raise AccessDenied unless ``can``; the message names the role that would be needed."""
    if can(settings, identity, permission, realm_id):
        return
    who = "an anonymous visitor" if identity is None else identity.email
    needed = {
        "view": "a viewer",
        "prepare": "a preparer or approver",
        "approve": "an approver",
        "admin": "a firm admin",
    }.get(permission, permission)
    where = f" in company {realm_id}" if realm_id else ""
    raise AccessDeniedError(f"{who} may not {permission}{where}: it takes {needed}")


def seed_demo_roles(settings: Settings) -> None:
    """The demo firm's people (see sandbox/oidc.py for their passwords)."""
    for email, (role, realm) in DEMO_ROLES.items():
        if role_for(settings, email, None) is None:
            grant(settings, email, role, realm, by="demo")


# ---- the second-approver threshold ---------------------------------------------------------


def parse_amount(text: Any, what: str = "amount") -> Decimal:
    """A finite, non-negative amount of money, or ValueError naming what is wrong."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{what} must be a finite number, got {text!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {text!r}")
    if value > Decimal("1e12"):
        raise ValueError(f"{what} is implausibly large: {text!r}")
    return value.quantize(Decimal("0.01"))


def threshold(settings: Settings, realm_id: str) -> Decimal:
    """Above this total of payments an approval needs a second, different approver."""
    with _connect(settings) as con:
        _ensure(con)
        row = con.execute(
            "SELECT second_approver_threshold FROM access_thresholds WHERE realm_id=?", (realm_id,)
        ).fetchone()
    return Decimal(row[0]) if row else Decimal(settings.second_approver_threshold)


def set_threshold(
    settings: Settings, realm_id: str, amount: Any, *, by: str | None = None
) -> Decimal:
    value = parse_amount(amount, "second-approver threshold")
    with _connect(settings) as con:
        _ensure(con)
        con.execute(
            "INSERT INTO access_thresholds(realm_id, second_approver_threshold, set_by, set_at) "
            "VALUES (?,?,?,?) ON CONFLICT(realm_id) DO UPDATE SET "
            "second_approver_threshold=excluded.second_approver_threshold, set_by=excluded.set_by, "
            "set_at=excluded.set_at",
            (realm_id, str(value), by, time.time()),
        )
    return value


def approvers_needed(settings: Settings, realm_id: str, cash_out: Decimal) -> int:
    """1, or 2 distinct approvers when the payments exceed the company's threshold."""
    return 2 if cash_out > threshold(settings, realm_id) else 1


# ---- errors: an id for the visitor, the details in the log --------------------------------


def error_reference(exc: BaseException, what: str) -> str:
    """Log the full error under a fresh id and return the id: visitors see the id only."""
    ref = "E-" + secrets.token_hex(4).upper()
    log.error("error %s while %s", ref, what, exc_info=(type(exc), exc, exc.__traceback__))
    return ref


# ---- where the console may serve -----------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """True for loopback names and addresses (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_of(header: str | None) -> str:
    """The host part of a Host header (``127.0.0.1:8501`` -> ``127.0.0.1``; IPv6 in brackets)."""
    text = (header or "").strip()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def serving_problem(
    settings: Settings, server_address: str | None, host_header: str | None, client_ip: str | None
) -> str | None:
    """Why this request must not be served (None: fine).

    * The console serves loopback only unless ``bind_address`` names another address, so a
      ``streamlit run`` started outside the repo folder (no config.toml: every interface) still
      exposes nothing.
    * The Host header must be loopback or the configured address (DNS rebinding: a foreign site
      resolving its name to 127.0.0.1 gets nothing)."""
    open_to = settings.bind_address.strip()
    if is_loopback(open_to):
        # ``server_address`` may be unset (every interface): the visitor's address decides.
        if client_ip is not None and not is_loopback(client_ip):
            return (
                "This console only serves this computer. To open it to a network, set "
                "OODALOO_BIND_ADDRESS (every visitor then signs in)."
            )
        allowed = LOOPBACK_NAMES
    else:
        allowed = LOOPBACK_NAMES | {open_to.lower()}
    host = host_of(host_header).lower()
    if host_header is not None and host not in allowed and not is_loopback(host):
        return "This address is not one the console answers on."
    return None


def local_identity_allowed(settings: Settings) -> bool:
    """The fixed development identity only works while the console serves loopback only."""
    return bool(settings.auth_local_identity) and is_loopback(settings.bind_address)


# ---- the Streamlit gate --------------------------------------------------------------------


def _auth_configured() -> bool:
    import streamlit as st

    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all
        return False


def sign_in_gate(settings: Settings) -> Identity:
    """Call first in app.py: refuse foreign hosts and addresses, then return the signed-in
    identity, or show only the sign-in page and stop the script."""
    import streamlit as st

    from oodaloo.config import private_umask, secure_data_dir

    private_umask()
    secure_data_dir(settings)
    context = st.context
    problem = serving_problem(
        settings,
        st.get_option("server.address"),
        _text(context.headers.get("host") if context.headers else None),
        _text(getattr(context, "ip_address", None)),
    )
    if problem is not None:
        _only_page(lambda: st.error(problem), "Not available")
    identity: Identity | None = None
    if local_identity_allowed(settings):
        email = normalise_email(str(settings.auth_local_identity))
        identity = Identity(email=email, name=email, source="local")
    elif getattr(st.user, "is_logged_in", False):
        email = str(st.user.get("email") or st.user.get("sub") or "")
        if email:
            identity = Identity(
                email=email.lower(), name=str(st.user.get("name") or email), source="oidc"
            )
    if identity is None:
        _only_page(lambda: _sign_in_page(settings), "Sign in")
    st.session_state[IDENTITY_KEY] = identity
    if not has_any_role(settings, identity.email):
        _only_page(lambda: _no_access_page(identity), "No access")
    if settings.key_inside_data_dir:
        st.warning(
            "Demo mode: the encryption key is kept inside the data folder, so a copy of that "
            "folder decrypts the QuickBooks tokens."
        )
    return identity


def _text(value: Any) -> str | None:
    """A header or address as text; anything else (no request behind the run) as unknown."""
    return value if isinstance(value, str) else None


def _only_page(render: Any, title: str) -> NoReturn:
    """Make ``render`` the one and only page of this session, then stop: no other page is in
    the navigation, so none can be reached, even by URL or the pages/ folder."""
    import streamlit as st

    def page() -> None:
        render()

    st.navigation(
        [st.Page(page, title=title, url_path="signin", default=True)], position="hidden"
    ).run()
    st.stop()


def _no_access_page(identity: Identity) -> None:
    import streamlit as st

    st.title("Oodaloo")
    from oodaloo.present import escape_markdown

    st.warning(
        f"You are signed in as {escape_markdown(identity.email)}, but no role is given to you "
        "here. "
        "A firm admin can give you one (oodaloo access grant)."
    )
    if identity.source == "oidc":
        st.button("Sign out", key="sign_out_no_access", on_click=st.logout)


def _sign_in_page(settings: Settings) -> None:
    import streamlit as st

    st.title("Oodaloo")
    st.header("Sign in")  # H2 under the title: no level skipped
    st.write("The cash console is for the firm's people only.")
    if _auth_configured():
        st.button(
            "Sign in",
            key="sign_in",
            type="primary",
            on_click=st.login,
            args=(settings.auth_provider,) if settings.auth_provider else (),
        )
    else:
        st.info(
            "Sign-in is not configured: add an [auth] section (an OpenID Connect provider) to "
            ".streamlit/secrets.toml. `make run` writes one for the demo provider."
        )


def current_identity() -> Identity | None:
    """The identity the gate admitted for this session (None outside the console)."""
    try:
        import streamlit as st

        found = st.session_state.get(IDENTITY_KEY)
    except Exception:
        return None
    return found if isinstance(found, Identity) else None


def may(permission: str, realm_id: str | None) -> bool:
    """For pages: does the signed-in person have ``permission`` in this company?"""
    from oodaloo.config import load_settings

    return can(load_settings(), current_identity(), permission, realm_id)


def admin_only() -> None:
    """For admin pages (Settings, connections): others see one sentence and nothing else."""
    import streamlit as st

    if not may("admin", None):
        st.title("Settings")
        st.info("Settings and QuickBooks connections are for firm admins.")
        st.stop()


def sign_out_button() -> None:
    """The signed-in person and a sign-out button, for the sidebar."""
    import streamlit as st

    identity = current_identity()
    if identity is None:
        return
    st.caption(f"Signed in as {identity}")
    if identity.source == "oidc":
        st.button("Sign out", key="sign_out", on_click=st.logout)


def oauth_session() -> str | None:
    """What binds a QuickBooks connect ``state`` to this browser: the signed-in identity (its
    sign-in cookie survives the redirect, which opens a new Streamlit session)."""
    identity = current_identity()
    return None if identity is None else session_key(identity)


def session_key(identity: Identity) -> str:
    """The binding text of an identity (``oidc:ana@firm.example``, ``local:...``)."""
    return f"{identity.source}:{identity.email}"
