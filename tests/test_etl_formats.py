"""Every accepted input format lands the same values: xlsx long and wide, CSV, Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from etl.parsing import parse_numbers
from etl.pipeline import load
from tests.conftest import connection
from tests.workbooks import write_csv, write_xlsx


def current_values(db, indicator="IND-TX"):
    with connection(db, read_only=True) as con:
        return con.df(
            "SELECT territory_code, year, nature, breakdown, modality, value, status, source "
            "FROM observation WHERE indicator_code = ? AND year >= 2021 AND nature = 'realise' "
            "ORDER BY territory_code, year, nature, breakdown, modality",
            [indicator])


def test_french_numbers_parse_column_wise():
    raw = pd.Series(["12,5", "12,5 %", "1 234", "1\u00a0234,5", "1\u202f234", "-3,25",
                     "1.234,5", 7, 2.5, "", None, "douze"], dtype=object)
    values, bad = parse_numbers(raw)
    assert values.tolist()[:9] == [12.5, 12.5, 1234.0, 1234.5, 1234.0, -3.25, 1234.5, 7.0, 2.5]
    assert values[9:].isna().all(), "an empty cell is missing, never 0"
    assert bad.tolist() == [False] * 11 + [True]


LONG = [["Indicateur", "Territoire", "Année", "Nature", "Valeur", "Ventilation", "Modalité",
         "Source"],
        ["IND-TX", "T-QPV1", 2021, "réalisé", "43,5 %", None, None, "INSEE"],
        ["IND-TX", "T-QPV1", 2021, "realise", "41", "sexe", "F", "INSEE"],
        ["IND-TX", "T-QPV2", 2022, "realise", "1 012,25", None, None, "INSEE"]]


def expected_frame():
    return pd.DataFrame({
        "territory_code": ["T-QPV1", "T-QPV1", "T-QPV2"], "year": [2021, 2021, 2022],
        "nature": ["realise"] * 3, "breakdown": ["", "sexe", ""], "modality": ["", "F", ""],
        "value": [43.5, 41.0, 1012.25], "status": ["valide"] * 3, "source": ["INSEE"] * 3,
    })


def assert_landed(db):
    got = current_values(db)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected_frame(), check_dtype=False)


def test_xlsx_long_with_accented_headers(test_db, tmp_path):
    checked, result = load(write_xlsx(tmp_path / "long.xlsx", {"Valeurs": LONG}), db=test_db)
    assert checked.ok, checked.report.render()
    assert_landed(test_db)


def test_xlsx_wide_one_column_per_year(test_db, tmp_path):
    rows = [["indicateur", "territoire", "nature", "ventilation", "modalite", "source", "2021", "2022"],
            ["IND-TX", "T-QPV1", "realise", None, None, "INSEE", "43,5", None],
            ["IND-TX", "T-QPV1", "realise", "sexe", "F", "INSEE", 41, None],
            ["IND-TX", "T-QPV2", "realise", None, None, "INSEE", None, "1 012,25"]]
    checked, result = load(write_xlsx(tmp_path / "large.xlsx", {"valeurs": rows}), db=test_db)
    assert checked.ok, checked.report.render()
    assert checked.staged.skipped_rows == 3  # empty year cells are missing values, not zeros
    assert_landed(test_db)


def test_wide_layout_error_names_the_year_column(test_db, tmp_path):
    rows = [["indicateur", "territoire", "2021", "2022"], ["IND-TX", "T-QPV1", "43,5", "beaucoup"]]
    checked, result = load(write_xlsx(tmp_path / "large.xlsx", {"valeurs": rows}), db=test_db)
    assert result is None
    err = checked.report.table.iloc[0]
    assert (err.ligne, err.colonne, err.valeur) == (2, "2022", "beaucoup")


@pytest.mark.parametrize("sep,encoding", [(",", "utf-8"), (";", "utf-8"), (";", "cp1252"),
                                          (",", "cp1252")])
def test_csv_separators_and_encodings(test_db, tmp_path, sep, encoding):
    rows = [[("" if v is None else v) for v in r] for r in LONG]
    if sep == ",":  # French decimal commas must be quoted in a comma-separated file
        rows = [[f'"{v}"' if isinstance(v, str) and "," in v else v for v in r] for r in rows]
    path = write_csv(tmp_path / "valeurs.csv", rows, sep=sep, encoding=encoding)
    checked, result = load(path, db=test_db)
    assert checked.ok, checked.report.render()
    assert_landed(test_db)


def test_parquet(test_db, tmp_path):
    frame = pd.DataFrame(LONG[1:], columns=LONG[0])
    path = tmp_path / "valeurs.parquet"
    frame.to_parquet(path)
    checked, result = load(path, db=test_db)
    assert checked.ok, checked.report.render()
    assert_landed(test_db)


def test_missing_values_and_statuses(test_db, tmp_path):
    rows = [["indicateur", "territoire", "annee", "nature", "valeur", "statut"],
            ["IND-DE", "T-QPV1", 2021, "realise", None, None],          # not filled: skipped
            ["IND-DE", "T-QPV2", 2021, "realise", "s", None],           # secret statistique
            ["IND-DE", "T-QPV2", 2022, "realise", None, "non_disponible"],
            ["IND-DE", "T-COM", 2021, "realise", 0, None]]              # a real zero
    checked, result = load(write_xlsx(tmp_path / "nd.xlsx", {"valeurs": rows}), db=test_db)
    assert checked.ok, checked.report.render()
    got = current_values(test_db, "IND-DE")
    assert got[["territory_code", "year", "status"]].values.tolist() == [
        ["T-COM", 2021, "valide"], ["T-QPV2", 2021, "secret_statistique"],
        ["T-QPV2", 2022, "non_disponible"]]
    assert got["value"].iloc[0] == 0.0 and got["value"].iloc[1:].isna().all()


def test_unreadable_files_are_rejected_with_a_french_message(test_db, tmp_path):
    bad = tmp_path / "faux.xlsx"
    bad.write_bytes(b"%PDF-1.4 not a workbook")
    checked, result = load(bad, db=test_db)
    assert result is None and "n'est pas un classeur Excel lisible" in checked.report.render()
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    checked, _ = load(empty, db=test_db)
    assert "est vide" in checked.report.render()
    other = tmp_path / "notes.docx"
    other.write_bytes(b"PK")
    checked, _ = load(other, db=test_db)
    assert "non pris en charge" in checked.report.render()


def test_init_from_a_folder_of_workbooks_and_bulk_value_files(tmp_path):
    """National init: the territorial register, the catalogue workbook, then values in Parquet
    (its CSV twin skipped)."""
    import subprocess
    import sys

    from suivi.core.config import ROOT
    from tests.workbooks import VALUES, full_workbook

    folder = tmp_path / "national"
    folder.mkdir()
    full_workbook(folder / "catalogue.xlsx", values=[VALUES[0]])
    more = pd.DataFrame(LONG[1:], columns=LONG[0])
    more.to_parquet(folder / "valeurs.parquet")
    write_csv(folder / "valeurs.csv", [["indicateur", "territoire", "annee", "nature", "valeur"],
                                       ["IND-TX", "T-QPV1", 2030, "realise", "1"]])
    db = tmp_path / "national.duckdb"
    res = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "init", "--dossier",
                          str(folder), "--no-demo"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [line.split(" : ")[0] for line in res.stdout.splitlines()[:-1]]
    assert lines == ["territoires.parquet", "catalogue.xlsx", "valeurs.parquet"]
    assert_landed(db)


def test_init_from_a_folder_holding_amboise_adds_its_demonstration_values(tmp_path):
    """`init --dossier` on a folder with amboise.xlsx, demo values kept (the default): the
    folder's workbook, then the generated values, flagged as demonstration."""
    import shutil

    from suivi.core.config import CONTRACTS_DIR
    from tests.conftest import cli_in_process, scalar

    folder = tmp_path / "contrats"
    folder.mkdir()
    shutil.copy(CONTRACTS_DIR / "amboise.xlsx", folder)
    db = tmp_path / "amboise.duckdb"
    res = cli_in_process("--db", str(db), "init", "--dossier", str(folder))
    assert res.returncode == 0, res.stdout + res.stderr
    names = [line.split(" : ")[0] for line in res.stdout.splitlines()[:-1]]
    assert names[1:] == ["amboise.xlsx", "demonstration-amboise (valeurs générées)"]
    with connection(db) as s:
        assert scalar(s, "SELECT count(*) FROM observation WHERE status = 'demo'") > 0
        assert scalar(s, "SELECT count(DISTINCT contract_code) FROM indicator") == 1
