"""The operations staff run, shared by the CLI and the Import page: check, load, init.

Each opens its own short session on the store (DuckDB file or PostgreSQL server); loads hold
the store's write lock from validation to commit, so a file is always validated against the
state it is written onto.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etl.readers import Workbook
from etl.report import Report
from etl.sources import LayoutError, Options, ReadError, read_workbook
from etl.validate import Staged, validate
from suivi.core import memory
from suivi.core.config import CONTRACTS_DIR, REGISTER_FILE
from suivi.core.steps import Progress, step
from suivi.store import open_store
from suivi.store.load import LoadResult, load_tables, preview
from suivi.store.schema import ensure_schema

DEMO_NAME = "demonstration-amboise (valeurs générées)"


@dataclass
class Checked:
    workbook: Workbook | None
    report: Report
    staged: Staged
    version: tuple | None = None  # the batch log when checked: unchanged = still valid
    options: Options | None = None

    @property
    def ok(self) -> bool:
        return self.workbook is not None and self.report.ok


def mapping_from_file(path) -> dict[str, str]:
    """`--correspondance FILE`: a CSV or xlsx with a column of source columns (`colonne` or
    `variable`) and a column of indicator codes (`indicateur`)."""
    from etl.readers import cell_text, read_raw
    from suivi.core.vocab import fold

    raw = read_raw(path)
    sheet = next(iter(raw.sheets))
    grid = raw.sheets[sheet]
    header = [fold(cell_text(v)) for v in (grid.columns if raw.headed else grid.iloc[0])]
    col = next((i for i, h in enumerate(header) if h in ("colonne", "variable")), None)
    ind = next((i for i, h in enumerate(header) if h == "indicateur"), None)
    if col is None or ind is None:
        raise ReadError(f"Table de correspondance « {raw.name} » : il faut une colonne "
                        "« colonne » (ou « variable ») et une colonne « indicateur ». Colonnes "
                        f"trouvées : {', '.join(h for h in header if h) or 'aucune'}.")
    body = grid if raw.headed else grid.iloc[1:]
    pairs = {cell_text(c): cell_text(i) for c, i in zip(body.iloc[:, col], body.iloc[:, ind])}
    return {c: i for c, i in pairs.items() if c and i}


def _with_mapping(wb: Workbook, options: Options | None) -> Workbook:
    """A mapping given for this load is also saved in the catalogue, in the same batch, so
    that next year's file maps itself."""
    if options is None or not options.mapping:
        return wb
    rows = list(options.mapping.items())
    wb.sheets["correspondances"] = pd.DataFrame({
        "indicateur": [i for _, i in rows], "variable": [c for c, _ in rows],
        "_row": range(2, 2 + len(rows))})
    return wb


def _rows(wb: Workbook | None) -> int:
    return sum(len(frame) for frame in wb.sheets.values()) if wb is not None else 0


def _read(source, name, options: Options | None = None,
          progress: Progress | None = None) -> tuple[Workbook | None, Report]:
    step(progress, "read")
    try:
        wb = _with_mapping(read_workbook(source, name, options), options)
        memory.give_back(_rows(wb))  # the reader's buffers (250 MB for a national Parquet file)
        step(progress, "read", _rows(wb), _rows(wb))
        return wb, Report()
    except LayoutError as exc:
        report = Report()
        report.file_error(str(exc), sheet=exc.sheet, column=exc.column, row=exc.row,
                          value=exc.value)
        return None, report
    except ReadError as exc:
        report = Report()
        report.file_error(str(exc))
        return None, report


def _version(s) -> tuple | None:
    """The batch log when a file was checked: unchanged means the check still holds."""
    if s is None:
        return None
    return tuple(s.first("SELECT count(*), coalesce(max(id), 0) FROM batch"))


def check_workbook(wb: Workbook, s, options: Options | None = None,
                   progress: Progress | None = None, consume: bool = False) -> Checked:
    rows = _rows(wb)
    step(progress, "check", 0, rows)
    report, staged = validate(wb, s, options, consume)
    step(progress, "check", rows, rows)
    return Checked(wb, report, staged, _version(s), options)


def check(source, name: str | None = None, db=None, options: Options | None = None,
          progress: Progress | None = None) -> Checked:
    """Validate a file against the store; writes nothing."""
    wb, report = _read(source, name, options, progress)
    if wb is None:
        return Checked(None, report, Staged(), options=options)
    store = open_store(db)
    if not store.exists():
        return check_workbook(wb, None, options, progress)
    with store.session() as s:
        ensure_schema(s)
        return check_workbook(wb, s, options, progress)


def preview_changes(checked: Checked, db=None, progress: Progress | None = None) -> pd.DataFrame:
    """What loading a checked file would change: `change` new / changed / same, row by row."""
    n = checked.staged.n_observations
    step(progress, "preview", 0, n)
    with open_store(db).session() as s:
        ensure_schema(s)
        out = preview(s, checked.staged.tables.get("observation"))
    step(progress, "preview", n, n)
    return out


def _write(s, checked: Checked, user: str | None, progress: Progress | None = None,
           release: bool = False) -> LoadResult:
    wb = checked.workbook
    n = sum(len(t) for t in checked.staged.tables.values() if t is not None)
    step(progress, "write", 0, n)
    result = load_tables(s, checked.staged.tables, wb.name, wb.sha256, user, release=release)
    step(progress, "write", n, n)
    return result


def load_workbook(wb: Workbook, db=None, user: str | None = None,
                  options: Options | None = None, progress: Progress | None = None,
                  ) -> tuple[Checked, LoadResult | None]:
    store = open_store(db)
    step(progress, "lock")
    with store.write_lock(), store.session() as s:
        ensure_schema(s)
        # Validated and written under this lock: the raw cells go once checked, and each
        # staged table once the engine holds it (a national file's peak memory).
        checked = check_workbook(wb, s, options, progress, consume=True)
        if not checked.ok:
            return checked, None
        wb.sheets.clear()
        return checked, _write(s, checked, user, progress, release=True)


def load_checked(checked: Checked, db=None, user: str | None = None,
                 progress: Progress | None = None):
    """Load a file checked earlier (the Import page's confirm button). When no batch was
    written since the check, its staged rows are loaded as they are; otherwise the file is
    validated again against the new state, inside the write lock."""
    store = open_store(db)
    step(progress, "lock")
    with store.write_lock(), store.session() as s:
        ensure_schema(s)
        if checked.version is None or checked.version != _version(s) or not checked.ok:
            checked = check_workbook(checked.workbook, s, checked.options, progress)
            if not checked.ok:
                return checked, None
        return checked, _write(s, checked, user, progress)


def load(source, name: str | None = None, db=None, user: str | None = None,
         options: Options | None = None, progress: Progress | None = None):
    """Validate then load a file as one batch; nothing is written if any error is found."""
    wb, report = _read(source, name, options, progress)
    if wb is None:
        return Checked(None, report, Staged(), options=options), None
    return load_workbook(wb, db, user, options, progress)


def demo_workbook(contracts_dir: Path = CONTRACTS_DIR) -> Workbook:
    from etl.demo import demo_values

    frame = demo_values(contracts_dir / "amboise.xlsx").astype("object")
    frame = frame.rename(columns=lambda c: str(c))
    frame["_row"] = range(2, 2 + len(frame))
    digest = pd.util.hash_pandas_object(frame, index=False).sum()
    return Workbook(name=DEMO_NAME, sha256=f"demo-{digest:x}", sheets={"valeurs": frame})


def init_files(folder: Path) -> list[Path]:
    """What `init` loads from a folder: the workbooks first (they define the codes), then the
    bulk value files; a CSV with a Parquet twin of the same name is the same data: skipped."""
    folder = Path(folder)
    workbooks = sorted(folder.glob("*.xlsx"))
    parquet = sorted(folder.glob("*.parquet"))
    twins = {p.stem for p in parquet}
    csv = [p for p in sorted(folder.glob("*.csv")) if p.stem not in twins]
    return workbooks + parquet + csv


def init(db=None, demo: bool = True, contracts_dir: Path = CONTRACTS_DIR,
         user: str | None = None, register: Path | None = REGISTER_FILE,
         progress: Progress | None = None,
         ) -> list[tuple[str, Checked, LoadResult | None]]:
    """Build (or bring up to date) the database: the territorial register first, then a
    folder of contract files: by default the embedded workbooks, or e.g. a national catalogue
    workbook plus its values in Parquet.

    `progress` hears « files » (done, total) before each file, with the file's name in the
    callback's `file` attribute when it has one, then that file's own stages."""
    store = open_store(db)
    contracts_dir = Path(contracts_dir)  # the CLI's --dossier comes as text
    results = []
    has_register = register is not None and Path(register).exists()
    files = init_files(contracts_dir)
    has_demo = demo and (Path(contracts_dir) / "amboise.xlsx").exists()
    total = len(files) + has_register + has_demo

    def next_file(name: str) -> None:
        if progress is not None and hasattr(progress, "file"):
            progress.file = name
        step(progress, "files", len(results), total)

    if has_register:  # official territories, own batch
        next_file(Path(register).name)
        checked, result = load(register, db=store, user=user or "init",
                               name="territoires.parquet", progress=progress)
        results.append((Path(register).name, checked, result))
    for file in files:
        next_file(file.name)
        checked, result = load(file, db=store, user=user or "init", progress=progress)
        results.append((file.name, checked, result))
    if has_demo:
        next_file(DEMO_NAME)
        checked, result = load_workbook(demo_workbook(contracts_dir), store, user or "init",
                                        progress=progress)
        results.append((DEMO_NAME, checked, result))
    step(progress, "files", len(results), total)
    return results
