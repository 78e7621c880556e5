"""The server's launcher (suivi/web/serve.py): the one-time work of a process done before the
server listens (imports, the schema check, the maps' outlines). Run in fresh processes: what
it warms is per process. The launcher itself serves every browser test (`make run`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from suivi.core.config import ROOT
from tests.test_maps import load_contours

PROBE = """
import gc, json, sys
from suivi.web import serve
seconds = serve.warm_up()
loaded = set(sys.modules)  # before this probe imports anything itself
from streamlit import delta_generator
from suivi.views import maps as views
from suivi.web import maps, ui
ui.upgrade = None  # a schema check from now on would fail: it must have been made already
ui.upgraded()
views.rings = None  # likewise the parse of a contract's outlines
with_outlines = {}
for contract in ui.query("contracts")["code"]:
    contours = ui.query("contours", contract)
    if not contours.empty:
        with_outlines[contract] = len(maps.shapes(contours))
print(json.dumps({
    "outlines": with_outlines,
    "seconds": seconds,
    "modules": [m for m in ("pandas", "pyarrow", "plotly.graph_objects", "streamlit.emojis",
                            "suivi.views.overview", "suivi.views.maps", "suivi.web.auth")
                if m in loaded],
    "traces": [m for m in ("plotly.graph_objs._scatter", "plotly.graph_objs._bar")
               if m in loaded],
    "frozen": gc.get_freeze_count(),
    "warned": delta_generator._use_warning_has_been_displayed,
}))
"""


def probe(db: str) -> dict:
    env = {**os.environ, "SUIVI_DB": db}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_warm_up_imports_the_pages_libraries_checks_the_schema_and_reads_the_outlines(
        default_db, tmp_path):
    load_contours(default_db, tmp_path)  # Amboise's two quartiers
    warmed = probe(default_db)
    assert warmed["outlines"] == {"AMBOISE-2015": 2}  # parsed for the maps before any visit
    assert warmed["modules"] == ["pandas", "pyarrow", "plotly.graph_objects", "streamlit.emojis",
                                 "suivi.views.overview", "suivi.views.maps", "suivi.web.auth"]
    # plotly's classes and validators of the traces the pages draw (loaded at first use)
    assert warmed["traces"] == ["plotly.graph_objs._scatter", "plotly.graph_objs._bar"]
    assert warmed["frozen"] > 10_000  # ui.settle_memory ran after the imports
    assert warmed["warned"] is True  # no REPL stack walk in the first page run


def test_warm_up_leaves_an_absent_database_to_the_app(tmp_path):
    """The app builds an absent database at its first run, with a message (ui.ensure_database);
    the launcher neither builds it nor fails."""
    absent = tmp_path / "absente.duckdb"
    env = {**os.environ, "SUIVI_DB": str(absent)}
    out = subprocess.run([sys.executable, "-c", "from suivi.web import serve; serve.warm_up()"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert not absent.exists()


def test_a_store_that_cannot_be_read_is_said_and_the_server_still_starts(tmp_path):
    broken = tmp_path / "abimee.duckdb"
    broken.write_bytes(b"ceci n'est pas une base DuckDB" * 100)
    env = {**os.environ, "SUIVI_DB": str(broken)}
    out = subprocess.run([sys.executable, "-c", "from suivi.web import serve; serve.warm_up()"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "préparation de la base interrompue" in out.stderr
    assert "l'application le signalera" in out.stderr


def test_the_launcher_hands_its_options_to_streamlit_and_help_touches_no_database(tmp_path):
    broken = tmp_path / "abimee.duckdb"  # a warm-up would say it cannot read it
    broken.write_bytes(b"ceci n'est pas une base DuckDB" * 100)
    env = {**os.environ, "SUIVI_DB": str(broken)}
    out = subprocess.run([sys.executable, "-m", "suivi.web.serve", "--help"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Usage: streamlit run" in out.stdout  # Streamlit's own `run` command answered
    assert "préparation" not in out.stderr


def test_connections_the_server_accepts_send_without_nagles_delay(monkeypatch):
    """Streamlit's own listening socket (its protocol number 0) kept Nagle's algorithm on every
    connection: a small static file took 44 ms on a kept-alive connection, 2 ms without. The
    connection is accepted as uvicorn accepts it, by asyncio on Streamlit's socket."""
    import asyncio
    import socket

    from streamlit.web.server.starlette import starlette_server

    from suivi.web import serve

    monkeypatch.setattr(starlette_server, "_bind_socket", starlette_server._bind_socket)
    assert serve.no_delay() and serve.no_delay()  # found, and applied once
    assert starlette_server._bind_socket.no_delay

    async def accepted_no_delay() -> int:
        sock = starlette_server._bind_socket("127.0.0.1", 0, 8)
        seen = asyncio.get_running_loop().create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport):
                seen.set_result(transport.get_extra_info("socket").getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Protocol, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_no_delay()) != 0


def test_the_launcher_turns_nagle_off_before_streamlit_starts():
    out = subprocess.run([sys.executable, "-c", """
from streamlit.web.server.starlette import starlette_server
from suivi.web import serve
try:
    serve.main(["--help"])
except SystemExit:
    pass
print(getattr(starlette_server._bind_socket, "no_delay", False))
"""], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "True"
