"""Logins that survive a reload (suivi/accounts/users.py): the cookie is a random token signed
by the server, only its hash is stored, and it is refused once forged, expired, logged out,
or when the password changes or the account goes."""

from __future__ import annotations

import sqlite3
import time

from suivi.accounts import users
from suivi.core.config import accounts_path

PASSWORD = "lecture-seule-2026"


def test_a_session_cookie_opens_its_account_until_logout(tmp_path, monkeypatch):
    db = tmp_path / "suivi.duckdb"
    users.add_user("lea", PASSWORD, "lecteur", db)
    cookie, expires = users.open_session("lea", db, hours=2)
    assert expires > time.time() + 7000
    assert users.session_user(cookie, db) == "lea"
    assert PASSWORD not in cookie
    token = cookie.split(".")[0]
    with sqlite3.connect(accounts_path(db)) as con:
        stored = con.execute("SELECT token_hash, user_name FROM web_session").fetchall()
    assert len(stored) == 1 and stored[0][1] == "lea" and token not in stored[0][0]

    users.close_session(cookie, db)  # logout
    assert users.session_user(cookie, db) is None


def test_forged_expired_and_revoked_cookies_are_refused(tmp_path):
    db = tmp_path / "suivi.duckdb"
    users.add_user("lea", PASSWORD, "lecteur", db)
    cookie, _ = users.open_session("lea", db, hours=1)
    token, signature = cookie.split(".")
    assert users.session_user(f"{token}.{signature[:-2]}xx", db) is None  # forged signature
    assert users.session_user(token, db) is None                          # unsigned
    assert users.session_user(users.sign("invente", db), db) is None      # signed, never issued
    assert users.session_user(None, db) is None
    # Expired: issued 3 hours ago for 1 hour.
    old, _ = users.open_session("lea", db, hours=1, now=time.time() - 3 * 3600)
    assert users.session_user(old, db) is None
    # A password change ends every session of the account; so does its removal.
    users.set_password("lea", "nouveau-mot-de-passe-26", db)
    assert users.session_user(cookie, db) is None
    again, _ = users.open_session("lea", db, hours=1)
    assert users.session_user(again, db) == "lea"
    users.remove_user("lea", db)
    assert users.session_user(again, db) is None


def test_the_duration_is_a_setting(monkeypatch):
    monkeypatch.setenv("SUIVI_SESSION_HOURS", "0,5")
    assert users.session_hours() == 0.5
    monkeypatch.setenv("SUIVI_SESSION_HOURS", "0")
    assert users.session_hours() == 0
    monkeypatch.delenv("SUIVI_SESSION_HOURS")
    assert users.session_hours() == users.SESSION_HOURS_DEFAULT == 12
