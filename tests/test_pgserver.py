"""The throwaway PostgreSQL server of tests/pgserver.py, for real: a real server, real
connections, real processes (these run as root in CI, where the server runs as `postgres`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from suivi.store import open_store
from tests.pgserver import HOST, PostgresNotFound, PostgresServer, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pg():
    with PostgresServer() as server:
        yield server


def port_is_free(port: int) -> bool:
    """Nobody answers on the port and a new server could listen on it (PostgreSQL binds with
    SO_REUSEADDR too)."""
    with socket.socket() as probe:
        if probe.connect_ex((HOST, port)) == 0:
            return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            s.listen()
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    """Running: present in /proc and not a zombie (PID 1 adopts the postmaster; a container's
    PID 1 may leave it unreaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_server_answers_with_the_test_settings(pg):
    assert pg.dsn == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
    with psycopg.connect(pg.dsn) as con:
        settings = dict(
            con.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                [["fsync", "synchronous_commit", "full_page_writes", "listen_addresses",
                  "server_encoding", "lc_collate", "unix_socket_directories", "port"]],
            ).fetchall()
        )  # fmt: skip
        assert con.execute("SELECT current_user").fetchone() == ("postgres",)
        assert con.execute("SELECT current_setting('is_superuser')").fetchone() == ("on",)
    assert settings == {
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "listen_addresses": "127.0.0.1",
        "server_encoding": "UTF8",
        "lc_collate": "C",
        "unix_socket_directories": str(pg.socket_dir),
        "port": str(pg.port),
    }
    assert pg.startup_seconds is not None and pg.startup_seconds < pg.timeout


def test_the_server_process_is_unprivileged_when_we_are_root(pg):
    pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    uid = os.stat(f"/proc/{pid}").st_uid
    if os.geteuid() == 0:
        import pwd

        assert pwd.getpwuid(uid).pw_name in ("postgres", "nobody")
        assert uid != 0
    else:
        assert uid == os.geteuid()
    assert os.stat(pg.data_dir).st_uid == uid


def test_unix_socket_is_inside_the_temporary_folder(pg):
    assert (pg.socket_dir / f".s.PGSQL.{pg.port}").is_socket()
    with psycopg.connect(host=str(pg.socket_dir), port=pg.port, user="postgres") as con:
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_table_is_written_and_read_back(pg):
    dsn = pg.create_database("roundtrip")
    assert dsn == f"postgresql://postgres@127.0.0.1:{pg.port}/roundtrip"
    rows = [("AMB-QPV-VE", "Verdun – Éguillé", 1234.5), ("COM-37003", "Amboise", None)]
    with psycopg.connect(dsn) as con:
        con.execute(
            "CREATE TABLE quartier (code text PRIMARY KEY, nom text, valeur double precision)"
        )
        with con.cursor() as cur:
            cur.executemany("INSERT INTO quartier VALUES (%s, %s, %s)", rows)
    with psycopg.connect(dsn) as con:  # committed: a new connection sees it
        assert con.execute("SELECT * FROM quartier ORDER BY code").fetchall() == rows


def test_two_databases_are_independent(pg):
    a, b = pg.create_database("contrat A"), pg.create_database("contrat-b")
    assert a.endswith("/contrat%20A")
    with psycopg.connect(a) as con:
        assert con.execute("SELECT current_database()").fetchone() == ("contrat A",)
        con.execute("CREATE TABLE t (x int)")
        con.execute("INSERT INTO t VALUES (1), (2)")
    with psycopg.connect(b) as con:
        assert con.execute("SELECT to_regclass('t')").fetchone() == (None,)
        con.execute("CREATE TABLE t (x int)")
        con.execute("INSERT INTO t VALUES (10)")
    with psycopg.connect(a) as con:
        assert con.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    with psycopg.connect(b) as con:
        assert con.execute("SELECT x FROM t").fetchall() == [(10,)]
    with pytest.raises(psycopg.errors.DuplicateDatabase):
        pg.create_database("contrat-b")


def test_stop_removes_the_folder_and_frees_the_port():
    server = PostgresServer()
    server.start()
    base, port = server.base_dir, server.port
    pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
    with psycopg.connect(server.dsn) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    assert base.is_dir() and alive(pid) and not port_is_free(port)

    server.stop()
    assert not base.exists()
    assert not alive(pid)
    assert port_is_free(port)
    assert not server.running
    with pytest.raises(RuntimeError, match="not started"):
        server.dsn  # noqa: B018
    server.stop()  # twice is harmless


def test_two_servers_side_by_side(pg):
    """What two pytest-xdist workers do: distinct folders, ports and data. The port asked for
    is used when free."""
    port = free_port()
    with PostgresServer(port=port) as two:
        assert two.port == port
        assert pg.base_dir != two.base_dir and pg.port != two.port
        with psycopg.connect(pg.dsn) as con:
            con.execute("CREATE TABLE only_in_one (x int)")
        with psycopg.connect(two.dsn) as con:
            assert con.execute("SELECT to_regclass('only_in_one')").fetchone() == (None,)
        base = two.base_dir
    assert not base.exists()
    with psycopg.connect(pg.dsn) as con:  # the other one is untouched
        assert con.execute("SELECT to_regclass('only_in_one')").fetchone() == ("only_in_one",)


def test_a_session_that_crashes_leaves_no_server(tmp_path):
    """atexit stops the server of a process that ends on an uncaught exception."""
    script = (
        "from tests.pgserver import PostgresServer\n"
        "pg = PostgresServer().start()\n"
        "print(pg.port, pg.base_dir, flush=True)\n"
        "raise SystemExit('crash')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1 and "crash" in proc.stderr, proc.stderr
    port, base = proc.stdout.split()
    assert not Path(base).exists()
    assert port_is_free(int(port))


def test_a_port_already_taken_is_replaced():
    """When the port wanted is taken by the time the server binds it, another one is used."""
    with socket.socket() as squatter:
        squatter.bind((HOST, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        with PostgresServer(port=taken) as server:
            assert server.port != taken
            with psycopg.connect(server.dsn) as con:
                assert con.execute("SELECT 1").fetchone() == (1,)
            assert "could not bind" in server.log_file.read_text()


def test_missing_binaries_are_reported(tmp_path):
    with pytest.raises(PostgresNotFound, match="make postgresql"):
        PostgresServer(bindir=tmp_path)


def _wait_for(con, sql: str, expected, timeout: float = 20.0):
    """Poll `sql` until it returns `expected`: PostgreSQL publishes a backend's table counts
    some time after its transaction ends."""
    deadline = time.monotonic() + timeout
    while (got := con.execute(sql).fetchone()[0]) != expected:
        assert time.monotonic() < deadline, (sql, got, expected)
        time.sleep(0.05)


def test_a_write_analyses_only_the_tables_it_changed_enough(pg):
    """Session.changed_enough, inside a write's transaction: a table changed by fewer rows
    than autovacuum's threshold (50 + 10 %) is not listed; past it, counting the transaction's
    own rows, it is; a table never analysed always is."""
    dsn = pg.create_database("statistiques")
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE TABLE big (n INTEGER)")
        con.execute("INSERT INTO big SELECT generate_series(1, 10000)")
    counts = "SELECT n_tup_ins FROM pg_stat_all_tables WHERE relname = 'big'"
    reltuples = "SELECT CAST(reltuples AS INTEGER) FROM pg_class WHERE relname = 'big'"
    with psycopg.connect(dsn, autocommit=True) as con:
        _wait_for(con, counts, 10000)
        con.execute("ANALYZE big")
        assert con.execute(reltuples).fetchone()[0] == 10000
    with open_store(dsn).session() as s:
        s.begin()
        s.execute("CREATE TEMP TABLE marks AS SELECT 1 AS n")
        s.execute("INSERT INTO big SELECT generate_series(1, 900)")  # 9 %: below
        assert s.changed_enough(["big", "marks", "absent"]) == ["marks"]
        s.refresh_statistics(s.changed_enough(["big", "marks"]))
        assert s.scalar(reltuples) == 10000
        assert s.scalar("SELECT reltuples FROM pg_class WHERE relname = 'marks'") == 1
        s.execute("INSERT INTO big SELECT generate_series(1, 200)")  # 11 % with the above
        assert s.changed_enough(["marks", "big"]) == ["big"]
        s.refresh_statistics(["big"])
        assert s.scalar(reltuples) == 11100
        s.rollback()
