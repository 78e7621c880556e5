"""A throwaway PostgreSQL server that the test suite starts and stops itself.

Why
    The store has two backends (DuckDB and PostgreSQL) and the tests must run on both. CI is a
    clean Debian machine with no database service and no internet beyond the package
    registries, so the suite brings its own server: ``make test`` installs Debian's
    ``postgresql`` package when it is missing (the ``postgresql`` target of the Makefile) and this
    module starts a private, disposable server from those binaries.

How
    * The binaries (``initdb``, ``pg_ctl``, ``postgres``) are taken from the highest version under
      ``/usr/lib/postgresql/*/bin`` (Debian's layout), else from ``PATH``; ``PostgresNotFound``
      says what to install when they are missing.
    * ``initdb`` creates a cluster in a fresh temporary folder (UTF-8, locale C, superuser
      ``postgres``) whose ``pg_hba.conf`` trusts the unix socket and 127.0.0.1 only, without a
      password. ``pg_ctl`` starts it listening on 127.0.0.1 on a free port (chosen by binding a
      socket to port 0), with its unix socket inside the temporary folder, so nothing is shared
      with a system server or with another server of this kind: each pytest-xdist worker may
      start its own. Readiness is polled with psycopg (short, growing intervals, bounded by
      ``timeout``); a port taken in the meantime by someone else is detected and another one
      is tried.
    * PostgreSQL refuses to run as root. When the tests run as root (as CI does), ``initdb`` and
      ``pg_ctl`` run as an unprivileged user (``postgres``, created by Debian's package, else
      ``nobody``) through ``runuser`` (or ``setpriv``, or ``su``) and the temporary folder is
      given to that user. Otherwise they run as the current user.
    * ``stop()`` runs ``pg_ctl stop -m immediate`` and deletes the folder. It is idempotent and
      registered with ``atexit``, so a test session that ends on an exception leaves no server
      behind (a session killed by SIGKILL or SIGTERM does not run ``atexit``: its server and
      folder, ``$TMPDIR/pgtest-*``, are then left over).

Speed settings (TEST ONLY: they trade durability for speed, never use them for real data)
    ``fsync=off``, ``synchronous_commit=off``, ``full_page_writes=off``, ``wal_level=minimal``
    (with ``max_wal_senders=0``), ``initdb --no-sync``, and a small ``shared_buffers`` (16MB).
    A crash of the machine may corrupt such a cluster; it is deleted after the tests anyway.

Usage::

    import psycopg
    from tests.pgserver import PostgresServer

    with PostgresServer() as pg:
        dsn = pg.create_database("suivi")  # postgresql://postgres@127.0.0.1:PORT/suivi
        with psycopg.connect(dsn) as con:
            con.execute("SELECT 1")
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

SUPERUSER = "postgres"
HOST = "127.0.0.1"
DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
BINARIES = ("initdb", "pg_ctl", "postgres")
UNPRIVILEGED_USERS = ("postgres", "nobody")
SOCKET_PATH_MAX = 100  # sun_path holds 107 bytes; "/.s.PGSQL.NNNNN" is appended to the dir
PORT_ATTEMPTS = 5

# Appended to postgresql.conf (later lines win). The port is given on the command line.
SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_buffers": "16MB",
    "max_connections": "50",
    "logging_collector": "off",
}

PG_HBA = (
    "# Written by tests/pgserver.py: trust, unix socket and 127.0.0.1 only.\n"
    "local all all trust\n"
    f"host all all {HOST}/32 trust\n"
)


def _remove(folder: Path) -> None:
    """Delete `folder` without waiting: renamed at once (its path is free again), its files
    deleted by a detached `rm`. A test session's cluster holds tens of thousands of files (a
    copy per database created), which took seconds to delete at the end of each worker."""
    trash = folder.with_name(folder.name + ".supprime")
    try:
        folder.rename(trash)
        subprocess.Popen(["rm", "-rf", str(trash)], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)


class PostgresNotFound(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


class PostgresStartError(RuntimeError):
    """initdb or the server failed; the message ends with the server's log."""


class _PortTaken(Exception):
    pass


def find_bindir(bindir: str | os.PathLike | None = None) -> Path:
    """The folder holding initdb, pg_ctl and postgres: ``bindir`` if given, else the highest
    version under /usr/lib/postgresql/*/bin, else the folder of ``pg_ctl`` on PATH."""
    if bindir is not None:
        candidates = [Path(bindir)]
    else:

        def version(path: str) -> tuple[int, ...]:
            parts = re.findall(r"\d+", Path(path).parent.name)
            return tuple(int(p) for p in parts)

        candidates = [Path(p) for p in sorted(glob.glob(DEBIAN_GLOB), key=version, reverse=True)]
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in BINARIES):
            return folder
    where = str(bindir) if bindir is not None else f"{DEBIAN_GLOB} or on PATH"
    raise PostgresNotFound(
        f"PostgreSQL server binaries ({', '.join(BINARIES)}) not found in {where}. "
        "Install Debian's server: `make postgresql` (apt-get install postgresql)."
    )


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nobody listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _unprivileged_user() -> pwd.struct_passwd:
    for name in UNPRIVILEGED_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresStartError(
        f"running as root and none of the users {UNPRIVILEGED_USERS} exists to run PostgreSQL"
    )


def _reachable_by_others(folder: Path) -> bool:
    """Whether any user may traverse every folder from / down to ``folder``."""
    for part in [folder, *folder.parents]:
        if not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def _base_tmpdir(as_other_user: bool) -> str:
    """Where to create the server's folder: the usual temporary folder unless its path is too
    long for a unix socket or (when another user runs the server) closed to other users."""
    for base in (tempfile.gettempdir(), "/tmp"):
        path = Path(base).resolve()
        if len(str(path)) + len("/pgtest-XXXXXXXX/sock") > SOCKET_PATH_MAX:
            continue
        if as_other_user and not _reachable_by_others(path):
            continue
        return str(path)
    raise PostgresStartError("no temporary folder is short enough and open to other users")


def _conf_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class PostgresServer:
    """A private PostgreSQL server on 127.0.0.1 in a temporary folder (see the module docstring).

    ``start()``/``stop()`` or ``with PostgresServer() as pg: ...``. ``dsn`` is the default
    database (``postgres``); ``create_database(name)`` makes a fresh, empty one and returns its
    DSN. ``settings`` adds or overrides postgresql.conf settings; ``port`` is tried first
    (when taken, a free port is chosen instead); ``timeout`` bounds each wait, in seconds.
    """

    def __init__(
        self,
        bindir: str | os.PathLike | None = None,
        *,
        timeout: float = 30.0,
        settings: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.bindir = find_bindir(bindir)
        self.timeout = timeout
        self.settings = {**SETTINGS, **(settings or {})}
        self.user = SUPERUSER
        self.host = HOST
        self.preferred_port = port
        self.port: int | None = None
        self.base_dir: Path | None = None
        self.startup_seconds: float | None = None
        self._os_user: pwd.struct_passwd | None = None
        self._owner_pid: int | None = None

    # ---- paths -------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._require_base() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_base() / "sock"

    @property
    def log_file(self) -> Path:
        return self._require_base() / "postgres.log"

    def _require_base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("the PostgreSQL server is not started")
        return self.base_dir

    # ---- public API --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.base_dir is not None and self.port is not None

    @property
    def dsn(self) -> str:
        """The DSN of the default database, ``postgres``."""
        return self.dsn_for("postgres")

    def dsn_for(self, dbname: str) -> str:
        if not self.running:
            raise RuntimeError("the PostgreSQL server is not started")
        return f"postgresql://{self.user}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def create_database(self, name: str) -> str:
        """Create the empty database ``name`` (any name, quoted as an identifier); its DSN."""
        with psycopg.connect(self.dsn, autocommit=True) as con:
            con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn_for(name)

    def start(self) -> PostgresServer:
        if self.running:
            return self
        began = time.monotonic()
        as_root = os.geteuid() == 0
        self._os_user = _unprivileged_user() if as_root else None
        self.base_dir = Path(tempfile.mkdtemp(prefix="pgtest-", dir=_base_tmpdir(as_root)))
        self._owner_pid = os.getpid()
        atexit.register(self._stop_at_exit)
        try:
            self.socket_dir.mkdir()
            os.chmod(self.base_dir, 0o755)  # readable log; data/ itself is 0700 (initdb)
            if self._os_user is not None:
                for path in (self.base_dir, self.socket_dir):
                    os.chown(path, self._os_user.pw_uid, self._os_user.pw_gid)
            self._initdb()
            for attempt in range(PORT_ATTEMPTS):
                self.port = (
                    self.preferred_port if attempt == 0 and self.preferred_port else free_port()
                )
                try:
                    self._start_server()
                    break
                except _PortTaken:
                    self.port = None
            else:
                raise PostgresStartError(
                    f"no free port after {PORT_ATTEMPTS} attempts\n{self._log_tail()}"
                )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``) and delete its folder.
        Does nothing when not started; safe to call twice."""
        base = self.base_dir
        if base is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                try:
                    self._run(
                        "pg_ctl", "stop", "-D", self.data_dir, "-m", "immediate", "-w",
                        "-t", str(int(self.timeout)),
                    )  # fmt: skip
                except PostgresStartError:
                    pid = self._postmaster_pid()
                    if pid is not None:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
        finally:
            _remove(base)
            self.base_dir = None
            self.port = None
            atexit.unregister(self._stop_at_exit)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.dsn if self.running else "stopped"
        return f"<PostgresServer {self.bindir} {state}>"

    # ---- internals ---------------------------------------------------------------------------

    def _stop_at_exit(self) -> None:
        # A forked child inherits atexit handlers: only the process that started the server
        # stops it.
        if os.getpid() == self._owner_pid:
            self.stop()

    def _command(self, name: str, *args: str | os.PathLike) -> list[str]:
        cmd = [str(self.bindir / name), *map(str, args)]
        user = self._os_user
        if user is None:
            return cmd
        if shutil.which("runuser"):
            return ["runuser", "-u", user.pw_name, "--", *cmd]
        if shutil.which("setpriv"):
            return [
                "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups", "--", *cmd,
            ]  # fmt: skip
        return ["su", "-s", "/bin/sh", "-c", shlex.join(cmd), user.pw_name]

    def _run(self, name: str, *args: str | os.PathLike) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")  # untranslated messages, whatever the machine's locale
        proc = subprocess.run(
            self._command(name, *args),
            cwd=self.base_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.timeout + 30,
        )
        if proc.returncode != 0:
            raise PostgresStartError(
                f"{name} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}{self._log_tail()}"
            )
        return proc.stdout

    def _initdb(self) -> None:
        self._run(
            "initdb", "-D", self.data_dir, f"--username={self.user}", "--encoding=UTF8",
            "--locale=C", "--auth=trust", "--no-sync",
        )  # fmt: skip
        (self.data_dir / "pg_hba.conf").write_text(PG_HBA)  # same file, same owner
        lines = [f"{key} = {_conf_value(str(value))}" for key, value in self.settings.items()]
        lines.append(f"unix_socket_directories = {_conf_value(str(self.socket_dir))}")
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# tests/pgserver.py (test only)\n" + "\n".join(lines) + "\n")

    def _start_server(self) -> None:
        log_size = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._run(
            "pg_ctl", "start", "-D", self.data_dir, "-l", self.log_file, "-W",
            "-o", f"-p {self.port}",
        )  # fmt: skip
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        seen_pid = False
        while True:
            # Polled through the unix socket of our own folder, which only our server can
            # answer on; it opens it after binding the TCP port and accepts once ready.
            try:
                with psycopg.connect(
                    host=str(self.socket_dir), port=self.port, user=self.user,
                    dbname="postgres", connect_timeout=2,
                ) as con:  # fmt: skip
                    con.execute("SELECT 1")
                break
            except psycopg.OperationalError:
                pass
            pid = self._postmaster_pid()
            log = self._log_text(log_size)
            if pid is not None:
                seen_pid = True
                dead = not _alive(pid)
            else:
                # Before postmaster.pid exists nothing listens, so any FATAL is the server's.
                dead = seen_pid or "FATAL" in log or "PANIC" in log
            if dead:
                if "could not bind" in log or "Address already in use" in log:
                    raise _PortTaken
                raise PostgresStartError(f"the server stopped while starting\n{log}")
            if time.monotonic() > deadline:
                raise PostgresStartError(
                    f"the server is not ready after {self.timeout:g} s\n{self._log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        with psycopg.connect(self.dsn, connect_timeout=int(self.timeout)) as con:
            row = con.execute("SHOW data_directory").fetchone()
        if row is None or os.path.realpath(row[0]) != os.path.realpath(self.data_dir):
            raise PostgresStartError(f"another server answers on {self.dsn}")

    def _postmaster_pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def _log_text(self, start: int = 0) -> str:
        try:
            with open(self.log_file, errors="replace") as f:
                f.seek(start)
                return f.read()
        except (OSError, RuntimeError):
            return ""

    def _log_tail(self, lines: int = 30) -> str:
        text = self._log_text()
        return "server log (end):\n" + "\n".join(text.splitlines()[-lines:]) if text else ""


def _alive(pid: int) -> bool:
    """Whether the process runs: exists and is not a zombie (a postmaster started by pg_ctl
    is adopted by PID 1, which may be slow, or fail, to reap it)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"
