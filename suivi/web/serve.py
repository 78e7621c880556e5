"""Start the app's server warmed up: `python -m suivi.web.serve [Streamlit's options]`.

Why: `streamlit run app.py` imports nothing of the app until a visitor comes, so the first
page run of every server process (after a deployment, a restart, a new replica) paid about
0.8 s of one-time work on top of its page: importing pandas, pyarrow, the database driver,
plotly and the app's modules, Streamlit's emoji table (checked against every page icon),
plotly's validators, the garbage collector's freeze (ui.settle_memory), the first read of
the database file and the parse of the quartiers' outlines for the maps. Here that work is
done before the server listens, in the same process, then Streamlit's own command line takes
over with the given options, as `streamlit run app.py …` would: a visitor never waits for
it. bench/pages.py calls `warm_up` likewise before timing a process's first run.

The warm-up reads the settings of `.streamlit/config.toml`, not the command line's (which
Streamlit parses afterwards): none of those it uses (caching) is set on the command line.

The launcher also turns Nagle's algorithm off on the server's connections (`no_delay`).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app.py"
CONNECT_TIMEOUT = "10"  # seconds: a PostgreSQL server that does not answer delays the start


def warm_up() -> float:
    """Do a process's one-time work before any page runs; returns its duration (s). The
    database part never stops the start: what is wrong with the store is said on stderr
    here, and in French by the page to its visitors."""
    start = time.perf_counter()
    import plotly.graph_objects as go
    import streamlit.emojis  # noqa: F401  (the table st.Page and set_page_config check icons in)

    from suivi.core.config import db_url
    from suivi.store import open_store
    from suivi.web import auth, imports, maps, ui  # noqa: F401  (what app.py and pages import)

    # plotly loads the validators of a trace type or layout part the first time a figure
    # uses it; st.plotly_chart validates every figure it is given.
    go.Figure({"data": [{"type": "scatter", "x": [0], "y": [0], "mode": "lines+markers",
                         "line": {"dash": "dot"}, "fill": "toself", "hovertemplate": "%{y}"},
                        {"type": "bar", "x": [1], "y": ["a"], "orientation": "h", "text": ["a"]}],
               "layout": {"barmode": "stack", "legend": {"orientation": "h"},
                          "xaxis": {"title": {"text": "a"}}, "yaxis": {"title": {"text": "a"}},
                          "shapes": [{"type": "line"}], "annotations": [{"text": "a"}],
                          "margin": {"l": 0}, "hoverlabel": {"bgcolor": "#fff"}}}).to_dict()
    try:
        with _bounded_connect(), _outside_a_page_run(), ui.kept_open():
            if open_store(db_url()).exists():
                ui.upgraded()  # the driver's first connection, the schema checked
                outlines()
    except Exception as exc:  # noqa: BLE001  (the first page says it to its visitor)
        print(f"suivi.web.serve: préparation de la base interrompue ({type(exc).__name__}: "
              f"{exc}) ; l'application le signalera à la première page.", file=sys.stderr)
    # Streamlit warns once per process when elements are drawn outside `streamlit run`; to
    # know whether it runs in a REPL, it walks the first page run's stack, reading the source
    # of every frame (0.06 s). This process is a server: there is nothing to warn about.
    from streamlit import delta_generator

    if hasattr(delta_generator, "_use_warning_has_been_displayed"):
        delta_generator._use_warning_has_been_displayed = True
    ui.settle_memory()  # last: everything imported above leaves the collector's scans
    return time.perf_counter() - start


def outlines() -> None:
    """The quartier outlines of the contracts visitors open first (the default one, then the
    most recent, as many as the maps keep: maps.OUTLINE_SETS) read, parsed and simplified
    into the app's caches: 0.1-0.2 s for a national contract's 1 580 quartiers. They change
    only when contours are loaded; the maps then key the new ones by their content."""
    from suivi.web import maps, ui

    if not maps.enabled():
        return
    codes = ui.query("contracts")["code"].tolist()
    if not codes:
        return
    first = ui.default_contract(codes)
    for contract in [first, *(c for c in codes if c != first)][:maps.OUTLINE_SETS]:
        contours = ui.query("contours", contract)
        if not contours.empty:
            maps.shapes(contours)


@contextmanager
def _outside_a_page_run():
    """The app's caches warn, outside a page run, that there is no page run to attach to."""
    quiet = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        yield
    finally:
        quiet.setLevel(level)


@contextmanager
def _bounded_connect():
    """A PostgreSQL server that drops packets would hold the start for libpq's two minutes."""
    before = os.environ.get("PGCONNECT_TIMEOUT")
    os.environ["PGCONNECT_TIMEOUT"] = before or CONNECT_TIMEOUT
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PGCONNECT_TIMEOUT", None)


def no_delay() -> bool:
    """Have every connection the server accepts send at once (TCP_NODELAY).

    Why: Streamlit binds its listening socket itself, as `socket.socket(family)`, i.e. with
    protocol 0; asyncio turns Nagle's algorithm off only on sockets whose protocol is
    IPPROTO_TCP, so every connection kept it. A response goes out in two writes (headers,
    then body): the body then waited for the browser's delayed acknowledgement, 40 ms. A
    fresh tab fetches some 130 static files over six connections (about 1 s of such waits,
    measured with `http.client`: 44 ms per small file on a kept-alive connection, 2 ms
    without Nagle), and each page run's messages on the websocket waited likewise. Linux
    gives accepted connections the listening socket's TCP_NODELAY. Returns whether the
    socket function was found (another Streamlit may bind differently: nothing changes)."""
    try:
        from streamlit.web.server.starlette import starlette_server as server
    except ImportError:
        return False
    bind = getattr(server, "_bind_socket", None)
    if bind is None:
        return False
    if getattr(bind, "no_delay", False):
        return True

    def bind_without_delay(*args, **kwargs) -> socket.socket:
        sock = bind(*args, **kwargs)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    bind_without_delay.no_delay = True
    server._bind_socket = bind_without_delay
    return True


def main(argv: list[str] | None = None) -> None:
    from streamlit.web import cli

    args = sys.argv[1:] if argv is None else argv
    no_delay()
    if not {"-h", "--help"} & set(args):  # help asked: no work, no database touched
        warm_up()
    cli.main(["run", str(APP), *args], prog_name="streamlit")


if __name__ == "__main__":
    main()
