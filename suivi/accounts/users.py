"""Local accounts: who may read, load and roll back, with argon2 password hashes.

Roles are ordered lecteur < contributeur < administrateur; a role grants everything the roles
below it grant. Passwords are hashed with argon2id (argon2-cffi) and never stored, printed or
logged in clear. Failed logins are logged and rate-limited per user name (MAX_FAILURES within
WINDOW_SECONDS), and the log lives in the same file, so restarting the app resets nothing.

Accounts live in a small SQLite file next to the database (`<base>.comptes.sqlite3`, or
$SUIVI_USERS_DB), not in the DuckDB file, because:
- DuckDB lets one process write a file at a time, and a long CLI load holds it for minutes:
  a login, which must write its event and failure count, would then wait or fail. SQLite takes
  many short writes from several processes (its own locking, busy timeout).
- Restoring the data from a backup must not bring back a removed account or an old password
  (a security regression); with separate files, a restore touches accounts only on request.
- The data file is copied, exported and may be handed to partners (reading is public by
  default); password hashes have no business travelling with it.
The file is created readable by its owner only (0600).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from suivi.core.config import accounts_path

ROLES = ("lecteur", "contributeur", "administrateur")
RANK = {role: i for i, role in enumerate(ROLES)}
MAX_FAILURES = 5
WINDOW_SECONDS = 300
MIN_PASSWORD = 10
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

log = logging.getLogger("suivi.auth")
# argon2-cffi's defaults (RFC 9106 low-memory profile) in use; the test suite sets
# SUIVI_ARGON2_TEST=1 (tests/conftest.py) to hash at the lowest cost, so that its hundreds of
# logins do not spend minutes hashing. Hashes carry their parameters: either verifies both.
_hasher = (PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
           if os.environ.get("SUIVI_ARGON2_TEST") == "1" else PasswordHasher())


@functools.cache
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so that a wrong name costs as long as a wrong
    password. Made on the first login rather than at import: one hash at the default cost
    is 0.1 s, which every page's first run in a new process paid."""
    return _hasher.hash("compte-inexistant-" + os.urandom(8).hex())

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS user_account (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('lecteur', 'contributeur', 'administrateur')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    # One row per login attempt or account change; never a password, only the outcome.
    """CREATE TABLE IF NOT EXISTS login_event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        user_name TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT,
        origin TEXT)""",
    "CREATE INDEX IF NOT EXISTS login_event_user ON login_event (user_name, at)",
    # Logins kept across page reloads: only a hash of the random token the browser holds
    # (a stolen copy of this file opens no session), its account and its expiry.
    """CREATE TABLE IF NOT EXISTS web_session (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL)""",
    # The server's secret that signs session cookies, generated on first use.
    """CREATE TABLE IF NOT EXISTS server_secret (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
]

# Outcomes: a success or an unlock starts a new count of failures.
SUCCESS, FAILURE, BLOCKED, UNLOCKED = "succes", "echec", "bloque", "deverrouille"


class AccountError(Exception):
    """An account operation was refused; the message is French and shown as is."""


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    name: str
    role: str | None
    message: str


@contextmanager
def accounts(db=None):
    """A short SQLite connection to the accounts file, created (0600) with its tables."""
    path = accounts_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    con = sqlite3.connect(path, timeout=15, isolation_level=None)
    try:
        for stmt in SCHEMA:
            con.execute(stmt)
        yield con
    finally:
        con.close()


def normalise_name(name: str) -> str:
    return str(name or "").strip().lower()


def _valid_name(name: str) -> str:
    name = normalise_name(name)
    if not NAME_RE.match(name):
        raise AccountError(
            f"Identifiant « {name} » refusé : 2 à 64 caractères parmi lettres minuscules sans "
            "accent, chiffres, « . », « _ », « - » et « @ » (par exemple prenom.nom)."
        )
    return name


def _valid_role(role: str) -> str:
    role = normalise_name(role)
    if role not in RANK:
        raise AccountError(f"Rôle « {role} » inconnu : choisissez {', '.join(ROLES)}.")
    return role


def check_password(password: str, name: str) -> None:
    """Refuse passwords that are short or trivially guessable from the account name."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mot de passe trop court : {MIN_PASSWORD} caractères au moins.")
    if normalise_name(password) == normalise_name(name) or len(set(password)) < 4:
        raise AccountError("Mot de passe trop simple : n'utilisez ni l'identifiant ni une "
                           "répétition de caractères.")


def check_role(role: str | None, required: str) -> bool:
    """Whether a user holding `role` (None: anonymous) may do what `required` allows."""
    if role not in RANK:
        return False
    return RANK[role] >= RANK[_valid_role(required)]


def _now_text() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _event(con, name: str, outcome: str, detail: str | None = None, origin: str | None = None,
           at: float | None = None) -> None:
    con.execute("INSERT INTO login_event (at, user_name, outcome, detail, origin) "
                "VALUES (?, ?, ?, ?, ?)", [at if at is not None else time.time(), name,
                                           outcome, detail, origin])


def add_user(name: str, password: str, role: str, db=None, by: str | None = None) -> str:
    name, role = _valid_name(name), _valid_role(role)
    check_password(password, name)
    digest = _hasher.hash(password)
    with accounts(db) as con:
        try:
            con.execute("INSERT INTO user_account VALUES (?, ?, ?, ?, ?)",
                        [name, role, digest, _now_text(), _now_text()])
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"Le compte « {name} » existe déjà : utilisez « users passwd » "
                               "pour changer son mot de passe.") from exc
        _event(con, name, "compte_cree", f"rôle {role}", by)
    return name


def _require_account(con, name: str) -> None:
    if con.execute("SELECT 1 FROM user_account WHERE name = ?", [name]).fetchone() is None:
        raise AccountError(f"Le compte « {name} » n'existe pas (voir « python -m etl users "
                           "list »).")


def set_password(name: str, password: str, db=None, by: str | None = None) -> None:
    name = normalise_name(name)
    check_password(password, name)
    digest = _hasher.hash(password)
    with accounts(db) as con:
        _require_account(con, name)
        con.execute("UPDATE user_account SET password_hash = ?, updated_at = ? WHERE name = ?",
                    [digest, _now_text(), name])
        con.execute("DELETE FROM web_session WHERE user_name = ?", [name])
        _event(con, name, "mot_de_passe_change", None, by)


def set_role(name: str, role: str, db=None, by: str | None = None) -> None:
    name, role = normalise_name(name), _valid_role(role)
    with accounts(db) as con:
        _require_account(con, name)
        con.execute("UPDATE user_account SET role = ?, updated_at = ? WHERE name = ?",
                    [role, _now_text(), name])
        _event(con, name, "role_change", f"rôle {role}", by)


def remove_user(name: str, db=None, by: str | None = None) -> None:
    name = normalise_name(name)
    with accounts(db) as con:
        _require_account(con, name)
        con.execute("DELETE FROM user_account WHERE name = ?", [name])
        con.execute("DELETE FROM web_session WHERE user_name = ?", [name])
        _event(con, name, "compte_supprime", None, by)


def unlock(name: str, db=None, by: str | None = None) -> None:
    """Let a user blocked by failed logins try again at once."""
    with accounts(db) as con:
        _event(con, normalise_name(name), UNLOCKED, None, by)


def get_role(name: str | None, db=None) -> str | None:
    """Current role of an account, read from the file (None: no such account)."""
    if not name:
        return None
    with accounts(db) as con:
        row = con.execute("SELECT role FROM user_account WHERE name = ?",
                          [normalise_name(name)]).fetchone()
    return row[0] if row else None


def _recent_failures(con, name: str, now: float) -> list[float]:
    """Failure times inside the window and after the last success or unlock."""
    since = con.execute(
        "SELECT coalesce(max(at), 0) FROM login_event WHERE user_name = ? AND outcome IN (?, ?)",
        [name, SUCCESS, UNLOCKED]).fetchone()[0]
    rows = con.execute(
        "SELECT at FROM login_event WHERE user_name = ? AND outcome = ? AND at > ? AND at > ? "
        "ORDER BY at", [name, FAILURE, since, now - WINDOW_SECONDS]).fetchall()
    return [r[0] for r in rows]


def list_users(db=None) -> list[dict]:
    """Accounts without their hashes, with last login and whether they are blocked now."""
    now = time.time()
    with accounts(db) as con:
        rows = con.execute(
            "SELECT a.name, a.role, a.created_at, a.updated_at, "
            "(SELECT max(at) FROM login_event e WHERE e.user_name = a.name AND e.outcome = ?) "
            "FROM user_account a ORDER BY a.name", [SUCCESS]).fetchall()
        out = []
        for name, role, created, updated, last in rows:
            out.append({"nom": name, "role": role, "cree_le": created, "modifie_le": updated,
                        "derniere_connexion": datetime.fromtimestamp(last).isoformat(
                            timespec="seconds") if last else None,
                        "bloque": len(_recent_failures(con, name, now)) >= MAX_FAILURES})
    return out


def events(db=None, limit: int = 100) -> list[dict]:
    with accounts(db) as con:
        rows = con.execute("SELECT at, user_name, outcome, detail, origin FROM login_event "
                           "ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    return [{"date": datetime.fromtimestamp(at).isoformat(timespec="seconds"), "nom": name,
             "evenement": outcome, "detail": detail, "origine": origin}
            for at, name, outcome, detail, origin in rows]


def authenticate(name: str, password: str, db=None, origin: str = "app",
                 now: float | None = None) -> LoginResult:
    """Check a login; every attempt is logged, and a name with too many recent failures is
    refused without even looking at the password.

    The check and the event are written in one IMMEDIATE transaction, so parallel attempts
    cannot slip past the counter.
    """
    name = normalise_name(name)[:64]
    now = time.time() if now is None else now
    generic = "Identifiant ou mot de passe incorrect."
    if not name or not password:
        return LoginResult(False, name, None, "Saisissez votre identifiant et votre mot de passe.")
    with accounts(db) as con:
        con.execute("BEGIN IMMEDIATE")
        try:
            failures = _recent_failures(con, name, now)
            if len(failures) >= MAX_FAILURES:
                wait = max(1, int(failures[0] + WINDOW_SECONDS - now + 59) // 60)
                _event(con, name, BLOCKED, "trop d'échecs récents", origin, now)
                con.execute("COMMIT")
                log.warning("connexion refusée (compte bloqué) : %s", name)
                return LoginResult(False, name, None,
                                   f"Trop de tentatives échouées pour « {name} » : réessayez "
                                   f"dans {wait} minute(s), ou demandez à un administrateur de "
                                   "débloquer le compte.")
            row = con.execute("SELECT role, password_hash FROM user_account WHERE name = ?",
                              [name]).fetchone()
            try:
                _hasher.verify(row[1] if row else _dummy_hash(), password)
                ok = row is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            if not ok:
                detail = "mot de passe incorrect" if row else "compte inconnu"
                _event(con, name, FAILURE, detail, origin, now)
                con.execute("COMMIT")
                log.warning("échec de connexion : %s (%s)", name, detail)
                left = MAX_FAILURES - len(failures) - 1
                more = (f" Encore {left} essai(s) avant un blocage de "
                        f"{WINDOW_SECONDS // 60} minutes.") if left > 0 else (
                    f" Compte bloqué {WINDOW_SECONDS // 60} minutes.")
                return LoginResult(False, name, None, generic + more)
            if _hasher.check_needs_rehash(row[1]):
                con.execute("UPDATE user_account SET password_hash = ? WHERE name = ?",
                            [_hasher.hash(password), name])
            _event(con, name, SUCCESS, None, origin, now)
            con.execute("COMMIT")
            log.info("connexion : %s (%s)", name, row[0])
            return LoginResult(True, name, row[0], f"Connecté : {name} ({row[0]}).")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise


# --- Logins that survive a page reload ----------------------------------------------------------
#
# After a login in the app, the browser keeps a cookie « <token>.<signature> »: a random token
# (never the password, nothing derived from it) signed with HMAC-SHA256 under a secret that
# never leaves the server. The server keeps only a hash of the token with the account and the
# expiry, so a logout, a password change or the removal of the account ends it at once.

SESSION_HOURS_DEFAULT = 12.0


def session_hours() -> float:
    """How long a login lasts across reloads: $SUIVI_SESSION_HOURS (hours, default 12;
    0 keeps a login to the open tab only)."""
    raw = os.environ.get("SUIVI_SESSION_HOURS", "").strip().replace(",", ".")
    try:
        return max(0.0, float(raw)) if raw else SESSION_HOURS_DEFAULT
    except ValueError:
        log.warning("SUIVI_SESSION_HOURS illisible (%r) : %s h", raw, SESSION_HOURS_DEFAULT)
        return SESSION_HOURS_DEFAULT


def _secret(con) -> bytes:
    row = con.execute("SELECT value FROM server_secret WHERE name = 'session'").fetchone()
    if row is None:
        con.execute("INSERT OR IGNORE INTO server_secret VALUES ('session', ?)",
                    [secrets.token_hex(32)])
        row = con.execute("SELECT value FROM server_secret WHERE name = 'session'").fetchone()
    return bytes.fromhex(row[0])


def _signature(secret: bytes, token: str) -> str:
    mac = hmac.new(secret, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(token: str, db=None) -> str:
    """The cookie value for a token: « token.signature »."""
    with accounts(db) as con:
        return f"{token}.{_signature(_secret(con), token)}"


def open_session(name: str, db=None, hours: float | None = None,
                 now: float | None = None) -> tuple[str, float]:
    """A new session for an account that just logged in: (cookie value, expiry time)."""
    name = normalise_name(name)
    now = time.time() if now is None else now
    hours = session_hours() if hours is None else hours
    token = secrets.token_urlsafe(32)
    expires = now + hours * 3600
    with accounts(db) as con:
        con.execute("DELETE FROM web_session WHERE expires_at < ?", [now])
        con.execute("INSERT INTO web_session VALUES (?, ?, ?, ?)",
                    [_hash(token), name, now, expires])
        return f"{token}.{_signature(_secret(con), token)}", expires


def session_user(cookie: str | None, db=None, now: float | None = None) -> str | None:
    """The account a session cookie belongs to, or None when the cookie is missing, forged,
    expired, ended by a logout or its account is gone."""
    if not cookie or not isinstance(cookie, str) or cookie.count(".") != 1 or len(cookie) > 200:
        return None
    token, signature = cookie.split(".")
    now = time.time() if now is None else now
    with accounts(db) as con:
        if not hmac.compare_digest(signature, _signature(_secret(con), token)):
            log.warning("cookie de session refusé : signature invalide")
            return None
        row = con.execute(
            "SELECT s.user_name FROM web_session s JOIN user_account a ON a.name = s.user_name "
            "WHERE s.token_hash = ? AND s.expires_at > ?", [_hash(token), now]).fetchone()
    return row[0] if row else None


def close_session(cookie: str | None, db=None) -> None:
    """End a session (logout): its cookie opens nothing any more, even if kept."""
    if cookie and cookie.count(".") == 1:
        with accounts(db) as con:
            con.execute("DELETE FROM web_session WHERE token_hash = ?",
                        [_hash(cookie.split(".")[0])])
