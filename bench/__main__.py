"""Benchmarks, each against a baseline measured in the same run: `python -m bench [--quick]`.

    python -m bench                 # full national scale (about 3M values; 10-20 minutes)
    python -m bench --quick         # scale 0.05: a sanity check in 1-2 minutes
    python -m bench --only xlsx,status
    python -m bench --backends duckdb  # without the PostgreSQL side (init, status, pages)

Ratios, not absolute times, are what carry from one machine to another: each benchmark runs
its own baseline (the naive or the floor way to do the same work) in the same process or the
same conditions. The data is generated on first use (bench/generate.py) under bench/data
(bench/data/scale-0.05 for --quick); databases and results go to bench/out (both git-ignored).
The table is printed at the end and written to bench/out/results.json.

The national init, the status of every series and every page also run on PostgreSQL, side by
side with DuckDB in the same run (the DuckDB figure is then the baseline): a throwaway server
is started from Debian's binaries (tests/pgserver.py) with durable settings (fsync on, WAL
level replica), as a deployment would run it, and stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WORK = OUT / "work"
QUICK_SCALE = 0.05
BENCHMARKS = ("xlsx", "insee", "register", "init", "status", "pages", "carte", "rapport",
              "browser", "cpu")
BACKENDS = ("duckdb", "postgresql")
ENGINE = {"duckdb": "DuckDB", "postgresql": "PostgreSQL"}
# The test server's speed settings turned back to a deployment's (tests/pgserver.py SETTINGS).
DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
           "wal_level": "replica", "max_wal_senders": "10", "shared_buffers": "256MB"}


# --- Helpers ----------------------------------------------------------------------------------

def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def median_time(fn, repeats: int, setup=None) -> float:
    """Median wall time of `repeats` calls; `setup` runs untimed before each call."""
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        times.append(timed(fn)[0])
    return statistics.median(times)


def run_child(args: list[str], env: dict | None = None) -> dict:
    """Run `python args...` and return its wall time, its peak RSS and its JSON output.

    The peak is the child's own VmHWM when it reports one (`peak_rss_mb` in its JSON, see
    bench/national.py): on Linux a child's ru_maxrss starts from the parent's RSS at fork
    time, so os.wait4's figure is only a fallback (an upper bound).
    """
    WORK.mkdir(parents=True, exist_ok=True)
    out_path, err_path = WORK / "child.out", WORK / "child.err"
    start = time.perf_counter()
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=err,
                                text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n"
                           f"{err_path.read_text()[-3000:]}")
    lines = [line for line in out_path.read_text().splitlines() if line.startswith("{")]
    output = json.loads(lines[-1]) if lines else {}
    peak = output.get("peak_rss_mb") or usage.ru_maxrss / 1024  # Linux: KiB
    return {"wall": wall, "max_rss_mb": peak, "output": output}


class Table:
    """Rows of the final table: one measure, its baseline, the ratio and the target."""

    def __init__(self):
        self.rows: list[dict] = []

    def add(self, bench: str, measure: str, value: float | None, unit: str,
            baseline: float | None = None, baseline_name: str = "", target: str = "",
            met: bool | None = None, note: str = "") -> None:
        ratio = value / baseline if value is not None and baseline else None
        self.rows.append(dict(bench=bench, measure=measure, value=value, unit=unit,
                              baseline_name=baseline_name, baseline=baseline, ratio=ratio,
                              target=target, met=met, note=note))
        print(f"  {measure}: {_fmt(value)} {unit}"
              + (f"  vs {baseline_name} {_fmt(baseline)} {unit} -> {ratio:.2f}x" if ratio else "")
              + (f"  [target {target}: {'met' if met else 'MISSED'}]" if met is not None else "")
              + (f"  ({note})" if note else ""), flush=True)

    def render(self) -> str:
        head = ["benchmark", "measure", "value", "baseline", "ratio", "target", "met"]
        body = [[r["bench"], r["measure"], f"{_fmt(r['value'])} {r['unit']}",
                 f"{r['baseline_name']} {_fmt(r['baseline'])}".strip() if r["baseline"] else "",
                 f"{r['ratio']:.3f}x" if r["ratio"] else "", r["target"],
                 {True: "yes", False: "NO", None: ""}[r["met"]]] for r in self.rows]
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in [head, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _fmt(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


# --- Data and databases -----------------------------------------------------------------------

_PG: dict = {}


def postgres_url(name: str) -> str:
    """The URL of database `name` on this run's PostgreSQL server (started on first use,
    stopped at exit); raises when PostgreSQL is not installed (`make postgresql`)."""
    if "server" not in _PG:
        from tests.pgserver import PostgresServer

        print("  starting a PostgreSQL server (durable settings)...", flush=True)
        _PG["server"] = PostgresServer(settings=DURABLE).start()
    if name not in _PG:
        _PG[name] = _PG["server"].create_database(name)
    return _PG[name]


def ensure_data(data: Path, scale: float) -> dict:
    """Generate the dataset unless a manifest for the same scale is already there."""
    manifest = data / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("scale") == scale:
        return json.loads(manifest.read_text())
    from bench.generate import generate

    print(f"Generating the synthetic dataset (scale {scale}) in {data}...", flush=True)
    return generate(data, scale)


def catalogue_db(data: Path) -> Path:
    """A database holding the register and the national catalogue, copied fresh for each
    load."""
    from bench.national import CATALOGUE, remove_db
    from etl.pipeline import load
    from suivi.core.config import REGISTER_FILE

    db = WORK / "catalogue.duckdb"
    remove_db(db)
    for path in (REGISTER_FILE, data / CATALOGUE):
        checked, result = load(path, db=db, user="bench")
        if result is None:
            raise SystemExit(checked.report.render(limit=20))
    return db


def national_db(data: Path, backend: str = "duckdb") -> Path | str:
    """The national database built by the init benchmark (Parquet), built here if missing."""
    if backend == "postgresql":
        db = postgres_url("national")
        built = _PG.get("national built")
    else:
        db = WORK / "national-parquet.duckdb"
        built = db.exists() and _same_scale(db, data)
    if not built:
        from bench.national import init_national

        print(f"Building the national database on {ENGINE[backend]} (untimed)...", flush=True)
        init_national(db, data, "parquet")
        _PG["national built"] = _PG.get("national built") or backend == "postgresql"
    load_contours(db, data)
    return db


def _same_scale(db: Path, data: Path) -> bool:
    """Whether a national database left by an earlier run holds this dataset's QPVs (a
    --quick run leaves a small one)."""
    from suivi.store import open_store

    manifest = json.loads((data / "manifest.json").read_text())
    expected = manifest.get("territories_by_kind", {}).get("qpv")
    try:
        with open_store(str(db)).session() as s:
            found = s.scalar("SELECT count(*) FROM territory WHERE kind = 'qpv'")
    except Exception:  # an unreadable leftover: rebuilt
        return False
    return expected is None or int(found) == int(expected)


def load_contours(db: Path | str, data: Path) -> None:
    """The dataset's synthetic contours, so that the national pages draw their maps (a no-op
    once loaded: the same file changes nothing)."""
    from bench.generate import ensure_contours
    from etl.pipeline import load

    path = ensure_contours(data, json.loads((data / "manifest.json").read_text())["scale"])
    checked, result = load(path, db=db, user="bench")
    if result is None:
        raise SystemExit(f"contours rejected:\n{checked.report.render(limit=20)}")


def default_db(backend: str = "duckdb") -> Path | str:
    """The embedded default: the contract workbooks of data/contrats plus the demo values."""
    from bench.national import remove_db
    from etl.pipeline import init

    db = postgres_url("default") if backend == "postgresql" else WORK / "default.duckdb"
    remove_db(db)
    results = init(db, demo=True)
    bad = [name for name, checked, _ in results if not checked.ok]
    if bad:
        print(f"  note: rejected by init: {', '.join(bad)}")
    return db


# --- Benchmarks -------------------------------------------------------------------------------

def bench_xlsx(table: Table, data: Path, manifest: dict, repeats: int) -> None:
    """check + load of the `valeurs` workbook onto a fresh catalogue DB vs pandas.read_excel.

    Measured as the Import page does it (suivi/web/imports.py): the uploaded bytes are checked
    (read + validate), the preview is built, then the checked file is loaded with
    `etl.pipeline.load_checked` (written as staged when no batch landed since the check,
    else revalidated under the write lock; older code: `load_workbook`, which always
    revalidates). The CLI way (`python -m etl check FILE` then `load FILE`, which reads and
    validates the file twice) is shown too.
    """
    import pandas as pd

    from etl import pipeline
    from etl.pipeline import check, load, preview_changes

    if hasattr(pipeline, "load_checked"):
        def load_checked(checked):
            return pipeline.load_checked(checked, fresh, "bench")
    else:
        def load_checked(checked):
            return pipeline.load_workbook(checked.workbook, fresh, "bench")

    path = data / "valeurs_200k.xlsx"
    rows = manifest["xlsx_rows"]
    print(f"\n[xlsx] check + load of {path.name} ({rows} rows)", flush=True)
    base = catalogue_db(data)
    fresh = WORK / "xlsx.duckdb"

    def setup():
        shutil.copy(base, fresh)
        Path(f"{fresh}.wal").unlink(missing_ok=True)

    # The baseline first, in a process that has done nothing else yet: read after our runs
    # (and their frames of 200 000 rows), the same read took 3.4-4.2 s instead of 2.7-2.9.
    calamine = median_time(lambda: pd.read_excel(path, engine="calamine"), repeats)
    times: dict[str, list[float]] = {"check": [], "preview": [], "load": [], "cli": []}
    for _ in range(repeats):
        setup()
        upload = path.read_bytes()
        t_check, checked = timed(check, upload, name=path.name, db=fresh)
        assert checked.ok, checked.report.render(limit=20)
        times["check"].append(t_check)
        times["preview"].append(timed(preview_changes, checked, fresh)[0])
        t_load, (_, result) = timed(load_checked, checked)
        assert result is not None and result.total("inserted") == rows
        times["load"].append(t_load)
        setup()
        t_cli_check, _ = timed(check, path, db=fresh)
        t_cli_load, (_, result) = timed(load, path, db=fresh, user="bench")
        assert result is not None and result.total("inserted") == rows
        times["cli"].append(t_cli_check + t_cli_load)
    med = {k: statistics.median(v) for k, v in times.items()}
    ours = med["check"] + med["load"]
    openpyxl = median_time(lambda: pd.read_excel(path, engine="openpyxl"),
                           1 if rows > 50_000 else repeats)
    table.add("xlsx", "check (read + validate)", med["check"], "s")
    table.add("xlsx", "preview of the changes", med["preview"], "s", note="not in the target")
    table.add("xlsx", "load of the checked file", med["load"], "s")
    table.add("xlsx", "check + load vs openpyxl read", ours, "s", openpyxl,
              "read_excel(openpyxl)", "<= 0.25x", ours <= 0.25 * openpyxl)
    table.add("xlsx", "check + load vs calamine read", ours, "s", calamine,
              "read_excel(calamine)", "<= 1.1x", ours <= 1.1 * calamine,
              note="issue 11's target (issue 5 asked 1.5x)")
    table.add("xlsx", "CLI check FILE + load FILE", med["cli"], "s", calamine,
              "read_excel(calamine)", note="reads and validates the file twice")
    floor_row(table, "xlsx", "calamine's parse", calamine_parse(path, "valeurs"), base, fresh,
              calamine, "read_excel(calamine)", 1.1, max(repeats, 3))


def calamine_parse(path: Path, sheet: str | None = None):
    """The read any loader of `path` pays at the least: python-calamine parsing `sheet`
    (every sheet when None) into Python lists, no DataFrame."""
    from python_calamine import CalamineWorkbook

    def read():
        wb = CalamineWorkbook.from_path(str(path))
        return [wb.get_sheet_by_name(name).to_python()
                for name in ([sheet] if sheet else wb.sheet_names)]

    return read


def floor_row(table: Table, section: str, read_name: str, read, base: Path, loaded: Path,
              baseline: float, baseline_name: str, ratio: float, repeats: int) -> None:
    """A row for the least any loader can take here: `read` (the file read into memory) plus
    the rows the load left in `loaded` (values and stored statuses) inserted from memory into
    a copy of `base` and committed. Where it exceeds `ratio` x the baseline, the target is
    below what storing these rows costs on this store."""
    t_read = median_time(read, repeats)
    values = stored_floor(base, loaded, repeats)
    stored = stored_floor(base, loaded, repeats, values_and_statuses())
    floor = t_read + stored
    table.add(section, f"floor: {read_name} + the values and statuses stored", floor, "s",
              baseline, baseline_name, f"<= {ratio:g}x", floor <= ratio * baseline,
              note=f"read {t_read:.2f} s; insert + commit from memory: the values alone "
                   f"{values:.2f} s, with their statuses {stored:.2f} s")


def bench_insee(table: Table, data: Path, manifest: dict, repeats: int) -> None:
    """check + load of the Insee-style national QPV base vs python-calamine reading it.

    The file is what observatories download (title rows, a quartiers sheet and a communes
    sheet, `s`/`nd` tokens, an aggregate row), mapped onto the catalogue through
    `variables_source`. Measured as the CLI's `load FILE` (read, detect the layout, map the
    variables, resolve the codes, validate, write one batch) on a fresh copy of the catalogue
    database; the baseline is calamine reading every sheet of the same file into Python
    lists, the floor of any reader."""
    from etl.pipeline import load

    info = manifest["insee_base"]
    path = data / info["file"]
    print(f"\n[insee] check + load of {path.name} ({info['qpv_rows']} QPV x "
          f"{info['variables']} variables)", flush=True)
    base = catalogue_db(data)
    fresh = WORK / "insee.duckdb"
    times, inserted = [], 0
    for _ in range(repeats):
        shutil.copy(base, fresh)
        Path(f"{fresh}.wal").unlink(missing_ok=True)
        t, (checked, result) = timed(load, path, db=fresh, user="bench")
        assert result is not None, checked.report.render(limit=20)
        inserted = result.total("inserted")
        times.append(t)

    import pandas as pd

    ours = statistics.median(times)
    floor = median_time(calamine_parse(path), max(repeats, 5))
    frames = median_time(lambda: pd.read_excel(path, engine="calamine", sheet_name=None),
                         max(repeats, 5))
    table.add("insee", "check + load of the national Insee base", ours, "s", floor,
              "python-calamine read", "<= 2x", ours <= 2 * floor, f"{inserted} values")
    table.add("insee", "check + load of the national Insee base", ours, "s", frames,
              "read_excel(calamine, every sheet)", note="the pandas read, for reference")
    stored = stored_floor(base, fresh, max(repeats, 5))
    table.add("insee", "floor: calamine's read + the stored rows inserted and committed",
              floor + stored, "s", floor, "python-calamine read", "<= 2x",
              floor + stored <= 2 * floor,
              note=f"open + insert + commit + close alone {stored:.3f} s: no check, no status")


def stored_floor(base: Path, loaded: Path, repeats: int,
                 tables: tuple[str, ...] = ("observation_v",)) -> float:
    """What storing a load's rows costs at the least: the rows the load left in `tables` of
    `loaded` (tables empty in `base`), inserted from memory (Arrow) into a fresh copy of
    `base` in one transaction (open, insert, commit, close), with no read, no check and no
    computation. Where this plus the file's read exceeds a target, no loader that stores
    these rows meets it."""
    import duckdb

    with duckdb.connect(str(loaded), read_only=True) as con:
        rows = {t: con.sql(f"SELECT * FROM {t}").to_arrow_table() for t in tables}
    copy = WORK / "plancher.duckdb"

    def setup():
        shutil.copy(base, copy)
        Path(f"{copy}.wal").unlink(missing_ok=True)

    def store():
        con = duckdb.connect(str(copy))
        con.execute("BEGIN")
        for name, table in rows.items():
            con.register("rows_in_memory", table)
            con.execute(f"INSERT INTO {name} SELECT * FROM rows_in_memory")
            con.unregister("rows_in_memory")
        con.execute("COMMIT")
        con.close()

    from bench.national import remove_db

    try:
        return median_time(store, repeats, setup)
    finally:
        remove_db(copy)


def duckdb_read(path: Path):
    """The file read into memory by DuckDB (Arrow), nothing written."""
    import duckdb

    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_table()


def values_and_statuses() -> tuple[str, ...]:
    """The tables a load of values writes: the value versions and what the stored statuses
    derive from them (issue 11: statuses maintained at load time)."""
    from suivi.store import stored_status

    return ("observation_v", *stored_status.DERIVED)


def bench_register(table: Table, repeats: int) -> None:
    """What the embedded register adds to `init`: init of the embedded default (no demo
    values) with the whole register (36 405 territories) vs with a register cut down to the
    territories the contract workbooks cite and their references (the same workbooks load
    either way: they cite register codes)."""
    import pandas as pd

    from bench.national import remove_db
    from etl.pipeline import init
    from suivi.core.config import CONTRACTS_DIR, REGISTER_FILE

    print("\n[register] what the territorial register adds to init", flush=True)
    db = WORK / "register.duckdb"
    full = pd.read_parquet(REGISTER_FILE)
    cited = set()
    for book in sorted(CONTRACTS_DIR.glob("*.xlsx")):
        sheet = pd.read_excel(book, sheet_name="territoires", engine="calamine")
        cited |= set(sheet["code"].astype(str))
        for refs in sheet.get("references", pd.Series(dtype=str)).dropna():
            cited |= set(str(refs).split(";"))
    refs = full.loc[full["code"].isin(cited), "references"].dropna().str.split(";").explode()
    small = WORK / "territoires-minimal.parquet"
    full[full["code"].isin(cited | set(refs))].to_parquet(small, index=False)

    def run(register: Path):
        remove_db(db)
        results = init(db, demo=False, register=register)
        assert all(c.ok for _, c, _ in results), [c.report.render(limit=5) for _, c, _ in results]

    with_register = median_time(lambda: run(REGISTER_FILE), repeats)
    without = median_time(lambda: run(small), repeats)
    table.add("register", "init with the register", with_register, "s", without,
              "init with only the cited territories", "adds < 2 s",
              with_register - without < 2.0, f"adds {with_register - without:.2f} s")


def bench_init(table: Table, data: Path, manifest: dict, full: bool,
               backends: list[str]) -> None:
    """National init from CSV and Parquet in a subprocess: wall time and peak memory.

    Baseline: DuckDB's own ingest of the same file into a table (read_csv / read_parquet,
    no validation, no versioning), the floor for any loader, also in a subprocess. On
    PostgreSQL (Parquet), the baseline is the same init on DuckDB; the peak memory is the
    loader's process, not the server's.
    """
    n = manifest["observations"]
    print(f"\n[init] national init: catalogue + {n} values", flush=True)
    scale_note = "" if full else "full-scale target; quick run"
    for fmt in ("csv", "parquet"):
        db = WORK / f"national-{fmt}.duckdb"
        ours = run_child(["-m", "bench.national", "--db", str(db), "--data", str(data),
                          "--format", fmt])
        raw_db = WORK / f"raw-{fmt}.duckdb"
        raw_db.unlink(missing_ok=True)
        reader = "read_csv" if fmt == "csv" else "read_parquet"
        code = (f"import duckdb, json; from bench.national import peak_rss_mb; "
                f"con = duckdb.connect({str(raw_db)!r}); "
                f"con.execute(\"CREATE TABLE v AS SELECT * FROM {reader}("
                f"{str(data / ('valeurs.' + fmt))!r})\"); con.close(); "
                f"print(json.dumps({{'peak_rss_mb': peak_rss_mb()}}))")
        raw = run_child(["-c", code])
        raw_db.unlink(missing_ok=True)
        steps = ours["output"].get("steps", {})
        table.add("init", f"init from {fmt}: wall time", ours["wall"], "s", raw["wall"],
                  f"duckdb {reader}", "< 60 s", ours["wall"] < 60, scale_note)
        table.add("init", f"init from {fmt}: peak RSS", ours["max_rss_mb"], "MB",
                  raw["max_rss_mb"], f"duckdb {reader}", "< 1536 MB",
                  ours["max_rss_mb"] < 1536, scale_note)
        if fmt == "parquet":  # issue 11's targets, against the same baselines
            table.add("init", "init from parquet: wall time (issue 11)", ours["wall"], "s",
                      raw["wall"], "duckdb read_parquet", "<= 3x",
                      ours["wall"] <= 3 * raw["wall"], scale_note)
            table.add("init", "init from parquet: peak RSS (issue 11)", ours["max_rss_mb"],
                      "MB", raw["max_rss_mb"], "duckdb read_parquet", "<= 2x",
                      ours["max_rss_mb"] <= 2 * raw["max_rss_mb"], scale_note)
        for name, step in steps.items():
            print(f"    step {name}: {step['seconds']} s, {step['inserted']} rows inserted, "
                  f"{step['warnings']} warnings")
        if fmt == "parquet":
            floor_row(table, "init", "the Parquet read",
                      lambda: duckdb_read(data / "valeurs.parquet"), catalogue_db(data), db,
                      raw["wall"], "duckdb read_parquet", 3, 3)
    if "postgresql" in backends:
        url = postgres_url("national")
        _PG.pop("national built", None)
        pg = run_child(["-m", "bench.national", "--db", url, "--data", str(data),
                        "--format", "parquet"])
        _PG["national built"] = True
        steps = ", ".join(f"{name} {step['seconds']} s"
                          for name, step in pg["output"].get("steps", {}).items())
        table.add("init", "init from parquet on PostgreSQL: wall time", pg["wall"], "s",
                  ours["wall"], "same init on DuckDB", "< 60 s", pg["wall"] < 60, steps)
        table.add("init", "init from parquet on PostgreSQL: loader's peak RSS",
                  pg["max_rss_mb"], "MB", ours["max_rss_mb"], "same init on DuckDB",
                  "< 1536 MB", pg["max_rss_mb"] < 1536, "the server's memory not counted")


def bench_status(table: Table, data: Path, repeats: int, backends: list[str]) -> None:
    """Status of every series: one SQL query vs `assess` per series in Python (DuckDB); the
    same query on PostgreSQL vs on DuckDB."""
    from bench.status import python_statuses, sql_statuses
    from suivi.store import open_store

    print("\n[status] status of every series on the national database", flush=True)
    sql, counts = {}, {}
    for backend in ["duckdb", *[b for b in backends if b != "duckdb"]]:
        with open_store(national_db(data, backend)).session(read_only=True) as s:
            sql[backend] = median_time(lambda: sql_statuses(s), repeats)
            counts[backend] = sql_statuses(s)
            if backend == "duckdb":
                t_py, py_counts = timed(python_statuses, s)
    n = sum(counts["duckdb"].values())
    agree = counts["duckdb"] == py_counts
    table.add("status", f"SQL status of {n} series", sql["duckdb"], "s", t_py,
              "Python assess per series", "faster than Python", sql["duckdb"] < t_py,
              "same counts per status" if agree
              else f"COUNTS DIFFER: {counts['duckdb']} vs {py_counts}")
    if "postgresql" in sql:
        agree = counts["postgresql"] == counts["duckdb"]
        table.add("status", f"SQL status of {n} series on PostgreSQL", sql["postgresql"], "s",
                  sql["duckdb"], "same query on DuckDB", note="same counts per status" if agree
                  else f"COUNTS DIFFER: {counts['postgresql']} vs {counts['duckdb']}")


def page_times(backend: str, name: str, db: Path | str, runs: int,
               pages: list[str] | None = None, env: dict | None = None,
               options: tuple[str, ...] = ()) -> dict:
    """Every page's times (or those of `pages`) on one database, in a child process
    (bench/pages.py, with its `options`); `env` adds settings (SUIVI_CARTES=0: no maps)."""
    env = {"SUIVI_USERS_DB": str(WORK / f"comptes-{backend}-{name}.sqlite3"), **(env or {})}
    Path(env["SUIVI_USERS_DB"]).unlink(missing_ok=True)
    if backend == "duckdb":
        copy = WORK / f"pages-{name}.duckdb"  # the app may write (schema, views): use a copy
        shutil.copy(db, copy)
        db = copy
    only = [arg for page in pages or [] for arg in ("--page", page)]
    return run_child(["-m", "bench.pages", "--db", str(db), "--runs", str(runs), *only,
                      *options], env)["output"]


def after_upload_times(backend: str, db: Path | str, upload: Path) -> dict:
    """Each page's first visit after `upload` is loaded into `db` by the warm process
    (bench/pages.py --after-upload); on DuckDB a copy of `db` takes the load, on PostgreSQL
    the database itself (last use of it in bench_pages)."""
    env = {"SUIVI_USERS_DB": str(WORK / f"comptes-{backend}-apres-chargement.sqlite3")}
    Path(env["SUIVI_USERS_DB"]).unlink(missing_ok=True)
    if backend == "duckdb":
        copy = WORK / "pages-apres-chargement.duckdb"
        shutil.copy(db, copy)
        db = copy
    return run_child(["-m", "bench.pages", "--db", str(db), "--after-upload", str(upload)],
                     env)["output"]["after_upload"]


def add_after_upload(table: Table, engine: str, times: dict, baseline: dict | None) -> None:
    """Rows of the first visits after a national upload (target: under 0.5 s, issue 11)."""
    load = times.get("(upload)", {})
    if "seconds" not in load:
        table.add("pages", f"after a national upload ({engine})", None, "s",
                  note=" | ".join(times.get("errors", []))[:200])
        return
    table.add("pages", f"the upload itself ({load['file']}, {engine})", load["seconds"], "s",
              (baseline or {}).get("(upload)", {}).get("seconds"),
              "same on DuckDB" if baseline else "")
    for page, got in times.items():
        if page == "(upload)":
            continue
        ref = (baseline or {}).get(page, {}).get("first_after_upload")
        value = got["first_after_upload"]
        table.add("pages", f"{page} first visit after the upload ({engine})", value, "s", ref,
                  "same on DuckDB" if baseline else "", "< 0.5 s", value < 0.5,
                  ("errors: " + " | ".join(got["errors"]))[:200] if got["errors"] else "")


def bench_pages(table: Table, data: Path, runs: int, backends: list[str]) -> None:
    """Every page on the national database vs the same page on the embedded default; on
    PostgreSQL, every page of the national database vs the same page on DuckDB. Targets
    (issue 11): every page's median under 0.3 s and its worst run under 0.5 s, server side,
    national database, both engines."""
    print("\n[pages] every page, AppTest server side", flush=True)
    results = {name: page_times("duckdb", name, db, runs) for name, db in
               (("default", default_db()), ("national", national_db(data)))}
    for page, nat in results["national"]["pages"].items():
        ref = results["default"]["pages"].get(page, {})
        errors = sorted(set(nat.get("errors", [])) | set(ref.get("errors", [])))
        note = ("errors: " + " | ".join(errors))[:200] if errors else ""
        if "median" not in nat:
            table.add("pages", page, None, "s", note=note)
            continue
        table.add("pages", f"{page} median", nat["median"], "s", ref.get("median"),
                  "embedded default", "< 0.3 s", nat["median"] < 0.3, note)
        table.add("pages", f"{page} worst", nat["worst"], "s", ref.get("worst"),
                  "embedded default", "< 0.5 s", nat["worst"] < 0.5,
                  f"cold {nat['cold']} s (default {ref.get('cold')} s)")
    # The first visitor of a server started without the warm-up (`streamlit run app.py`).
    plain = page_times("duckdb", "national-sans-prechauffage", national_db(data), 1,
                       options=("--not-warmed",))["pages"].get("(app.py)", {})
    table.add("pages", "(app.py) first run, server not warmed up", plain.get("cold"), "s",
              results["national"]["pages"].get("(app.py)", {}).get("cold"),
              "after the launcher's warm-up",
              note=f"the warm-up itself (suivi/web/serve.py) took "
                   f"{results['national'].get('warm_up')} s before the server listened")
    upload = data / "insee_qpv_2021.xlsx"
    print("  first visits after a national upload (the Insee-style base, 63 000 values)",
          flush=True)
    after = after_upload_times("duckdb", national_db(data), upload)
    add_after_upload(table, "DuckDB", after, None)
    if "postgresql" not in backends:
        return
    pg = page_times("postgresql", "national", national_db(data, "postgresql"), runs)
    for page, ours in pg["pages"].items():
        duck = results["national"]["pages"].get(page, {})
        note = ("errors: " + " | ".join(ours["errors"]))[:200] if ours.get("errors") else ""
        if "median" not in ours:
            table.add("pages", f"{page} on PostgreSQL", None, "s", note=note)
            continue
        table.add("pages", f"{page} median on PostgreSQL", ours["median"], "s",
                  duck.get("median"), "same page on DuckDB", "< 0.3 s", ours["median"] < 0.3,
                  note)
        table.add("pages", f"{page} worst on PostgreSQL", ours["worst"], "s",
                  duck.get("worst"), "same page on DuckDB", "< 0.5 s", ours["worst"] < 0.5,
                  f"cold {ours['cold']} s (DuckDB {duck.get('cold')} s)")
    add_after_upload(table, "PostgreSQL",
                     after_upload_times("postgresql", national_db(data, "postgresql"), upload),
                     after)


MAP_PAGE = "app_pages/vue_ensemble.py"


def bench_carte(table: Table, data: Path, runs: int) -> None:
    """Vue d'ensemble of the national contract with its map (every quartier's synthetic
    contour) vs the same page without the map (SUIVI_CARTES=0), each in its own process;
    and the figure alone: build time and the JSON the browser receives."""
    import plotly.io as pio

    from suivi.store import open_store, queries
    from suivi.views import maps

    db = national_db(data)
    with open_store(str(db)).session() as s:
        contract = queries.contracts(s)["code"].iloc[0]
        contours = queries.contours(s, contract)
        quartiers = queries.quartiers(s, contract)
        statuses = queries.series_status(s, contract)
    n = len(contours)
    print(f"\n[carte] Vue d'ensemble with the map of {n} quartiers vs without", flush=True)
    build, fig = timed(lambda: maps.choropleth(
        contours, maps.on_track_share(statuses, quartiers), "bench"))
    encode, spec = timed(lambda: pio.to_json(fig.to_dict(), validate=False))
    table.add("carte", f"map figure of {n} quartiers: build", build, "s",
              note=f"{len(fig.data)} traces for {len(maps.quartier_codes(fig))} quartiers")
    table.add("carte", "map figure: JSON sent to the browser", len(spec) / 1e6, "MB",
              note=f"serialised in {encode:.2f} s")
    with_map = page_times("duckdb", "carte", db, runs, [MAP_PAGE])["pages"][MAP_PAGE]
    without = page_times("duckdb", "sans-carte", db, runs, [MAP_PAGE],
                         {"SUIVI_CARTES": "0"})["pages"][MAP_PAGE]
    errors = sorted(set(with_map.get("errors", [])) | set(without.get("errors", [])))
    note = ("errors: " + " | ".join(errors))[:200] if errors else ""
    for measure in ("cold", "median", "worst"):
        table.add("carte", f"Vue d'ensemble with the map ({n} polygons): {measure}",
                  with_map.get(measure), "s", without.get(measure), "same page without map",
                  "<= 2x" if measure == "median" else "",
                  with_map["median"] <= 2 * without["median"] if measure == "median"
                  and without.get("median") else None, note)


def bench_rapport(table: Table, data: Path, repeats: int) -> None:
    """The Word report (suivi/views/report/docx.py): one quartier of the national synthetic
    contract, and the whole Amboise contract of the embedded default. Baseline: the HTML
    bilan of the same scope (suivi/views/bilan.build_bilan), built the same way."""
    from functools import partial

    from bench.generate import CONTRACT_CODE, YEARS
    from suivi.store import open_store, queries
    from suivi.views import bilan as tb
    from suivi.views.report.docx import build_report

    print("\n[rapport] rapport annuel (Word): national quartier, whole Amboise", flush=True)
    cases = [(national_db(data), CONTRACT_CODE, int(YEARS[-1]), True, 10.0, "national"),
             (default_db(), "AMBOISE-2015", 2023, False, 5.0, "Amboise")]
    for db, contract, year, one_quartier, limit, name in cases:
        with open_store(db).session(read_only=True) as con:
            quartier = queries.quartiers(con, contract)["code"].iloc[0] if one_quartier \
                else None
            scope_args = (con, contract, year, quartier)
            cold, report = timed(build_report, *scope_args)
            warm = median_time(partial(build_report, *scope_args), repeats)
            bilan = median_time(partial(tb.build_bilan, *scope_args), repeats)
        scope = f"quartier {quartier}" if quartier else "whole contract"
        worst = max(cold, warm)
        table.add("rapport", f"{name} {contract} {year}, {scope}", worst, "s", bilan,
                  "bilan HTML, same scope", f"< {limit:g} s", worst < limit,
                  f"median {warm:.2f} s, first {cold:.2f} s, {len(report.docx) // 1024} KiB")


def bench_browser(table: Table, data: Path, clicks: int) -> None:
    """The app in Chromium (bench/browser.py): sidebar clicks and a shared link, on the
    embedded default and on the national database, each in its own server process."""
    from bench.generate import CONTRACT_CODE, YEARS

    print("\n[browser] Chromium: sidebar clicks, shared link", flush=True)
    results = {}
    for name, db, contract, year in (("default", default_db(), "AMBOISE-2015", 2022),
                                     ("national", national_db(data), CONTRACT_CODE,
                                      int(YEARS[-1]))):
        copy = WORK / f"browser-{name}.duckdb"
        shutil.copy(db, copy)
        env = {"SUIVI_USERS_DB": str(WORK / f"comptes-browser-{name}.sqlite3")}
        Path(env["SUIVI_USERS_DB"]).unlink(missing_ok=True)
        results[name] = run_child(["-m", "bench.browser", "--db", str(copy), "--contract",
                                   contract, "--year", str(year), "--clicks", str(clicks),
                                   "--log", str(WORK / f"browser-{name}.log")], env)["output"]
    ref, nat = results["default"], results["national"]
    table.add("browser", "sidebar click, median (embedded default)", ref["clicks"]["median"],
              "s", target="<= 0.6 s", met=ref["clicks"]["median"] <= 0.6,
              note=f"worst {ref['clicks']['worst']} s")
    table.add("browser", "sidebar click, median (national)", nat["clicks"]["median"], "s",
              ref["clicks"]["median"], "embedded default", "<= 1 s",
              nat["clicks"]["median"] <= 1.0, f"worst {nat['clicks']['worst']} s")
    for page, times in nat["pages"].items():
        table.add("browser", f"click to {page} (national)", times["median"], "s",
                  ref["pages"].get(page, {}).get("median"), "embedded default",
                  note=f"worst {times['worst']} s")
    table.add("browser", "shared link, Vue d'ensemble drawn (national)",
              nat["shared_link"]["median"], "s", ref["shared_link"]["median"],
              "embedded default", "<= 3 s", nat["shared_link"]["worst"] <= 3.0,
              f"worst {nat['shared_link']['worst']} s, fresh context each time")


def bench_cpu(table: Table) -> None:
    """CPU per page load on the embedded default (bench/cpu.py): the app server with and
    without Streamlit's source file watcher, Chromium in a fresh context and in one tab."""
    print("\n[cpu] CPU per page load: app server, Chromium", flush=True)
    copy = WORK / "cpu-default.duckdb"
    shutil.copy(default_db(), copy)
    out = run_child(["-m", "bench.cpu", "--db", str(copy), "--log", str(WORK / "cpu.log")],
                    {"SUIVI_USERS_DB": str(WORK / "comptes-cpu.sqlite3")})["output"]
    table.add("cpu", "app server CPU per page load, no file watcher (project setting)",
              out["server CPU per load, watcher none"], "s",
              out["server CPU per load, watcher auto"], "with Streamlit's watcher")
    table.add("cpu", "Chromium CPU per page load, the tests' shared tab",
              out["Chromium CPU per load, same tab"], "s",
              out["Chromium CPU per load, fresh context"], "a fresh context each load")


# --- Entry point -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help=f"scale {QUICK_SCALE} sanity check")
    p.add_argument("--scale", type=float, help="dataset scale (default 1.0, or 0.05 if --quick)")
    p.add_argument("--only", default=",".join(BENCHMARKS),
                   help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="duckdb,postgresql (init, status and pages side by side) or duckdb")
    p.add_argument("--repeats", type=int, default=3, help="runs of the fast measures")
    p.add_argument("--page-runs", type=int, help="sessions per page (default 5, 3 if --quick)")
    args = p.parse_args(argv)
    scale = args.scale or (QUICK_SCALE if args.quick else 1.0)
    full = scale >= 1.0
    data = ROOT / "bench" / "data" / ("" if full and not args.quick else f"scale-{scale:g}")
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = set(only) - set(BENCHMARKS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if set(backends) - set(BACKENDS) or "duckdb" not in backends:
        p.error(f"--backends: duckdb, optionally with postgresql (got {args.backends})")

    # Ctrl-C and kill (SIGTERM) still run atexit, which stops the PostgreSQL server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    WORK.mkdir(parents=True, exist_ok=True)
    manifest = ensure_data(data, scale)
    print(f"Dataset: {manifest['observations']} values, {manifest['territories']} territories, "
          f"{manifest['indicators']} indicators (scale {scale}, {data})", flush=True)
    table = Table()
    start = time.perf_counter()
    runs = {
        "xlsx": lambda: bench_xlsx(table, data, manifest, args.repeats),
        "insee": lambda: bench_insee(table, data, manifest, args.repeats),
        "register": lambda: bench_register(table, args.repeats),
        "init": lambda: bench_init(table, data, manifest, full, backends),
        "status": lambda: bench_status(table, data, args.repeats, backends),
        "pages": lambda: bench_pages(table, data, args.page_runs or (5 if full else 3),
                                     backends),
        "carte": lambda: bench_carte(table, data, args.page_runs or (5 if full else 3)),
        "rapport": lambda: bench_rapport(table, data, args.repeats),
        "browser": lambda: bench_browser(table, data, args.repeats),
        "cpu": lambda: bench_cpu(table),
    }
    for name in BENCHMARKS:
        if name in only:
            try:
                runs[name]()
            except Exception as exc:  # one broken benchmark must not hide the others
                print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
                table.add(name, "benchmark failed", None, "", note=f"{type(exc).__name__}: "
                          f"{str(exc)[:200]}")

    mode = "full" if full else "quick"
    previous = OUT / f"results-{mode}.json"
    if set(only) != set(BENCHMARKS) and previous.exists():  # --only: keep the other rows
        kept = [r for r in json.loads(previous.read_text()).get("rows", [])
                if r["bench"] not in only]
        table.rows = kept + table.rows
    print("\n" + table.render())
    OUT.mkdir(parents=True, exist_ok=True)
    result = {"scale": scale, "quick": not full, "dataset": manifest,
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()},
              "seconds": round(time.perf_counter() - start, 1), "rows": table.rows}
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    (OUT / "results.json").write_text(text)
    (OUT / f"results-{mode}.json").write_text(text)  # kept per mode
    print(f"\nWritten: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
