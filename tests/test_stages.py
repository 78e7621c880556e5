"""Progress of long work: the CLI prints each stage with its counts (to stderr, in French),
for `load` and for `init`; the pipeline reports them to any callback."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import openpyxl

from etl.pipeline import load
from etl.template import write_template
from suivi.core.config import ROOT
from tests.conftest import connection


def filled_template(db, out):
    with connection(db) as con:
        write_template(con, "AMBOISE-2015", 2024, out)
    wb = openpyxl.load_workbook(out)
    ws = wb["valeurs"]
    header = [c.value for c in ws[1]]
    for row in (2, 3, 4):
        ws.cell(row, header.index("valeur") + 1).value = 10 + row
    wb.save(out)
    return ws.max_row - 1  # data rows in the template


def test_cli_load_prints_stages_with_counts(duckdb_default, tmp_path):
    db = tmp_path / "suivi.duckdb"
    shutil.copy(duckdb_default, db)
    rows = filled_template(db, tmp_path / "saisie.xlsx")
    run = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "load",
                          str(tmp_path / "saisie.xlsx")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    err = run.stderr
    n = f"{rows:,}".replace(",", "\u202f")
    assert re.search(rf"Lecture du fichier : {n} / {n} ligne\(s\) lue\(s\)", err), err
    assert re.search(rf"Contrôle des valeurs : {n} / {n} ligne\(s\) contrôlée\(s\)", err), err
    assert re.search(r"Écriture en base : (\d+) / \1 ligne\(s\) traitée\(s\)", err), err
    order = [err.index(s) for s in ("Lecture", "Attente de l'accès", "Contrôle", "Écriture")]
    assert order == sorted(order)
    assert "Lot" in run.stdout and "Lecture" not in run.stdout  # results only on stdout


def test_cli_init_numbers_the_files(tmp_path):
    run = subprocess.run([sys.executable, "-m", "etl", "--db", str(tmp_path / "n.duckdb"),
                          "init"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    files = re.findall(r"^\[(\d+)/(\d+)\] (.+)$", run.stderr, re.M)
    assert len(files) >= 3 and files[0][:2] == ("1", files[0][1])
    assert [int(i) for i, _, _ in files] == list(range(1, int(files[0][1]) + 1))
    assert any(name == "amboise.xlsx" for _, _, name in files)
    assert run.stderr.count("Écriture en base") == len(files)


def test_a_callback_hears_every_stage_start_and_end(duckdb_default, tmp_path):
    db = tmp_path / "suivi.duckdb"
    shutil.copy(duckdb_default, db)
    rows = filled_template(db, tmp_path / "saisie.xlsx")
    heard = []
    checked, result = load(tmp_path / "saisie.xlsx", db=db,
                           progress=lambda *a: heard.append(a))
    assert result is not None and result.batch_id
    stages = [s for s, _, _ in heard]
    assert stages[:2] == ["read", "read"] and stages.count("write") == 2
    assert ("read", rows, rows) in heard and ("check", rows, rows) in heard
    assert heard.index(("check", 0, rows)) < heard.index(("check", rows, rows))
