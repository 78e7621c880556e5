"""Build the national database: the register, the catalogue workbook, then the values file.

    python -m bench.national --db /tmp/national.duckdb --data bench/data --format parquet

`etl.pipeline.init` only globs `*.xlsx` of a folder, and 3 million values do not fit in a
workbook (1 048 576 rows a sheet), so this is the national `init`: the same two
`etl.pipeline.load` calls staff would make (catalogue, then values). Run as a script it prints
its step times and its own peak memory as JSON on the last line, so that bench/__main__.py
can run it in a subprocess and measure it without the parent's allocations.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from etl.pipeline import load
from suivi.core.config import REGISTER_FILE, is_postgres

CATALOGUE = "national.xlsx"


def peak_rss_mb() -> float | None:
    """This process's own peak RSS (VmHWM), or None where /proc is missing.

    Not getrusage: on Linux the child's ru_maxrss starts from the parent's RSS at fork time
    (the high-water mark survives exec), which would charge the benchmark's own memory to it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def remove_db(db: Path | str) -> None:
    """Start from nothing: delete a DuckDB file (and its WAL and lock), or empty a
    PostgreSQL database."""
    if is_postgres(str(db)):
        from suivi.store import open_store

        open_store(str(db)).drop_all()
        return
    db = Path(db)
    for extra in (db, Path(f"{db}.wal"), db.with_suffix(".lock")):
        extra.unlink(missing_ok=True)


def init_national(db: Path | str, data: Path, fmt: str = "parquet") -> dict:
    """Fresh database (a DuckDB path or a PostgreSQL URL): the territorial register (as
    `init` does), the catalogue, then `valeurs.<fmt>`; raises if a file is rejected."""
    remove_db(db)
    if not is_postgres(str(db)):
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    steps = {}
    for path in (REGISTER_FILE, data / CATALOGUE, data / f"valeurs.{fmt}"):
        name = path.name
        start = time.perf_counter()
        checked, result = load(path, db=db, user="bench")
        if result is None:
            raise SystemExit(f"{name} rejected:\n{checked.report.render(limit=20)}")
        steps[name] = {"seconds": round(time.perf_counter() - start, 3),
                       "inserted": result.total("inserted"),
                       "warnings": checked.report.n_warnings}
    return steps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.national")
    p.add_argument("--db", required=True, help="a DuckDB path or a PostgreSQL URL")
    p.add_argument("--data", default="bench/data", type=Path)
    p.add_argument("--format", default="parquet", choices=["csv", "parquet"])
    args = p.parse_args(argv)
    start = time.perf_counter()
    steps = init_national(args.db, args.data, args.format)
    print(json.dumps({"steps": steps, "seconds": round(time.perf_counter() - start, 3),
                      "peak_rss_mb": peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
