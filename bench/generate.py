"""Deterministic synthetic national dataset: every QPV of France in one instance.

    python -m bench.generate --out bench/data [--scale 1.0] [--seed 2024]

Why synthetic: the benchmarks need the volume of a national observatory (about 1 400 QPV,
150 indicators, 2015-2024, about 3 million values; 1 584 QPV as in the ANCT's 2024 list)
and no such open dataset exists in the
workbook format. Everything here is invented and says so: the contract name starts with
« SYNTHÉTIQUE », every row's source is SOURCE, statuses are `valide` / `provisoire` (and a few
`secret_statistique` / `non_disponible`), never `demo`. Département codes and names are the
the register's (data/referentiel/): communes, EPCI, départements and régions are real, the
QPV placed in them (codes, names, populations) and every figure are made up.

Files written in --out:
- national.xlsx: the catalogue sheets (contrat, territoires, arborescence, indicateurs);
- valeurs.csv and valeurs.parquet: every value, long format (one row per value);
- valeurs_200k.xlsx: the first 200 000 rows (x scale) of the same values, a `valeurs` sheet
  loadable on top of the catalogue (the size of a large regional upload);
- insee_qpv_2021.xlsx: an Insee-style QPV base (every QPV x 40 variables, title rows, tokens,
  a communes sheet) that maps onto the catalogue through `variables_source`;
- contours.geojson: a synthetic contour per QPV (property `synthetique: true`, loaded and
  flagged as such, etl/synthetic_contours.py), laid on a grid over France, for the maps;
- manifest.json: the counts, for the benchmarks and the README.

Everything is vectorised with numpy (the 3M rows take about a minute, mostly file writing),
and a given (scale, seed) always gives byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from suivi.core.config import REGISTER_FILE

CONTRACT_CODE = "NATIONAL-2024"
CONTRACT_NAME = ("SYNTHÉTIQUE – Observatoire national des contrats de ville 2024-2030 "
                 "(données générées pour les tests de charge, sans valeur réelle)")
SOURCE = "Données synthétiques générées (bench)"
YEARS = np.arange(2015, 2025)
BASELINE_YEAR, TARGET_YEAR = 2019, 2030
N_QPV = 1584  # the ANCT's 2024 list counts 1 584 rows nationally
N_INDICATORS = 150
N_INSEE_VARIABLES = 40
XLSX_ROWS = 200_000
FIXED_DATE = dt.datetime(2024, 1, 1)  # workbook creation date, so that files are reproducible
# Share of (QPV, indicator) pairs that have data, and of (commune or EPCI, percent/rate
# indicator) pairs: tuned so that scale 1.0 gives about 3 million values.
QPV_COVERAGE = 0.60
LOCAL_REF_COVERAGE = 0.15
ACTUAL_KEPT = 0.95           # share of (series, year) actuals present
MASKED = 0.004               # share of actuals given as secret / non disponible
VALUE_COLUMNS = ["indicateur", "territoire", "annee", "nature", "valeur", "ventilation",
                 "modalite", "statut", "source"]

# (code, name, weight): weight ~ the département's share of QPV (rough, for plausibility).
DEPARTEMENTS = [
    ("01", "Ain", 6), ("02", "Aisne", 15), ("03", "Allier", 8), ("04", "Alpes-de-Haute-Provence", 4),
    ("05", "Hautes-Alpes", 2), ("06", "Alpes-Maritimes", 15), ("07", "Ardèche", 5),
    ("08", "Ardennes", 9), ("09", "Ariège", 3), ("10", "Aube", 12), ("11", "Aude", 11),
    ("12", "Aveyron", 3), ("13", "Bouches-du-Rhône", 58), ("14", "Calvados", 12),
    ("15", "Cantal", 1), ("16", "Charente", 8), ("17", "Charente-Maritime", 9), ("18", "Cher", 9),
    ("19", "Corrèze", 4), ("2A", "Corse-du-Sud", 3), ("2B", "Haute-Corse", 4),
    ("21", "Côte-d'Or", 10), ("22", "Côtes-d'Armor", 6), ("23", "Creuse", 2),
    ("24", "Dordogne", 5), ("25", "Doubs", 13), ("26", "Drôme", 12), ("27", "Eure", 16),
    ("28", "Eure-et-Loir", 11), ("29", "Finistère", 9), ("30", "Gard", 21),
    ("31", "Haute-Garonne", 17), ("32", "Gers", 2), ("33", "Gironde", 22), ("34", "Hérault", 20),
    ("35", "Ille-et-Vilaine", 10), ("36", "Indre", 6), ("37", "Indre-et-Loire", 12),
    ("38", "Isère", 19), ("39", "Jura", 5), ("40", "Landes", 4), ("41", "Loir-et-Cher", 7),
    ("42", "Loire", 14), ("43", "Haute-Loire", 3), ("44", "Loire-Atlantique", 15),
    ("45", "Loiret", 13), ("46", "Lot", 2), ("47", "Lot-et-Garonne", 8), ("48", "Lozère", 1),
    ("49", "Maine-et-Loire", 12), ("50", "Manche", 7), ("51", "Marne", 14),
    ("52", "Haute-Marne", 5), ("53", "Mayenne", 4), ("54", "Meurthe-et-Moselle", 14),
    ("55", "Meuse", 4), ("56", "Morbihan", 7), ("57", "Moselle", 27), ("58", "Nièvre", 6),
    ("59", "Nord", 72), ("60", "Oise", 17), ("61", "Orne", 6), ("62", "Pas-de-Calais", 45),
    ("63", "Puy-de-Dôme", 11), ("64", "Pyrénées-Atlantiques", 8),
    ("65", "Hautes-Pyrénées", 4), ("66", "Pyrénées-Orientales", 11), ("67", "Bas-Rhin", 20),
    ("68", "Haut-Rhin", 20), ("69", "Rhône", 40), ("70", "Haute-Saône", 5),
    ("71", "Saône-et-Loire", 11), ("72", "Sarthe", 12), ("73", "Savoie", 6),
    ("74", "Haute-Savoie", 9), ("75", "Paris", 20), ("76", "Seine-Maritime", 36),
    ("77", "Seine-et-Marne", 38), ("78", "Yvelines", 29), ("79", "Deux-Sèvres", 5),
    ("80", "Somme", 12), ("81", "Tarn", 9), ("82", "Tarn-et-Garonne", 5), ("83", "Var", 13),
    ("84", "Vaucluse", 20), ("85", "Vendée", 5), ("86", "Vienne", 7), ("87", "Haute-Vienne", 9),
    ("88", "Vosges", 8), ("89", "Yonne", 9), ("90", "Territoire de Belfort", 5),
    ("91", "Essonne", 39), ("92", "Hauts-de-Seine", 27), ("93", "Seine-Saint-Denis", 63),
    ("94", "Val-de-Marne", 40), ("95", "Val-d'Oise", 40), ("971", "Guadeloupe", 30),
    ("972", "Martinique", 15), ("973", "Guyane", 32), ("974", "La Réunion", 49),
    ("976", "Mayotte", 36),
]

PILIERS = [
    ("Emploi et développement économique",
     ["Accès à l'emploi et à la formation", "Insertion des jeunes",
      "Développement économique et entrepreneuriat"]),
    ("Cohésion sociale",
     ["Réussite éducative", "Santé et accès aux soins", "Accès aux droits et lien social"]),
    ("Cadre de vie et renouvellement urbain",
     ["Habitat et peuplement", "Tranquillité publique", "Mobilité et espaces publics"]),
    ("Valeurs de la République et citoyenneté",
     ["Participation des habitants", "Égalité femmes-hommes et lutte contre les discriminations",
      "Vie associative, culture et sport"]),
]
# Indicator themes per orientation: (label, unit, polarity). Variants multiply them to 150.
THEMES = [
    [("Demandeurs d'emploi de catégorie A", "count", "lower_better"),
     ("Taux d'emploi des 15-64 ans", "percent", "higher_better"),
     ("Personnes entrées en formation qualifiante", "count", "higher_better")],
    [("Jeunes de 16-25 ans accompagnés par la mission locale", "count", "higher_better"),
     ("Part des 16-25 ans ni en emploi ni en formation", "percent", "lower_better"),
     ("Contrats d'apprentissage signés", "count", "higher_better")],
    [("Établissements actifs", "count", "higher_better"),
     ("Taux de création d'entreprises", "rate", "higher_better"),
     ("Part des locaux d'activité vacants", "percent", "lower_better")],
    [("Taux de réussite au diplôme national du brevet", "percent", "higher_better"),
     ("Élèves en retard à l'entrée en 6e", "percent", "lower_better"),
     ("Enfants suivis par le programme de réussite éducative", "count", "higher_better")],
    [("Part des bénéficiaires de la complémentaire santé solidaire", "percent", "neutral"),
     ("Densité de médecins généralistes", "rate", "higher_better"),
     ("Taux de recours aux dépistages organisés", "percent", "higher_better")],
    [("Allocataires CAF à bas revenus", "percent", "lower_better"),
     ("Personnes reçues dans les espaces France services", "count", "higher_better"),
     ("Taux de pauvreté", "percent", "lower_better")],
    [("Logements sociaux", "count", "neutral"),
     ("Taux de vacance du parc social", "percent", "lower_better"),
     ("Logements réhabilités", "count", "higher_better")],
    [("Atteintes volontaires à l'intégrité physique", "rate", "lower_better"),
     ("Cambriolages de logements", "rate", "lower_better"),
     ("Interventions des médiateurs de nuit", "count", "higher_better")],
    [("Part des ménages sans voiture", "percent", "neutral"),
     ("Arrêts de transport en commun desservant le quartier", "count", "higher_better"),
     ("Surface d'espaces publics requalifiés", "count", "higher_better")],
    [("Habitants membres du conseil citoyen", "count", "higher_better"),
     ("Taux d'inscription sur les listes électorales", "percent", "higher_better"),
     ("Projets portés par des habitants", "count", "higher_better")],
    [("Écart de taux d'emploi femmes-hommes", "percent", "lower_better"),
     ("Signalements de discriminations", "count", "neutral"),
     ("Femmes accompagnées vers l'emploi", "count", "higher_better")],
    [("Licenciés sportifs", "rate", "higher_better"),
     ("Associations actives", "count", "higher_better"),
     ("Participants aux actions culturelles", "count", "higher_better")],
]
VARIANTS = ["", " (moins de 26 ans)", " (26-49 ans)", " (50 ans et plus)", " (nouvelle mesure)"]
INDICATOR_TYPES = ["contexte", "résultat", "impact", "réalisation", "moyens"]

QPV_NAMES = ["Les Tilleuls", "La Source", "Les Bosquets", "Le Plateau", "Les Hauts", "Centre-ville",
             "La Gare", "Les Provinces", "Le Mail", "Les Peupliers", "Bellevue", "Beaulieu",
             "Les Coteaux", "La Roseraie", "Les Champs", "Le Parc", "Les Acacias", "Les Érables",
             "La Butte", "Les Cèdres", "Le Moulin", "Les Marronniers", "La Fontaine",
             "Les Hirondelles", "Le Clos", "La Croix", "Les Sablons", "Le Bourg"]
TOWN_START = ["Saint-Martin", "Villeneuve", "Montreuil", "Beaumont", "Fontaine", "Châteauneuf",
              "Neuville", "Rochefort", "Belleville", "Clairvaux", "Valmont", "Bourg-Neuf",
              "Pont-Aven", "Montval", "Sainte-Claire", "Vaux", "Bellegarde", "Mirebeau"]
TOWN_END = ["", "-sur-Loire", "-les-Bains", "-la-Forêt", "-le-Haut", "-en-Vallée", "-sur-Mer",
            "-d'Aval", "-la-Rivière", "-sur-Seine", "-les-Vignes"]


def _register() -> pd.DataFrame:
    """The embedded territorial register (data/referentiel/), with each commune's EPCI."""
    reg = pd.read_parquet(REGISTER_FILE)
    refs = reg["references"].fillna("").str.split(";")
    reg["epci"] = refs.map(lambda r: next((c for c in r if c.startswith("EPCI-")), None))
    reg["region"] = refs.map(lambda r: next((c for c in r if c.startswith("REG-")), None))
    return reg


def _territories(rng: np.random.Generator, scale: float) -> pd.DataFrame:
    """QPV (synthetic) and the register's communes, EPCI, départements, régions and France.

    QPV per département follow the weights; each is placed in one of the département's most
    populated communes (1 to 3 QPV a commune), whose EPCI, département and région come from
    the register. QPV codes look like 2024 ones (`QN` + 3-digit département + 2-digit number +
    `M`: QN07501M, QN97101M) but are invented, as are their names and populations; the other
    territories are the register's, with its codes, names and populations.
    """
    reg = _register()
    weights = np.array([w for _, _, w in DEPARTEMENTS], dtype=float)
    n_qpv = np.floor(weights / weights.sum() * N_QPV * scale + 0.5).astype(int)
    if scale >= 1:
        n_qpv = np.maximum(n_qpv, 1)
    if n_qpv.sum() == 0:
        n_qpv[int(np.argmax(weights))] = 1
    communes = reg[reg["type"] == "commune"]
    by_dep = {dep: part.sort_values("population", ascending=False)
              for dep, part in communes.groupby(communes["references"].str.extract(
                  r"DEP-([0-9AB]+)")[0])}
    used: list[str] = []
    qpv_rows = []
    for (dep, _name, _), n in zip(DEPARTEMENTS, n_qpv):
        if n == 0:
            continue
        dep3 = dep.rjust(3, "0")
        pool = by_dep[dep]
        qpv_per_commune = rng.integers(1, 4, size=n)
        commune_of_qpv = np.repeat(np.arange(n), qpv_per_commune)[:n]
        n_com = min(int(commune_of_qpv.max()) + 1, len(pool))
        chosen = pool.head(n_com)
        for q in range(n):
            com = chosen.iloc[commune_of_qpv[q] % n_com]
            label = QPV_NAMES[rng.integers(len(QPV_NAMES))]
            if rng.random() < 0.4:
                label += " – " + QPV_NAMES[rng.integers(len(QPV_NAMES))]
            refs = [com["code"], com["epci"], f"DEP-{dep}", com["region"], "FR"]
            used += [r for r in refs if r]
            qpv_rows.append(dict(code=f"QN{dep3}{q + 1:02d}M", libelle=f"{label} ({com['libelle']})",
                                 type="qpv", geographie="qpv2024",
                                 population=int(np.clip(rng.lognormal(8.2, 0.6), 1_000, 25_000)),
                                 annee_population=2020,
                                 references=";".join(r for r in refs if r)))
    others = reg[reg["code"].isin(set(used))]
    out = pd.concat([pd.DataFrame(qpv_rows), pd.DataFrame({
        "code": others["code"], "libelle": others["libelle"], "type": others["type"],
        "geographie": None, "population": others["population"],
        "annee_population": others["annee_population"], "references": others["references"]})],
        ignore_index=True)
    out["source"] = np.where(out["type"] == "qpv", SOURCE, others["source"].iloc[0]
                             if len(others) else SOURCE)
    return out


def _tree() -> pd.DataFrame:
    rows = []
    for p, (pilier, orientations) in enumerate(PILIERS, start=1):
        rows.append(dict(code=f"P{p}", parent=None, niveau="pilier", categorie="objectif",
                         libelle=pilier, ordre=p, source=SOURCE))
        for o, label in enumerate(orientations, start=1):
            rows.append(dict(code=f"{p}.{o}", parent=f"P{p}", niveau="orientation",
                             categorie="objectif", libelle=label, ordre=o, source=SOURCE))
    return pd.DataFrame(rows)


def _indicators(rng: np.random.Generator) -> pd.DataFrame:
    """150 indicators: 12 orientations x 3 themes x variants, a sex breakdown on a third."""
    rows = []
    v = 0
    while len(rows) < N_INDICATORS:
        for k, themes in enumerate(THEMES):
            p, o = k // 3 + 1, k % 3 + 1
            for label, unit, polarity in themes:
                if len(rows) == N_INDICATORS:
                    break
                n = sum(r["objectifs"] == f"{p}.{o}" for r in rows) + 1
                rows.append(dict(code=f"NAT-{p}.{o}-{n:02d}", libelle=label + VARIANTS[v],
                                 unite=unit, polarite=polarity,
                                 type=INDICATOR_TYPES[rng.integers(len(INDICATOR_TYPES))],
                                 objectifs=f"{p}.{o}", ventilations=None,
                                 definition="Indicateur synthétique (bench) : aucune valeur réelle.",
                                 source=SOURCE, frequence="annuelle"))
        v += 1
    out = pd.DataFrame(rows)
    sex = rng.permutation(len(out))[: len(out) // 3]
    out.loc[sex, "ventilations"] = "sexe"
    return out


def _series(rng, territories: pd.DataFrame, indicators: pd.DataFrame) -> dict[str, np.ndarray]:
    """One entry per (territory, indicator) pair that has data, with its level and trend.

    QPV get every indicator with probability QPV_COVERAGE; comparison territories only get
    percent and rate indicators (counts are not comparable across sizes): France and the
    départements all of them, communes and EPCI a LOCAL_REF_COVERAGE share.
    """
    kinds = territories["type"].to_numpy()
    n_t, n_i = len(territories), len(indicators)
    unit = indicators["unite"].to_numpy()
    comparable = np.isin(unit, ["percent", "rate"])
    prob = np.zeros((n_t, n_i))
    prob[kinds == "qpv", :] = QPV_COVERAGE
    for kind, p in (("commune", LOCAL_REF_COVERAGE), ("epci", LOCAL_REF_COVERAGE),
                    ("departement", 1.0), ("france", 1.0)):
        prob[np.ix_(kinds == kind, comparable)] = p
    t_idx, i_idx = np.nonzero(rng.random((n_t, n_i)) < prob)
    return {"t": t_idx, "i": i_idx}


def _values(rng, territories, indicators, series) -> pd.DataFrame:
    """The long table: actuals 2015-2024, plus for QPV a 2019 baseline and a 2030 target."""
    t_idx, i_idx = series["t"], series["i"]
    n = len(t_idx)
    unit = indicators["unite"].to_numpy()[i_idx]
    polarity = indicators["polarite"].to_numpy()[i_idx]
    d = np.where(polarity == "higher_better", 1.0, np.where(polarity == "lower_better", -1.0, 0.0))
    is_qpv = territories["type"].to_numpy()[t_idx] == "qpv"
    pop = territories["population"].to_numpy(dtype=float)[t_idx]

    # Level in 2015: counts scale with the QPV population; percents and rates around an
    # indicator mean, QPV worse than their comparison territories by polarity.
    ind_rate = np.exp(rng.uniform(np.log(0.004), np.log(0.12), size=len(indicators)))[i_idx]
    ind_mean = rng.uniform(8, 70, size=len(indicators))[i_idx]
    count_level = np.maximum(pop * ind_rate * rng.lognormal(0, 0.3, n), 12)
    share_level = ind_mean * rng.lognormal(0, 0.15, n) * np.where(is_qpv, 1 - 0.25 * d, 1.0)
    level = np.where(unit == "count", count_level, share_level)
    # Yearly drift towards the polarity's good side on average, plus a random walk.
    drift = rng.normal(0.01 * d, 0.02, n)
    steps = rng.normal(0, 0.025, (n, len(YEARS)))
    steps[:, 0] = 0
    walk = np.cumsum(steps, axis=1) + drift[:, None] * np.arange(len(YEARS))
    total = level[:, None] * np.exp(walk)
    total = np.where((unit == "percent")[:, None], np.clip(total, 0.5, 98.0), total)

    # Sex breakdown: the total plus F and H, F + H = total for counts.
    has_sex = indicators["ventilations"].notna().to_numpy()[i_idx]
    share_f = rng.uniform(0.42, 0.58, n)
    gap = rng.normal(0, 0.06, n)
    blocks = [(np.arange(n), "", "", total)]
    s = np.flatnonzero(has_sex)
    f = np.where((unit[s] == "count")[:, None], total[s] * share_f[s, None],
                 total[s] * (1 + gap[s, None]))
    h = np.where((unit[s] == "count")[:, None], total[s] - f, total[s] * (1 - gap[s, None]))
    blocks += [(s, "sexe", "F", f), (s, "sexe", "H", h)]

    parts = []
    for idx, breakdown, modality, matrix in blocks:
        u = unit[idx]
        matrix = np.where((u == "count")[:, None], np.round(matrix),
                          np.where((u == "percent")[:, None], np.round(np.clip(matrix, 0, 100), 1),
                                   np.round(matrix, 2)))
        m, k = matrix.shape
        kept = rng.random((m, k)) < ACTUAL_KEPT
        masked = kept & (rng.random((m, k)) < MASKED)
        rows, cols = np.nonzero(kept)
        value = matrix[rows, cols]
        status = np.where(YEARS[cols] == 2024, "provisoire", "valide").astype(object)
        mk = masked[rows, cols]
        value[mk] = np.nan
        status[mk] = np.where(u[rows[mk]] == "count", "secret_statistique", "non_disponible")
        parts.append(dict(s=idx[rows], year=YEARS[cols], nature="realise", value=value,
                          status=status, breakdown=breakdown, modality=modality))
        # Baseline (2019 value) and 2030 target for QPV series of oriented indicators.
        q = np.flatnonzero(is_qpv[idx] & (d[idx] != 0))
        base = matrix[q, list(YEARS).index(BASELINE_YEAR)]
        gain = rng.uniform(0.05, 0.3, len(q))
        dq = d[idx[q]]
        target = np.where(u[q] == "percent", np.clip(base + dq * gain * 20, 0, 100),
                          base * (1 + dq * gain))
        target = np.where(u[q] == "count", np.round(target), np.round(target, 2))
        for year, nature, val in ((BASELINE_YEAR, "reference", base),
                                  (TARGET_YEAR, "cible", target)):
            parts.append(dict(s=idx[q], year=np.full(len(q), year), nature=nature, value=val,
                              status="valide", breakdown=breakdown, modality=modality))

    cols = {}
    for key in ("s", "year", "value"):
        cols[key] = np.concatenate([p[key] for p in parts])
    for key in ("nature", "status", "breakdown", "modality"):
        cols[key] = np.concatenate([np.broadcast_to(np.asarray(p[key], dtype=object), len(p["s"]))
                                    for p in parts])
    sid = cols["s"]
    df = pd.DataFrame({
        "indicateur": indicators["code"].to_numpy()[i_idx[sid]],
        "territoire": territories["code"].to_numpy()[t_idx[sid]],
        "annee": cols["year"].astype("int32"),
        "nature": cols["nature"],
        "valeur": cols["value"],
        "ventilation": cols["breakdown"],
        "modalite": cols["modality"],
        "statut": cols["status"],
        "source": SOURCE,
        "_t": t_idx[sid], "_i": i_idx[sid],
    })
    # A stable, readable order: by territory (départements together), indicator, breakdown,
    # nature, year. The 200k workbook is the head of this order: a few départements' upload.
    nature_rank = df["nature"].map({"reference": 0, "cible": 1, "realise": 2})
    df = df.assign(_n=nature_rank).sort_values(
        ["_t", "_i", "ventilation", "modalite", "_n", "annee"], kind="stable")
    df = df.drop(columns=["_t", "_i", "_n"]).reset_index(drop=True)
    for col in ("ventilation", "modalite"):
        df[col] = df[col].where(df[col] != "", None)
    return df


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    """Write sheets fast: xlsxwriter in constant_memory mode when installed (about 3x faster),
    else openpyxl in write_only mode (a project requirement). Empty cells are left out."""
    try:
        import xlsxwriter
    except ImportError:
        xlsxwriter = None
    if xlsxwriter is not None:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        wb.set_properties({"created": FIXED_DATE, "author": SOURCE})
        for name, df in sheets.items():
            ws = wb.add_worksheet(name)
            ws.write_row(0, 0, list(df.columns))
            for r, row in enumerate(_cells(df), start=1):
                for c, v in enumerate(row):
                    if v is not None:
                        ws.write(r, c, v)
        wb.close()
        return
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_DATE
    for name, df in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for row in _cells(df):
            ws.append(row)
    wb.save(path)


def _cells(df: pd.DataFrame):
    """Rows of plain Python values (None for missing), numbers as int when integral."""
    cols = []
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s):
            vals = s.to_numpy()
            obj = np.where(np.isnan(vals), None, vals).astype(object)
            integral = ~np.isnan(vals) & (vals == np.round(vals))
            obj[integral] = vals[integral].astype(np.int64).tolist()
            cols.append(obj.tolist())
        else:
            cols.append(s.astype(object).where(s.notna(), None).tolist())
    return zip(*cols)


def insee_variables(indicators: pd.DataFrame) -> pd.Series:
    """`variables_source` of the national catalogue: N_INSEE_VARIABLES indicators (percent and
    rate ones first) carry a synthetic Insee variable `SYN_VARnn`, so that the Insee-style
    base maps onto them."""
    order = indicators["unite"].map({"percent": 0, "rate": 1}).fillna(2).sort_values(kind="stable")
    picked = order.index[:N_INSEE_VARIABLES]
    out = pd.Series(None, index=indicators.index, dtype=object)
    out[picked] = [f"SYN_VAR{k + 1:02d}" for k in range(len(picked))]
    return out


def write_insee_base(path: Path, rng, territories: pd.DataFrame,
                     indicators: pd.DataFrame) -> int:
    """An Insee-style QPV base: title rows, a quartiers sheet (every QPV x 40 variables whose
    names carry the year, `s`/`nd` tokens, an « Ensemble » aggregate row), a communes sheet,
    a documentation sheet. Written with openpyxl (write-only)."""
    from openpyxl import Workbook

    names = indicators["variables_source"].dropna().tolist()
    header = ["CODGEO", "LIBGEO"] + [f"{n}_A21" for n in names]
    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_DATE
    for sheet, kind in (("Données quartiers", "qpv"), ("Communes", "commune")):
        ws = wb.create_sheet(sheet)
        ws.append([f"SYNTHÉTIQUE – base QPV de type Insee, 2021 ({SOURCE})"])
        ws.append(["Géographie au 1er janvier 2024"])
        ws.append([])
        ws.append(header)
        part = territories[territories["type"] == kind]
        values = np.round(rng.uniform(1, 99, (len(part), len(names))), 1).astype(object)
        tokens = rng.random(values.shape)
        values[tokens < 0.01] = "s"
        values[(tokens >= 0.01) & (tokens < 0.015)] = "nd"
        codes = part["code"].str.replace("COM-", "", regex=False).tolist()
        for code, label, row in zip(codes, part["libelle"], values.tolist()):
            ws.append([code, label, *row])
        if kind == "qpv":
            ws.append(["00", "Ensemble des quartiers prioritaires", *[50.0] * len(names)])
    doc = wb.create_sheet("Documentation")
    doc.append(["Variable", "Libellé"])
    for n in names:
        doc.append([f"{n}_A21", "Variable synthétique"])
    wb.save(path)
    return int((territories["type"] == "qpv").sum())


CONTOURS = "contours.geojson"


def write_contours(out: Path, territories: pd.DataFrame) -> int:
    """One synthetic polygon per QPV (flagged `synthetique`), 0.15° apart over France."""
    from etl.synthetic_contours import write_synthetic

    qpv = territories[territories["type"] == "qpv"]
    write_synthetic(out / CONTOURS, qpv["code"].tolist(), qpv["libelle"].tolist(),
                    centre=(2.5, 46.6), spacing=0.15)
    return int(len(qpv))


def ensure_contours(out: Path, scale: float, seed: int = 2024) -> Path:
    """The contours of a dataset generated before they existed: the territories are drawn
    first from the seed, so they come out the same."""
    path = out / CONTOURS
    if not path.exists():
        write_contours(out, _territories(np.random.default_rng(seed), scale))
    return path


def generate(out: Path, scale: float = 1.0, seed: int = 2024) -> dict:
    """Write the dataset into `out`; returns the manifest (counts and timings)."""
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    territories = _territories(rng, scale)
    tree = _tree()
    indicators = _indicators(rng)
    indicators["variables_source"] = insee_variables(indicators)
    values = _values(rng, territories, indicators, _series(rng, territories, indicators))
    built = time.perf_counter()

    contract = pd.DataFrame([dict(
        code=CONTRACT_CODE, nom=CONTRACT_NAME, periode_debut=2015, periode_fin=TARGET_YEAR,
        annee_reference=BASELINE_YEAR, annee_cible=TARGET_YEAR, generation="2024-2030",
        niveaux="pilier > orientation", source=SOURCE)])
    # The contract lists its quartiers; communes, EPCI, départements, régions and France are
    # the register's (loaded first) and come along as the quartiers' references.
    write_xlsx(out / "national.xlsx", {"contrat": contract,
                                       "territoires": territories[territories["type"] == "qpv"],
                                       "arborescence": tree, "indicateurs": indicators})
    insee_rows = write_insee_base(out / "insee_qpv_2021.xlsx", rng, territories, indicators)
    n_contours = write_contours(out, territories)
    table = pa.Table.from_pandas(values[VALUE_COLUMNS], preserve_index=False)
    pq.write_table(table, out / "valeurs.parquet", compression="zstd")
    pacsv.write_csv(table, out / "valeurs.csv",
                    pacsv.WriteOptions(quoting_style="needed"))
    n_xlsx = min(len(values), max(1, round(XLSX_ROWS * scale)))
    write_xlsx(out / "valeurs_200k.xlsx", {"valeurs": values.head(n_xlsx)[VALUE_COLUMNS]})

    kinds = territories["type"].value_counts().to_dict()
    manifest = {
        "synthetic": True, "scale": scale, "seed": seed, "contract": CONTRACT_CODE,
        "territories": int(len(territories)), "territories_by_kind": kinds,
        "indicators": int(len(indicators)),
        "indicators_with_sex_breakdown": int(indicators["ventilations"].notna().sum()),
        "observations": int(len(values)), "xlsx_rows": int(n_xlsx),
        "insee_base": {"file": "insee_qpv_2021.xlsx", "qpv_rows": insee_rows,
                       "variables": int(indicators["variables_source"].notna().sum())},
        "observations_by_nature": values["nature"].value_counts().to_dict(),
        "contours": {"file": CONTOURS, "polygons": n_contours, "synthetic": True},
        "build_seconds": round(built - start, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="bench/data", type=Path)
    p.add_argument("--scale", default=1.0, type=float,
                   help="share of the national QPV count (0.05 for a quick run)")
    p.add_argument("--seed", default=2024, type=int)
    args = p.parse_args(argv)
    manifest = generate(args.out, args.scale, args.seed)
    print(json.dumps(manifest, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
