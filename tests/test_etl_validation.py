"""Every blocking error and warning: located French message, database left as it was."""

from __future__ import annotations

import pytest

from etl.pipeline import check, load
from tests.conftest import assert_same, snapshot
from tests.workbooks import write_xlsx

HEAD = ["indicateur", "territoire", "annee", "nature", "valeur"]


def rejected(db, tmp_path, rows, name="envoi.xlsx"):
    """Load a valeurs sheet that must be rejected; return its report table."""
    before = snapshot(db)
    path = write_xlsx(tmp_path / name, {"valeurs": rows})
    checked, result = load(path, db=db)
    assert result is None, "the file should have been rejected"
    assert not checked.ok
    assert_same(before, snapshot(db))
    return checked.report.table


def only_error(table):
    errors = table[table["gravite"] == "erreur"]
    assert len(errors) >= 1
    return errors


def test_unknown_indicator_suggests_closest_code(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [HEAD, ["IND-TXX", "T-QPV1", 2021, "realise", 44]])
    err = only_error(table).iloc[0]
    assert (err.onglet, err.ligne, err.colonne, err.valeur) == ("valeurs", 2, "indicateur", "IND-TXX")
    assert "Code d'indicateur inconnu" in err.message
    assert "« IND-TX »" in err.message


def test_unknown_territory_is_located(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 44],
                                         ["IND-TX", "T-QPV9", 2021, "realise", 45]])
    err = only_error(table).iloc[0]
    assert (err.ligne, err.colonne, err.valeur) == (3, "territoire", "T-QPV9")
    assert "Code de territoire inconnu" in err.message and "Code connu le plus proche : « T-QPV" in err.message


def test_text_where_a_number_belongs(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [HEAD, ["IND-TX", "T-QPV1", 2021, "realise", "environ 40"]])
    err = only_error(table).iloc[0]
    assert (err.ligne, err.colonne, err.valeur) == (2, "valeur", "environ 40")
    assert err.message.startswith("Nombre illisible")


@pytest.mark.parametrize("year", [1850, 2099])
def test_year_outside_plausible_range(test_db, tmp_path, year):
    table = rejected(test_db, tmp_path, [HEAD, ["IND-TX", "T-QPV1", year, "realise", 44]])
    err = only_error(table).iloc[0]
    assert (err.ligne, err.colonne, err.valeur) == (2, "annee", str(year))
    assert "plage plausible 1990-2050" in err.message


def test_duplicate_rows_with_different_values(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 44],
                                         ["IND-TX", "T-QPV1", 2021, "realise", 47]])
    errors = only_error(table)
    assert sorted(errors["ligne"].tolist()) == [2, 3]
    assert errors["message"].str.contains("valeurs différentes").all()


def test_missing_required_column(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [["indicateur", "territoire", "nature", "valeur", "commentaire"],
                                         ["IND-TX", "T-QPV1", "realise", 44, None]])
    err = only_error(table).iloc[0]
    assert err.colonne == "annee" and err.onglet == "valeurs"
    assert "Colonne obligatoire « annee » absente" in err.message


def test_unknown_nature_and_status(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [HEAD + ["statut"],
                                         ["IND-TX", "T-QPV1", 2021, "estimé", 44, "valide"],
                                         ["IND-TX", "T-QPV1", 2021, "realise", 44, "douteux"]])
    errors = only_error(table)
    assert set(zip(errors["ligne"], errors["colonne"])) == {(2, "nature"), (3, "statut")}
    assert errors["message"].str.contains("Valeurs possibles").all()


def test_all_problems_are_reported_at_once(test_db, tmp_path):
    table = rejected(test_db, tmp_path, [HEAD, ["IND-XX", "T-QPV1", 2021, "realise", 44],
                                         ["IND-TX", "T-QPV1", 1700, "realise", 44],
                                         ["IND-TX", "T-QPV2", 2021, "realise", "abc"]])
    assert sorted(only_error(table)["ligne"].tolist()) == [2, 3, 4]


def test_good_rows_are_not_written_when_one_row_is_bad(test_db, tmp_path):
    rows = [HEAD] + [["IND-TX", "T-QPV1", y, "realise", 40 + y - 2019] for y in (2021, 2022)]
    rows.append(["IND-TX", "T-QPV2", 2021, "realise", "n/a?"])
    rejected(test_db, tmp_path, rows)  # asserts the database is unchanged


def test_catalogue_errors(test_db, tmp_path):
    before = snapshot(test_db)
    path = write_xlsx(tmp_path / "catalogue.xlsx", {
        "indicateurs": [["code", "libelle", "unite", "polarite", "type", "objectifs", "contrat"],
                        ["IND-NEW", "Nouvel indicateur", "litres", "hausse", "résultat", "9",
                         "TEST-2015"]],
        "territoires": [["code", "libelle", "type", "references"],
                        ["T-QPV3", "Quartier Trois", "quartier", "T-COMM"]],
    })
    checked, result = load(path, db=test_db)
    assert result is None
    table = checked.report.table
    located = set(zip(table["onglet"], table["colonne"]))
    assert {("indicateurs", "unite"), ("indicateurs", "objectifs"), ("territoires", "type"),
            ("territoires", "references")} <= located
    assert_same(before, snapshot(test_db))


def test_warnings_do_not_block(test_db, tmp_path):
    path = write_xlsx(tmp_path / "avert.xlsx", {"valeurs": [
        HEAD,
        ["IND-TX", "T-QPV1", 2021, "realise", 104],       # percent above 100, far from 2020's 42
        ["IND-TX", "T-QPV2", 2024, "realise", 30],        # outside 2015-2022
        ["IND-DE", "T-QPV1", 2021, "realise", 3000],      # more than double 2020's 1 200
        ["IND-DE", "T-QPV2", 2021, "realise", 10], ["IND-DE", "T-QPV2", 2021, "realise", 10],
    ]})
    checked = check(path, db=test_db)
    table = checked.report.table
    assert checked.ok and checked.report.n_errors == 0
    warn = table[table["gravite"] == "avertissement"]
    messages = dict(zip(zip(warn["ligne"], warn["colonne"]), warn["message"]))
    assert "Pourcentage supérieur à 100" in messages[(2, "valeur")] or any(
        "Pourcentage supérieur à 100" in m for m in warn["message"])
    assert "hors de la période du contrat" in messages[(3, "annee")]
    assert "année précédente (1\u202f200)" in messages[(4, "valeur")]
    assert "Ligne en double" in messages[(5, "valeur")]
    _, result = load(path, db=test_db)
    assert result is not None and result.total("inserted") == 4


def test_chunked_validation_reports_rows_and_duplicates_across_chunks(test_db, tmp_path,
                                                                      monkeypatch):
    """National files are validated in chunks: locations and cross-chunk duplicates hold."""
    import etl.validate

    monkeypatch.setattr(etl.validate, "CHUNK_ROWS", 2)
    rows = [HEAD] + [["IND-TX", "T-QPV1", y, "realise", 40 + y - 2015] for y in range(2015, 2020)]
    rows += [["IND-TX", "T-QPV2", 2021, "realise", "trente"],       # row 7, third chunk
             ["IND-TX", "T-QPV1", 2016, "realise", 99]]             # row 8 duplicates row 3
    table = rejected(test_db, tmp_path, rows)
    errors = only_error(table)
    assert set(zip(errors["ligne"], errors["colonne"])) == {(7, "valeur"), (3, "valeur"),
                                                            (8, "valeur")}
    good = write_xlsx(tmp_path / "ok.xlsx", {"valeurs": rows[:6]})
    checked, result = load(good, db=test_db)
    assert checked.ok and result.total("inserted") == 5


def test_an_indicator_cannot_move_to_another_contract(test_db, tmp_path):
    before = snapshot(test_db)
    path = write_xlsx(tmp_path / "autre.xlsx", {
        "contrat": [["code", "nom", "periode_debut", "periode_fin"],
                    ["AUTRE-2024", "Autre contrat", 2024, 2030]],
        "indicateurs": [["code", "libelle", "unite", "polarite", "type"],
                        ["IND-TX", "Taux d'emploi", "pourcentage", "hausse", "impact"]]})
    checked, result = load(path, db=test_db)
    assert result is None
    err = only_error(checked.report.table).iloc[0]
    assert (err.onglet, err.ligne, err.colonne) == ("indicateurs", 2, "code")
    assert "appartient déjà au contrat « TEST-2015 »" in err.message
    assert_same(before, snapshot(test_db))


def test_a_value_cannot_go_to_a_territory_outside_the_contract(test_db, tmp_path):
    other = write_xlsx(tmp_path / "autre.xlsx", {
        "contrat": [["code", "nom", "periode_debut", "periode_fin"],
                    ["AUTRE-2024", "Autre contrat", 2024, 2030]],
        "territoires": [["code", "libelle", "type"], ["X-QPV", "Quartier X", "qpv"]]})
    assert load(other, db=test_db)[1] is not None
    table = rejected(test_db, tmp_path, [HEAD, ["IND-TX", "X-QPV", 2021, "realise", 44]])
    err = only_error(table).iloc[0]
    assert (err.ligne, err.colonne, err.valeur) == (2, "territoire", "X-QPV")
    assert "Territoire hors du contrat « TEST-2015 »" in err.message


def test_percent_between_0_and_1_is_flagged(test_db, tmp_path):
    path = write_xlsx(tmp_path / "pc.xlsx", {"valeurs": [HEAD, ["IND-TX", "T-QPV2", 2021,
                                                                 "realise", 0.253]]})
    checked = check(path, db=test_db)
    assert checked.ok
    warn = checked.report.table.iloc[0]
    assert warn.gravite == "avertissement" and "format % d'Excel" in warn.message


def test_repeated_codes_and_rows_of_spaces_in_an_xlsx_values_sheet(test_db, tmp_path):
    """The columns of repeated texts are judged once per distinct text: each row keeps its
    own location, and a row of spaces (normal or no-break) is blank, not an error."""
    good = [["IND-TX", "T-QPV1", year, "realise", 40 + year % 7] for year in range(2010, 2022)]
    spaces = ["  ", "\u00a0", None, " ", None]
    table = rejected(test_db, tmp_path, [HEAD, *good[:5], spaces, *good[5:],
                                         ["IND-TX", "T-QPV9", 2022, "realise", 45]])
    errors = only_error(table)
    assert errors[["ligne", "colonne", "valeur"]].values.tolist() == [[15, "territoire",
                                                                       "T-QPV9"]]
    checked, result = load(write_xlsx(tmp_path / "ok.xlsx",
                                      {"valeurs": [HEAD, *good[:5], spaces, *good[5:]]}),
                           db=test_db)
    assert checked.ok, checked.report.render()
    assert result.total("inserted") + result.total("updated") == len(good)  # one existed


def test_far_from_the_previous_year_in_the_file_first_then_in_the_store(test_db, tmp_path):
    """The previous year's value is the file's own when it has one (the store's 42 % for
    2020 is replaced by the file's 100, so 104 is not far), else the store's (1 200), and
    each warning names its row."""
    path = write_xlsx(tmp_path / "proches.xlsx", {"valeurs": [
        HEAD,
        ["IND-TX", "T-QPV1", 2020, "realise", 100],
        ["IND-TX", "T-QPV1", 2021, "realise", 104],      # file's 2020: not far
        ["IND-TX", "T-QPV2", 2019, "realise", 10],
        ["IND-TX", "T-QPV2", 2020, "realise", 25],       # file's 2019 (10): far
        ["IND-DE", "T-QPV1", 2021, "realise", 500],      # store's 2020 (1 200): far
        ["IND-DE", "T-QPV2", 2021, "realise", 700],      # no 2020 anywhere
    ]})
    checked = check(path, db=test_db)
    assert checked.ok, checked.report.render()
    table = checked.report.table
    far = table[table["message"].str.contains("année précédente")]
    assert sorted(zip(far["ligne"], far["colonne"])) == [(5, "valeur"), (6, "valeur")]
    messages = dict(zip(far["ligne"], far["message"]))
    assert "(10)" in messages[5] and "(1\u202f200)" in messages[6]


def test_a_load_lets_go_of_the_file_a_check_keeps_it_to_load_later(test_db, tmp_path):
    """`load` (CLI, init) drops the raw cells once checked and each staged table once
    written, for a national file's memory; `check` (the Import page) keeps both, so that its
    confirmation can still validate the file again after another batch landed."""
    from etl.pipeline import load_checked

    path = write_xlsx(tmp_path / "envoi.xlsx", {"valeurs": [
        HEAD, ["IND-TX", "T-QPV1", 2021, "realise", 44]]})
    kept = check(path, db=test_db)
    assert kept.ok and "valeurs" in kept.workbook.sheets and kept.staged.n_observations == 1
    loaded, result = load(path, db=test_db)
    assert result is not None and result.total("inserted") == 1
    assert loaded.workbook.sheets == {} and "observation" not in loaded.staged.tables
    # A batch landed since `kept` was checked: its confirmation validates it again.
    again, result = load_checked(kept, db=test_db)
    assert again is not kept and again.ok and result.total("unchanged") == 1


def test_key_ids_agree_with_pandas_duplicated_on_every_kind_of_column():
    """The integer keys behind the duplicate and far-from-previous checks: equal exactly
    where pandas finds rows equal (missing equal to missing), numbered in order of first
    appearance; categorical, text and nullable-integer columns, and a product of codes that
    needs renumbering."""
    import numpy as np
    import pandas as pd

    from etl.parsing import dense_ids, key_ids, radix_ids, repeats

    rng = np.random.default_rng(7)
    n = 5000
    frame = pd.DataFrame({
        "code": pd.Categorical(rng.choice(["A", "B", "C", None], n)),
        "text": pd.Series(rng.choice(["x", "y", None], n), dtype=object),
        "year": pd.array(rng.choice([2019, 2020, None], n), dtype="Int64"),
        "wide": pd.Series(rng.integers(0, 70_000, n)).astype(str),  # many distinct values
        "wider": pd.Series(rng.integers(0, 70_000, n)).astype(str),
        "widest": pd.Series(rng.integers(0, 70_000, n)).astype(str),
    })
    for columns in (["code", "text", "year"], ["code", "wide", "wider", "widest", "year"]):
        ids = key_ids(frame, columns)
        first = ids > np.concatenate([[-1], np.maximum.accumulate(ids)[:-1]])
        assert (pd.Series(np.bincount(ids)[ids] > 1) == frame.duplicated(columns, keep=False)).all()
        assert (first == ~frame.duplicated(columns, keep="first").to_numpy()).all()
        assert ids.max() + 1 == len(frame.drop_duplicates(columns))
        # Unnumbered keys (the duplicate check's first pass), renumbered past any limit.
        for limit in (2**62, 2**20):
            raw = radix_ids(frame, columns, limit=limit)
            assert (pd.Series(raw).duplicated(keep=False)
                    == frame.duplicated(columns, keep=False)).all()
            assert (dense_ids(raw) == ids).all()
        assert repeats(ids) == frame.duplicated(columns).any()
        assert not repeats(dense_ids(np.arange(50) * 7))
        unique_rows = frame.drop_duplicates(columns)
        assert not repeats(radix_ids(unique_rows, columns))
