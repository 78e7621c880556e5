"""Who is using the app and what they may do, checked on the server on every script run.

Roles: lecteur (browse) < contributeur (check and load files) < administrateur (roll back,
manage accounts). Whether reading needs a login is a setting: $SUIVI_LOGIN_REQUIRED=1, or
`lecture_publique = false` in the `[auth]` section of .streamlit/secrets.toml (the environment
variable wins); by default reading is public.

Two ways to log in:
- local accounts (suivi/accounts/users.py, managed with `python -m etl users ...`): a login form in the
  sidebar; the session keeps only the user name (server-side st.session_state, under a key no
  widget uses) and the role is read again from the accounts file on every run, so removing an
  account or lowering a role takes effect at the next click. The login survives a page reload
  for $SUIVI_SESSION_HOURS hours (default 12) through a cookie holding a random token signed by
  the server (users.open_session): checked on the server on every run, ended by a logout, a
  password change or the removal of the account; never the password;
- OpenID Connect, when a provider is configured in `[auth]` (client_id / server_metadata_url,
  directly or in an `[auth.<name>]` section): st.login / st.user, and roles come from e-mail
  lists in `[auth.roles]` (administrateurs, contributeurs, optionally lecteurs; an entry
  "@ville.fr" matches a whole domain). Without a `lecteurs` list any identified person reads.

Pages are never trusted to hide themselves: app.py registers the Import page only for
contributors, guards it again before running it, and the page calls `require()` before every
write (load, rollback).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from suivi.accounts import users
from suivi.accounts.users import RANK, ROLES, check_role

SESSION_KEY = "_suivi_auth"  # written only here, never a widget key
COOKIE = "suivi_session"
_COOKIE_OUT = "_suivi_cookie_out"  # a cookie to set or delete in the browser at the next run
PROVIDER_KEYS = ("client_id", "server_metadata_url")
ACTIONS = {
    "lecteur": "la consultation du tableau de bord",
    "contributeur": "l'import de fichiers (contrôle et chargement des valeurs)",
    "administrateur": "l'annulation de lots et la gestion des comptes",
}
# Pages that need more than reading, by url_path: app.py refuses to run them otherwise.
PROTECTED_PAGES = {"import": "contributeur"}
__all__ = ["ROLES", "RANK", "User", "can", "check_role", "current_user", "require", "deny",
           "sidebar", "login_required", "user_name"]


@dataclass(frozen=True)
class User:
    name: str
    role: str | None  # None: identified by the OIDC provider but given no role
    via: str          # "local" or "oidc"


# --- settings ---------------------------------------------------------------------------

def _auth_section() -> Mapping:
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - an unreadable secrets file means "no settings"
        return {}
    return section if isinstance(section, Mapping) else {}


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "oui", "yes", "vrai")


def login_required() -> bool:
    """Whether reading needs a login (default: no, reading is public)."""
    env = os.environ.get("SUIVI_LOGIN_REQUIRED", "").strip().lower()
    if env:
        return _truthy(env)
    public = _auth_section().get("lecture_publique")
    return public is not None and not _truthy(public)


def oidc_provider() -> tuple[bool, str | None]:
    """(configured, provider name for st.login: None for the unnamed default provider)."""
    auth = _auth_section()
    if any(k in auth for k in PROVIDER_KEYS):
        return True, None
    for key, value in auth.items():
        if isinstance(value, Mapping) and any(k in value for k in PROVIDER_KEYS):
            return True, key
    return False, None


def role_for_email(email: str, verified: bool = True) -> str | None:
    """Role of an OIDC identity from the e-mail lists of `[auth.roles]`."""
    roles = _auth_section().get("roles") or {}
    email = (email or "").strip().lower()

    def listed(key: str) -> bool:
        for entry in roles.get(key) or []:
            entry = str(entry).strip().lower()
            if entry and (email == entry or entry.startswith("@") and email.endswith(entry)):
                return True
        return False

    if email and verified and listed("administrateurs"):
        return "administrateur"
    if email and verified and listed("contributeurs"):
        return "contributeur"
    if not roles.get("lecteurs") or listed("lecteurs"):
        return "lecteur"
    return None


# --- who is there -------------------------------------------------------------------------

def _oidc_user() -> User | None:
    if not st.user.get("is_logged_in", False):
        return None
    email = str(st.user.get("email") or "")
    verified = st.user.get("email_verified") is not False
    return User(email or str(st.user.get("name") or "inconnu"), role_for_email(email, verified),
                "oidc")


def current_user() -> User | None:
    """The logged-in user with the role read now (not the one cached at login)."""
    if oidc_provider()[0]:
        return _oidc_user()
    state = st.session_state.get(SESSION_KEY)
    if not isinstance(state, dict):
        state = _from_cookie()
        if state is None:
            return None
    if state.get("cookie"):  # checked on the server on every run: logout, expiry, revocation
        if users.session_user(state["cookie"]) != state.get("name"):
            del st.session_state[SESSION_KEY]
            return None
    elif time.time() - state.get("since", 0) > users.SESSION_HOURS_DEFAULT * 3600:
        del st.session_state[SESSION_KEY]
        return None
    role = users.get_role(state.get("name"))
    if role is None:  # account removed since the login
        del st.session_state[SESSION_KEY]
        return None
    return User(state["name"], role, "local")


def user_name() -> str | None:
    """Name to record in the batch log for a load or rollback done in the app."""
    user = current_user()
    return user.name if user else None


def can(role: str, user: User | None = None) -> bool:
    """Whether the current session may do what `role` allows (no message shown)."""
    if role == "lecteur" and not login_required():
        return True  # public reading: anyone, identified or not
    user = user if user is not None else current_user()
    return check_role(user.role if user else None, role)


def deny(role: str) -> None:
    """The access-denied message for an action that needs `role`."""
    user = current_user()
    action = ACTIONS.get(role, "cette action")
    allowed = " ou ".join(f"« {r} »" for r in ROLES[RANK[role]:])
    if user is None:
        st.error(f"Accès refusé : {action} nécessite un compte {allowed}. Connectez-vous dans "
                 "la barre latérale (rubrique « Connexion »).", icon="🔒")
    else:
        st.error(f"Accès refusé : votre compte « {user.name} » ({user.role or 'sans rôle'}) ne "
                 f"permet pas {action}, qui nécessite un compte {allowed}. Demandez à un "
                 "administrateur de l'observatoire.", icon="🔒")


def require(role: str) -> bool:
    """Check `role` server-side now; show the refusal and return False when not allowed.

    Call it at the top of a protected page (`if not auth.require("contributeur"): st.stop()`)
    and again right before each write (`if auth.require("administrateur"): rollback(...)`).
    """
    if can(role):
        return True
    deny(role)
    return False


def page_allowed(url_path: str) -> bool:
    return can(PROTECTED_PAGES.get(url_path, "lecteur"))


# --- login and logout -------------------------------------------------------------------

def _login_form(container, prefix: str) -> None:
    with container.form(f"{prefix}_form", clear_on_submit=True):
        name = st.text_input("Identifiant", key=f"{prefix}_name", autocomplete="username")
        password = st.text_input("Mot de passe", type="password", key=f"{prefix}_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Se connecter")
    if submitted:
        result = users.authenticate(name, password, origin="app")
        if result.ok:
            state = {"name": result.name, "since": time.time(), "cookie": None}
            hours = users.session_hours()
            if hours > 0:
                state["cookie"], _ = users.open_session(result.name, hours=hours)
                st.session_state[_COOKIE_OUT] = (state["cookie"], int(hours * 3600))
            st.session_state[SESSION_KEY] = state
            st.rerun()
        container.error(result.message, icon="🔒")


def _oidc_login(provider: str | None) -> None:
    if provider:
        st.login(provider)
    else:
        st.login()


def logout() -> None:
    """End the session here and on the server; the browser forgets its cookie at the next
    run (a kept copy opens nothing any more)."""
    state = st.session_state.pop(SESSION_KEY, None)
    for cookie in {(state or {}).get("cookie"), _browser_cookie()}:
        users.close_session(cookie)
    st.session_state[_COOKIE_OUT] = ("", 0)


def _browser_cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser request behind this run (tests, scripts)
        return None


def _from_cookie() -> dict | None:
    """A login restored from the session cookie the browser sent when the page was opened."""
    if oidc_provider()[0]:
        return None
    cookie = _browser_cookie()
    name = users.session_user(cookie) if cookie else None
    if name is None:
        return None
    state = {"name": name, "since": time.time(), "cookie": cookie}
    st.session_state[SESSION_KEY] = state
    return state


def sync_cookie() -> None:
    """Set or delete the session cookie in the browser after a login or a logout.

    Streamlit reads cookies (st.context.cookies) but cannot set them: a one-line script does,
    once, at the run after the login. The value is ours (token.signature, URL-safe), quoted as
    a JavaScript string; SameSite=Strict, and Secure over HTTPS.
    """
    out = st.session_state.pop(_COOKIE_OUT, None)
    if out is None:
        return
    value, max_age = out
    cookie = json.dumps(f"{COOKIE}={value}; Max-Age={max_age}; Path=/; SameSite=Strict")
    st.html(f"<script>document.cookie = {cookie} + (location.protocol === 'https:' ? "
            "'; Secure' : '');</script>", unsafe_allow_javascript=True)


def sidebar() -> None:
    """The account box at the bottom of the sidebar: who is connected, log in or out."""
    user = current_user()
    oidc, provider = oidc_provider()
    box = st.sidebar.container()
    if user is not None:
        box.caption(f"🔓 Connecté : **{user.name}** ({user.role or 'sans rôle'})")
        if box.button("Se déconnecter", key="auth_logout"):
            if user.via == "oidc":
                st.logout()
            logout()
            st.rerun()
        return
    if oidc:
        if box.button("🔐 Se connecter", key="auth_oidc_login"):
            _oidc_login(provider)
        return
    with box.expander("🔐 Connexion", expanded=False):
        _login_form(st, "auth_sidebar")


def login_page() -> None:
    """What an anonymous visitor sees when reading requires a login: nothing but this."""
    st.title("Suivi QPV : connexion")
    st.info("La consultation du suivi des contrats de ville est réservée aux personnes "
            "disposant d'un compte. Connectez-vous pour continuer.", icon="🔒")
    oidc, provider = oidc_provider()
    user = current_user()
    if user is not None:  # identified by the provider, but on no list of [auth.roles]
        st.error(f"Votre compte « {user.name} » n'a pas accès au suivi : demandez à un "
                 "administrateur de l'observatoire de l'ajouter.", icon="🔒")
        if st.button("Se déconnecter", key="auth_logout_main"):
            st.logout()
        return
    if oidc:
        if st.button("Se connecter", key="auth_oidc_main"):
            _oidc_login(provider)
        return
    _login_form(st, "auth_main")


def denied_page(role: str, title: str, url_path: str):
    """A hidden page registered in place of a protected one, so that a crafted URL
    (/import) lands on the refusal instead of the protected script."""
    def refused() -> None:
        st.title(title)
        deny(role)

    refused.__name__ = f"acces_refuse_{url_path.replace('-', '_')}"
    return st.Page(refused, title=title, url_path=url_path, visibility="hidden")


