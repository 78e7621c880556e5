"""Roles, local accounts and the access checks of the real app (AppTest).

Local accounts only: the OpenID Connect branch of tracker/auth.py (st.login / st.user, roles
from e-mail lists in secrets) needs a live identity provider and is not exercised here.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from suivi.accounts import users
from suivi.core.config import ROOT
from suivi.web.auth import SESSION_KEY
from tests.conftest import cli_in_process

PASSWORDS = {"lea": "lecture-seule-2026", "carla": "contribution-2026", "adam": "administration-26"}
ROLES = {"lea": "lecteur", "carla": "contributeur", "adam": "administrateur"}


@pytest.fixture
def accounts_db(default_db, monkeypatch, tmp_path):
    """The default database with three accounts, one per role, and a clean environment."""
    monkeypatch.setenv("SUIVI_DB", str(default_db))
    monkeypatch.delenv("SUIVI_LOGIN_REQUIRED", raising=False)
    monkeypatch.setenv("SUIVI_USERS_DB", str(tmp_path / "comptes.sqlite3"))
    for name, password in PASSWORDS.items():
        users.add_user(name, password, ROLES[name], default_db)
    return default_db


def new_app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = str(value)
    return at


def login(at: AppTest, name: str, password: str, where: str = "auth_sidebar") -> AppTest:
    box = at.sidebar if where == "auth_sidebar" else at.main
    box.text_input(key=f"{where}_name").input(name)
    box.text_input(key=f"{where}_password").input(password)
    next(b for b in box.button if b.label == "Se connecter").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "error", "info", "caption", "markdown", "warning")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def import_registered(at: AppTest) -> bool:
    try:
        at.switch_page("app_pages/import_donnees.py")
    except ValueError as exc:
        assert "Could not find a navigation page" in str(exc)
        return False
    return True


# --- roles and accounts (no Streamlit) ------------------------------------------------------

def test_role_order():
    table = {(r, need): users.check_role(r, need) for r in (None, *users.ROLES)
             for need in users.ROLES}
    assert [need for need in users.ROLES if table[("lecteur", need)]] == ["lecteur"]
    assert [need for need in users.ROLES if table[("contributeur", need)]] == \
        ["lecteur", "contributeur"]
    assert all(table[("administrateur", need)] for need in users.ROLES)
    assert not any(table[(None, need)] for need in users.ROLES)
    assert not users.check_role("superuser", "lecteur")


def run_cli(db, *args, stdin=None):
    """`etl users ARGS`, through the command line's entry point in this process."""
    return cli_in_process("--db", str(db), "users", *args, stdin=stdin)


def test_users_cli_hashes_with_argon2_and_never_shows_the_password(tmp_path):
    db = tmp_path / "suivi.duckdb"
    secret = "Tres-Secret-Mot-2026"
    out = run_cli(db, "add", "Marie.Dupont", "--role", "contributeur", "--password-stdin",
                  stdin=secret + "\n")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Compte « marie.dupont » créé avec le rôle contributeur." in out.stdout
    path = users.accounts_path(db)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with users.accounts(db) as con:
        (digest,) = con.execute("SELECT password_hash FROM user_account").fetchone()
    assert digest.startswith("$argon2id$")
    assert secret.encode() not in path.read_bytes()

    listing = run_cli(db, "list")
    assert "marie.dupont" in listing.stdout and "contributeur" in listing.stdout
    assert "argon2" not in listing.stdout and secret not in listing.stdout

    again = run_cli(db, "add", "marie.dupont", "--role", "lecteur", "--password-stdin",
                    stdin="autre-mot-de-passe\n")
    assert again.returncode == 1 and "existe déjà" in again.stdout
    short = run_cli(db, "add", "paul", "--role", "lecteur", "--password-stdin", stdin="court\n")
    assert short.returncode == 1 and "trop court" in short.stdout
    bad_role = run_cli(db, "add", "paul", "--role", "root", "--password-stdin", stdin=secret)
    assert bad_role.returncode != 0

    new = "Nouveau-Mot-De-Passe-9"
    assert run_cli(db, "passwd", "marie.dupont", "--password-stdin",
                   stdin=new + "\n").returncode == 0
    assert not users.authenticate("marie.dupont", secret, db).ok
    assert users.authenticate("marie.dupont", new, db).ok
    assert run_cli(db, "role", "marie.dupont", "administrateur").returncode == 0
    assert users.get_role("marie.dupont", db) == "administrateur"
    assert run_cli(db, "remove", "marie.dupont").returncode == 0
    assert users.get_role("marie.dupont", db) is None
    assert not users.authenticate("marie.dupont", new, db).ok
    everything = path.read_bytes()
    assert secret.encode() not in everything and new.encode() not in everything
    journal = run_cli(db, "journal").stdout
    for outcome in ("compte_cree", "mot_de_passe_change", "role_change", "compte_supprime",
                    "succes", "echec"):
        assert outcome in journal


def test_failed_logins_are_logged_and_rate_limited_across_restarts(tmp_path):
    db = tmp_path / "suivi.duckdb"
    users.add_user("carla", PASSWORDS["carla"], "contributeur", db)
    ok = users.authenticate("carla", PASSWORDS["carla"], db)
    assert ok.ok and ok.role == "contributeur"
    t0 = time.time()
    for i in range(users.MAX_FAILURES):
        res = users.authenticate("carla", f"essai-{i}", db, now=t0 + i)
        assert not res.ok and res.message.startswith("Identifiant ou mot de passe incorrect.")
    assert "Compte bloqué 5 minutes" in res.message
    blocked = users.authenticate("carla", PASSWORDS["carla"], db, now=t0 + 10)
    assert not blocked.ok
    assert "Trop de tentatives échouées pour « carla » : réessayez dans 5 minute(s)" \
        in blocked.message

    # A new process (the app restarted) still refuses: the count is in the accounts file.
    code = ("import sys; from suivi.accounts import users; "
            "r = users.authenticate('carla', sys.argv[2], sys.argv[1], now=float(sys.argv[3])); "
            "print(r.ok, r.message)")
    out = subprocess.run([sys.executable, "-c", code, str(db), PASSWORDS["carla"],
                          str(t0 + 20)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("False Trop de tentatives"), out.stdout + out.stderr

    # The window passes: the right password works again and resets the count.
    later = users.authenticate("carla", PASSWORDS["carla"], db,
                               now=t0 + users.MAX_FAILURES + users.WINDOW_SECONDS + 1)
    assert later.ok
    # An unknown name is rate-limited the same way and gets the same message.
    unknown = [users.authenticate("personne", "x" * 12, db, now=t0 + i) for i in range(6)]
    assert unknown[0].message.startswith("Identifiant ou mot de passe incorrect.")
    assert unknown[-1].message.startswith("Trop de tentatives")
    # An administrator can unlock at once (real clock from here on).
    users.add_user("lea", PASSWORDS["lea"], "lecteur", db)
    for _ in range(users.MAX_FAILURES):
        users.authenticate("lea", "mauvais-mot", db)
    assert not users.authenticate("lea", PASSWORDS["lea"], db).ok
    users.unlock("lea", db, by="adam")
    assert users.authenticate("lea", PASSWORDS["lea"], db).ok

    with users.accounts(db) as con:
        rows = con.execute("SELECT user_name, outcome, detail FROM login_event").fetchall()
        columns = [r[1] for r in con.execute("PRAGMA table_info(login_event)").fetchall()]
    assert ("carla", "echec", "mot de passe incorrect") in rows
    assert ("personne", "echec", "compte inconnu") in rows
    assert ("carla", "bloque", "trop d'échecs récents") in rows
    assert ("lea", "deverrouille", None) in rows
    assert not any("pass" in c or "hash" in c for c in columns)
    assert PASSWORDS["carla"].encode() not in users.accounts_path(db).read_bytes()


# --- the app: who sees what -----------------------------------------------------------------

def test_anonymous_reads_but_cannot_reach_import(accounts_db):
    at = new_app(contrat="AMBOISE-2015", annee=2022)
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "AMBOISE-2015"  # reading is public by default
    assert [t.key for t in at.sidebar.text_input] == ["auth_sidebar_name", "auth_sidebar_password"]
    assert not import_registered(at)


def test_lecteur_cannot_reach_import(accounts_db):
    at = login(new_app().run(), "lea", PASSWORDS["lea"])
    assert "Connecté : **lea** (lecteur)" in texts(at)
    assert at.session_state[SESSION_KEY]["name"] == "lea"
    assert not import_registered(at)


def test_contributeur_reaches_import_and_loses_it_when_the_role_changes(accounts_db):
    at = login(new_app(contrat="AMBOISE-2015").run(), "carla", PASSWORDS["carla"])
    assert "Connecté : **carla** (contributeur)" in texts(at)
    assert import_registered(at)
    at.run()
    assert not at.exception and "Accès refusé" not in texts(at)
    # An administrator lowers the role from the CLI: the very next run refuses the page,
    # although the session still points at it.
    users.set_role("carla", "lecteur", accounts_db)
    at.run()
    assert "Accès refusé : votre compte « carla » (lecteur) ne permet pas l'import" in texts(at)
    assert "Import" in [t.value for t in at.title]
    # Removing the account ends the session at the next run.
    users.remove_user("carla", accounts_db)
    at.run()
    assert SESSION_KEY not in at.session_state
    assert "Accès refusé : l'import de fichiers" in texts(at)
    assert "Connectez-vous dans la barre latérale" in texts(at)


def test_logout_closes_the_import_page(accounts_db):
    at = login(new_app().run(), "adam", PASSWORDS["adam"])
    assert import_registered(at)
    at.run()
    next(b for b in at.sidebar.button if b.label == "Se déconnecter").click().run()
    assert SESSION_KEY not in at.session_state
    assert "Accès refusé" in texts(at)
    assert not import_registered(at)


def test_wrong_password_in_the_app_is_refused_then_blocked(accounts_db):
    at = new_app().run()
    for _ in range(users.MAX_FAILURES):
        login(at, "carla", "pas-le-bon-mot")
        assert "Identifiant ou mot de passe incorrect." in texts(at)
    login(at, "carla", PASSWORDS["carla"])
    assert "Trop de tentatives échouées pour « carla »" in texts(at)
    assert SESSION_KEY not in at.session_state
    # A fresh session (or a restarted server) is refused too.
    other = login(new_app().run(), "carla", PASSWORDS["carla"])
    assert "Trop de tentatives échouées" in texts(other)
    assert not import_registered(other)


@pytest.mark.parametrize("how", ["env", "secrets"])
def test_login_required_setting_hides_everything_from_anonymous(accounts_db, monkeypatch, how):
    at = new_app(contrat="AMBOISE-2015")
    if how == "env":
        monkeypatch.setenv("SUIVI_LOGIN_REQUIRED", "1")
    else:
        at.secrets["auth"] = {"lecture_publique": False}
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Suivi QPV : connexion"]
    assert len(at.selectbox) == 0 and len(at.sidebar.selectbox) == 0  # no data at all
    assert "réservée aux personnes disposant d'un compte" in texts(at)
    assert not import_registered(at)
    login(at, "lea", PASSWORDS["lea"], where="auth_main")
    assert at.sidebar.selectbox[0].value == "AMBOISE-2015"
    assert "Connecté : **lea** (lecteur)" in texts(at)
    assert not import_registered(at)


def test_require_and_can_for_the_import_page(accounts_db):
    """What the Import page calls: require() refuses and explains, can() stays silent."""
    from streamlit.testing.v1 import AppTest as T

    def page_script():
        import streamlit as st

        from suivi.web import auth

        st.write(f"peut-contribuer={auth.can('contributeur')}")
        st.write(f"peut-annuler={auth.can('administrateur')}")
        if auth.require("administrateur"):
            st.write("annulation autorisée")

    at = T.from_function(page_script, default_timeout=60)
    at.run()
    out = [m.value for m in at.markdown]
    assert out[:2] == ["peut-contribuer=False", "peut-annuler=False"]
    assert "annulation autorisée" not in out
    assert "Accès refusé : l'annulation de lots" in at.error[0].value
    at.session_state[SESSION_KEY] = {"name": "carla", "since": time.time()}
    at.run()
    out = [m.value for m in at.markdown]
    assert out[:2] == ["peut-contribuer=True", "peut-annuler=False"]
    assert "votre compte « carla » (contributeur) ne permet pas l'annulation" in at.error[0].value
    at.session_state[SESSION_KEY] = {"name": "adam", "since": time.time()}
    at.run()
    assert [m.value for m in at.markdown] == ["peut-contribuer=True", "peut-annuler=True",
                                              "annulation autorisée"]
    assert len(at.error) == 0
    # A session older than SESSION_HOURS is over.
    at.session_state[SESSION_KEY] = {"name": "adam", "since": time.time() - 13 * 3600}
    at.run()
    assert [m.value for m in at.markdown][:2] == ["peut-contribuer=False", "peut-annuler=False"]
