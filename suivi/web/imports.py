"""What the Import page does, kept out of the page: check an upload once, preview it, load it,
undo a batch, save a column mapping, build the template; and the upload's state across the
page's reruns (`Uploads`).

`load`, `rollback` and `save_mapping` are the only functions here that change the store; the
page checks the user's role (suivi/web/auth.py) right before calling them.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.pipeline import Checked, check, load_checked, load_workbook, preview_changes
from etl.readers import Workbook
from etl.sources import LAYOUTS, Options
from etl.template import write_template
from suivi.core.exports import csv_bytes
from suivi.core.steps import Progress, describe
from suivi.store import history, open_store
from suivi.store.load import LoadResult

#: Recorded as the batch's user when nobody is logged in (reading and import left open).
APP_USER = "application (page Import)"
AUTO = "auto"


def digest(data: bytes) -> str:
    """Identity of an upload: the same bytes are checked and loaded once per session."""
    return hashlib.sha256(data).hexdigest()


def layout_choices() -> dict[str, str]:
    """The layouts a file may be forced into, French titles (first: recognise it)."""
    return {AUTO: "Reconnaître automatiquement", **{lay.key: lay.title for lay in LAYOUTS}}


def options(layout: str = AUTO, year: int | None = None, contract: str | None = None):
    return Options(layout=None if layout == AUTO else layout, year=year, contract=contract)


@dataclass
class Upload:
    """One uploaded file through its life on the page: checked, previewed, loaded."""

    name: str
    checked: Checked
    preview: pd.DataFrame | None
    version: tuple
    result: LoadResult | None = None
    steps: list[str] = field(default_factory=list)  # what the check, then the load, did

    @property
    def unmapped(self) -> list[str]:
        """Columns of a public file that no indicator of the contract claims yet."""
        wb = self.checked.workbook
        return list(wb.meta.get("unmapped", [])) if wb is not None else []


@dataclass
class Uploads:
    """The page's memory of uploads (kept in the session): a file is checked once per data
    version, and a file already loaded is never loaded again by a second click."""

    items: dict[str, Upload] = field(default_factory=dict)

    def needs_check(self, data: bytes, settings: tuple, version: tuple) -> bool:
        """Whether `current` will check the file (it is new, or the store changed since)."""
        entry = self.items.get(digest(data + repr(settings).encode()))
        return entry is None or (entry.result is None and entry.version != version)

    def current(self, db, data: bytes, name: str, settings: tuple, version: tuple,
                progress: Progress | None = None) -> Upload:
        key = digest(data + repr(settings).encode())
        entry = self.items.get(key)
        if entry is None or (entry.result is None and entry.version != version):
            log = StepLog(progress)
            checked = check(data, name=name, db=db, options=options(*settings), progress=log)
            preview = preview_changes(checked, db, progress=log) if checked.ok else None
            entry = Upload(name, checked, preview, version, steps=log.lines)
            self.items = {key: entry}  # keep only the current upload in memory
        return entry

    def forget_batch(self, batch_id: int) -> None:
        """A rolled-back batch's file may be loaded again."""
        for item in self.items.values():
            if item.result is not None and item.result.batch_id == batch_id:
                item.result = None


class StepLog:
    """Passes each stage on to `progress` (the page's status box) and keeps the last line of
    each stage, in French, to show once the work is done."""

    def __init__(self, progress: Progress | None = None):
        self.progress = progress
        self.done: dict[str, str] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        self.done[stage] = describe(stage, done, total)
        if self.progress is not None:
            self.progress(stage, done, total)

    @property
    def lines(self) -> list[str]:
        return list(self.done.values())


def load(entry: Upload, db, user: str | None = None, progress: Progress | None = None) -> bool:
    """Load a checked upload as one batch (revalidated under the write lock if the store
    changed since, all or nothing). False when the new check refused it."""
    log = StepLog(progress)
    checked, result = load_checked(entry.checked, db, user or APP_USER, progress=log)
    entry.steps = log.lines
    if result is None:
        entry.checked, entry.preview = checked, None
        return False
    entry.result = result
    return True


def rollback(db, batch_id: int, user: str | None = None) -> int:
    """Undo a load batch; raises history.RollbackError with a French message if refused."""
    store = open_store(db)
    with store.write_lock(), store.session() as s:
        return history.rollback(s, int(batch_id), user or APP_USER)


def batches(db) -> pd.DataFrame:
    store = open_store(db)
    if not store.exists():
        return pd.DataFrame(columns=["id", "kind", "file_name", "user_name", "loaded_at",
                                     "inserted", "updated", "unchanged", "is_demo",
                                     "target_batch", "rolled_back_by", "sha256"])
    with store.session() as s:
        return history.batches(s)


def save_mapping(db, mapping: dict[str, str], user: str | None = None):
    """Save « column -> indicator » choices into the catalogue (indicator_variable) as a
    batch like any other, so that next year's file maps itself."""
    pairs = sorted((c, i) for c, i in mapping.items() if i)
    frame = pd.DataFrame({"indicateur": [i for _, i in pairs], "variable": [c for c, _ in pairs],
                          "_row": range(2, 2 + len(pairs))})
    wb = Workbook(name="correspondance des colonnes (page Import)",
                  sha256=digest(repr(pairs).encode()), sheets={"correspondances": frame})
    return load_workbook(wb, db, user or APP_USER)


def template_bytes(db, contract: str, year: int) -> bytes:
    """The pre-filled `valeurs` workbook of a contract and year, as the bytes to download."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modele.xlsx"
        with open_store(db).session() as s:
            write_template(s, contract, int(year), out)
        return out.read_bytes()


def report_csv(table: pd.DataFrame) -> bytes:
    """The validation report as a CSV French Excel opens; cells echoed from the uploaded file
    are neutralised (a partner's "=..." must not run in the staff's spreadsheet)."""
    return csv_bytes(table)
