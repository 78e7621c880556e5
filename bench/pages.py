"""Server-side time of every page of the app, with Streamlit's AppTest (no browser).

    python -m bench.pages --db /tmp/national.duckdb --runs 5
    python -m bench.pages --db postgresql://postgres@127.0.0.1:5433/national --runs 5
    python -m bench.pages --db /tmp/national.duckdb --after-upload bench/data/insee_qpv_2021.xlsx
    SUIVI_CARTES=0 python -m bench.pages --db … --page app_pages/vue_ensemble.py  # no map

Run in its own process per database (bench/__main__.py does so): `st.cache_data` and
`st.cache_resource` live for the whole process, so two databases in one process would share
caches, and $SUIVI_DB must be set before the app opens its first connection.

Pages are discovered, not listed (the paths app.py names, see `discover`), each reached with
`AppTest.switch_page` (which resolves `st.navigation` pages too). Each page gets one session
that runs the app once (untimed: switch_page needs the registered pages), then `runs` timed
reruns of the page. The first timed run pays the page's own queries (the process caches are
keyed by query and arguments) and is also reported apart as `cold`; the median is over the
other runs (what a user sees when moving between widgets and pages), the worst over all of
them. `--after-upload FILE` measures instead each page's first visit after a load, in a warm
process (time_after_upload). Prints JSON on its last line.

The process first does what the app's server does before it listens (`warm_up`: the launcher
suivi/web/serve.py, which `make run` uses, and Streamlit's scan of the installed components,
which a server makes once at its start and AppTest at every new AppTest), so that app.py's
first run is the first visitor's of a started server. `--not-warmed` times app.py alone in a
process that only scanned the components (`streamlit run app.py`'s first visitor), for
comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"


def discover() -> list[str]:
    """Page scripts named in app.py (`st.Page("app_pages/x.py", ...)`), in the app's order;
    else every `app_pages/*.py` or `pages/*.py`. Reading app.py means a moved or renamed
    folder needs no change here."""
    named = re.findall(r"""["']([\w./-]+\.py)["']""", APP.read_text(encoding="utf-8"))
    found = list(dict.fromkeys(p for p in named if (ROOT / p).is_file()))
    if found:
        return found
    return sorted(str(p.relative_to(ROOT)) for folder in ("app_pages", "pages")
                  for p in (ROOT / folder).glob("*.py") if not p.name.startswith("_"))


def admin_session() -> dict:
    """Session state of a logged-in administrator, so that protected pages (Import) run too.

    Uses suivi/web/auth.py when it exists: an account is created in the accounts file of the
    benchmark's database copy, and the session holds what a login leaves there. Without that
    module (or if its API changed) pages run anonymously and a refused page says so.
    """
    try:
        from suivi.accounts import users
        from suivi.web import auth

        name = "bench-admin"
        if users.get_role(name) is None:
            users.add_user(name, "Bench-mot-de-passe-2024!", "administrateur")
        return {auth.SESSION_KEY: {"name": name, "since": time.time()}}
    except Exception as exc:  # the auth layer is optional for this benchmark
        print(f"note: pages run without login ({type(exc).__name__}: {exc})")
        return {}


def time_page(page: str | None, runs: int, timeout: float) -> dict:
    """Time `runs` reruns of one page (None: the app's default page) in one session."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for key, value in admin_session().items():
        at.session_state[key] = value
    times, errors = [], []
    if page is not None:
        at.run()  # the app must run once before switch_page can resolve st.navigation
    for _ in range(runs):
        if page is not None:
            at.switch_page(page)
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        if at.exception:
            errors.append(str(at.exception[0].message)[:300])
    warm = times[1:] or times
    return {"cold": round(times[0], 4), "median": round(statistics.median(warm), 4),
            "worst": round(max(times), 4), "runs": runs, "errors": sorted(set(errors))}


def time_after_upload(upload: Path, pages: list[str], timeout: float) -> dict:
    """What a person meets right after a load: every page (and app.py's default page) is
    visited once in its own session, so that the process is warm (imports, connection,
    caches of the current data); then `upload` is loaded into the database in this process
    (etl.pipeline.load, as the Import page does), and each session runs its page once more,
    timed: the first visit after the load, which finds the data version changed and the
    page's caches empty. Also reports the load's own time."""
    from streamlit.testing.v1 import AppTest

    from etl.pipeline import load

    sessions = {}
    for page in [None, *pages]:
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        for key, value in admin_session().items():
            at.session_state[key] = value
        at.run()
        if page is not None:
            at.switch_page(page)
            at.run()
        sessions[page or "(app.py)"] = (page, at)
    start = time.perf_counter()
    checked, result = load(upload, db=os.environ["SUIVI_DB"])
    loaded = time.perf_counter() - start
    if result is None:
        return {"errors": [f"upload refused: {checked.report.render()[:300]}"]}
    out = {"(upload)": {"file": upload.name, "seconds": round(loaded, 4),
                        "batch": result.batch_id}}
    for name, (page, at) in sessions.items():
        if page is not None:
            at.switch_page(page)
        start = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - start
        errors = [str(at.exception[0].message)[:300]] if at.exception else []
        out[name] = {"first_after_upload": round(elapsed, 4), "errors": errors}
    return out


def scan_components() -> None:
    """Streamlit's scan of the installed components, once: a server makes it when it starts,
    AppTest at every new AppTest (0.08-0.2 s)."""
    import functools

    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:  # another Streamlit: nothing to scan once
        return
    manifest_scanner.scan_component_manifests = functools.cache(
        manifest_scanner.scan_component_manifests)
    manifest_scanner.scan_component_manifests()


def warm_up() -> float:
    """What the app's server does before its first visitor (see the module's docstring);
    returns the seconds the launcher's warm-up took."""
    scan_components()
    try:
        from suivi.web.serve import warm_up as server_warm_up
    except ImportError:  # older code: `streamlit run app.py` did no warm-up
        return 0.0
    return server_warm_up()


def run_all(runs: int, timeout: float, only: list[str] | None = None) -> dict:
    if not APP.exists():
        return {"skipped": "app.py does not exist yet"}
    os.chdir(ROOT)
    out = {} if only else {"(app.py)": time_page(None, runs, timeout)}
    for page in only or discover():
        try:
            out[page] = time_page(page, runs, timeout)
        except Exception as exc:  # a page under construction must not stop the others
            out[page] = {"errors": [f"{type(exc).__name__}: {exc}"[:300]]}
    return {"pages": out}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pages")
    p.add_argument("--db", required=True)
    p.add_argument("--runs", default=5, type=int)
    p.add_argument("--timeout", default=120.0, type=float)
    p.add_argument("--page", action="append", help="only this page (repeatable)")
    p.add_argument("--after-upload", type=Path, metavar="FILE",
                   help="time each page's first visit after FILE is loaded (time_after_upload)")
    p.add_argument("--not-warmed", action="store_true",
                   help="app.py alone, in a process that did not warm up as a server does")
    args = p.parse_args(argv)
    db = args.db if "://" in args.db else str(Path(args.db).resolve())
    os.environ["SUIVI_DB"] = db
    if args.not_warmed:  # `streamlit run app.py`: its server scans the components, no more
        scan_components()
        os.chdir(ROOT)
        print(json.dumps({"pages": {"(app.py)": time_page(None, args.runs, args.timeout)}},
                         ensure_ascii=False))
        return 0
    warmed = round(warm_up(), 3)
    if args.after_upload:
        os.chdir(ROOT)
        result = {"after_upload": time_after_upload(args.after_upload.resolve(),
                                                     args.page or discover(), args.timeout)}
    else:
        result = run_all(args.runs, args.timeout, args.page)
    result["warm_up"] = warmed
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
