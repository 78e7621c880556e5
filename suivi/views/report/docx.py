"""The « rapport annuel politique de la ville » as an editable Word document (python-docx).

Staff write this report in Word every year (CGCT art. L1111-2, décret n° 2015-1118): the
document is therefore generated as plain text in Word's own styles (Titre 1/2/3 = Heading 1/2/3,
the « Tableau » paragraph style in « Table Grid » tables, « Légende » = Caption under each
chart), so that every sentence can be edited, moved or deleted, and the « À compléter »
paragraphs mark where the narrative goes. Its parts follow the décret, in PARTS order, then
the data by sex, the method and sources, and an annex for the opinions of the conseils
citoyens and councils.

Numbers are French (suivi/views/report/text.py, suivi/core/fmt.py); statuses, projections and gaps
come from suivi/views/report/data.py, i.e. from the same methods as the pages. Demonstration values
are announced at the top, and every table holding one marks it « (démo) » and is preceded by a
note. The Word building blocks (styles, tables as XML, formula-like text neutralised) are in
suivi/views/report/writer.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from docx.shared import RGBColor

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.core import projection as pj
from suivi.views import bilan as tb
from suivi.views import overview
from suivi.views.report import charts
from suivi.views.report.complements import (
    ANNEX_PART,
    DSU_PART,
    METHOD_PART,
    SEX_PART,
    annex,
    dsu_part,
    method_part,
    sex_part,
)
from suivi.views.report.data import ReportData, collect
from suivi.views.report.text import expected_cell, gap_text, status_text, value_text
from suivi.views.report.writer import DEMO_TABLE_NOTE, TO_COMPLETE, Writer, clean, one_line

#: The six parts of the décret n° 2015-1118, in order (Heading 1).
PARTS = [
    "1. Les orientations du contrat et le projet de territoire",
    "2. L'évolution de la situation des quartiers au regard des objectifs",
    "3. Les actions menées",
    "4. Les perspectives",
    "5. L'articulation des piliers",
    DSU_PART,
]
NO_GROUP = "Sans priorité"
QUARTIER_SERIES_NOTE = ("Séries des quartiers, sans ventilation (la ventilation par sexe est "
                        "présentée dans la partie « Données par sexe »).")
__all__ = ["ANNEX_PART", "DEMO_TABLE_NOTE", "METHOD_PART", "PARTS", "SEX_PART", "TO_COMPLETE",
           "Report", "build_report", "clean", "report_docx", "write_report"]


@dataclass
class Report:
    """The generated document and what it was made from (the tests read `data`)."""

    data: ReportData
    docx: bytes

    @property
    def file_name(self) -> str:
        return f"{self.data.file_stem}.docx"


# --- Shared pieces ----------------------------------------------------------------------------

def _indicator_name(row: dict) -> str:
    label = row.get("indicator_label")
    if fmt.is_missing(label):
        label = row.get("ind_label")
    return f"{one_line(label)} ({row['indicator_code']})"


def _quartier_series(d: ReportData) -> pd.DataFrame:
    s = d.series
    return s[s["territory_code"].isin(d.quartiers["code"]) & s["breakdown"].eq("")]


def _priorities(d: ReportData) -> list[tuple[str, str]]:
    """(code, heading) of each priority-level node in tree order, then the series with none."""
    depth = 2 if (d.nodes["depth"] >= 2).any() else 1
    nodes = d.nodes[d.nodes["depth"] == depth]
    name = d.level_name(depth, "priorité")
    out = [(c, f"{name.capitalize()} {c} – {one_line(lbl)}")
           for c, lbl in zip(nodes["code"], nodes["label"])]
    return out + [(NO_GROUP, "Indicateurs rattachés à aucun objectif de ce niveau")]


def _counts(series: pd.DataFrame, by: str, groups: list[str]) -> pd.DataFrame:
    counts = overview.status_counts(series.assign(**{by: series[by].fillna(NO_GROUP)}), by)
    return counts.reindex(index=groups, fill_value=0).astype("int64")




# --- Parts ------------------------------------------------------------------------------------

def _title(w: Writer, d: ReportData) -> None:
    info = d.info
    w.heading(f"Rapport annuel politique de la ville {d.year}", 0)
    w.para(one_line(info["name"]), bold=True)
    scope = (f"Quartier {d.quartier_label} et ses territoires de référence"
             if d.quartier else "Tous les quartiers du contrat")
    w.para(f"Contrat {info['code']}, période {info['period_start']}–{info['period_end']}. "
           f"{scope}. Situation en {d.year} : les valeurs postérieures sont ignorées.")
    w.para(f"Document produit le {fmt.date_fr(d.now)} par Suivi QPV à partir de la base de "
           "l'observatoire. Il se modifie librement : complétez les paragraphes « À "
           "compléter », ajoutez vos analyses, supprimez ce qui ne sert pas. Le rapport est "
           "soumis pour avis aux conseils citoyens, puis débattu en conseil municipal et en "
           "conseil communautaire (CGCT, art. L1111-2 ; décret n° 2015-1118 du 3 septembre "
           "2015).", italic=True)
    if d.has_demo:
        p = w.para("⚠ Valeurs de démonstration : ce rapport contient des valeurs générées pour "
                   "montrer le fonctionnement de l'outil (mention « démo » dans les "
                   "tableaux). Elles ne sont pas réelles et ne doivent pas être diffusées comme "
                   "résultats du contrat. Commande pour les supprimer : python -m etl demo "
                   "remove.", bold=True)
        p.runs[0].font.color.rgb = RGBColor(0xB3, 0x40, 0x00)
    w.toc()


def _part1(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[0], 1)
    info = d.info
    years = []
    if not fmt.is_missing(info.get("baseline_year")):
        years.append(f"situation de référence en {int(info['baseline_year'])}")
    if not fmt.is_missing(info.get("target_year")):
        years.append(f"situation visée en {int(info['target_year'])}")
    w.para(f"Le contrat « {one_line(info['name'])} » couvre la période "
           f"{info['period_start']}–{info['period_end']}"
           + (f" ({', '.join(years)})" if years else "") + ".")
    if len(d.quartiers):
        names = []
        for q in d.quartiers.to_dict("records"):
            pop = "" if fmt.is_missing(q.get("population")) else \
                f", {fmt.number(q['population'])} habitants"
            names.append(f"{one_line(q['label'])} ({q['code']}{pop})")
        w.para(f"Quartiers ({fmt.number(len(names))}) : " + " ; ".join(names[:60])
               + (" ; …" if len(names) > 60 else "") + ".")
    w.to_complete("rappeler le projet de territoire, les enjeux retenus avec les habitants et "
                  "les évolutions du contrat (avenants, protocole d'engagements).")
    w.heading("Arborescence des objectifs", 2)
    levels = " > ".join(d.levels) if d.levels else "niveaux non précisés"
    w.para(f"Niveaux du contrat : {levels}. Pour chaque objectif, le nombre d'indicateurs qui "
           "le mesurent (lui ou ses sous-objectifs) et le nombre de séries suivies "
           "(indicateur × territoire × ventilation) ayant au moins une valeur.")
    rows = [[one_line(r["level"]), r["code"], one_line(r["label"]),
             fmt.number(r["n_indicators"]), fmt.number(r["n_series"])]
            for r in d.orientations.to_dict("records")]
    if rows:
        w.table(["Niveau", "Code", "Intitulé", "Indicateurs", "Séries suivies"], rows,
                [2.6, 1.4, 8.8, 1.6, 1.6])
    else:
        w.para("Le contrat n'a pas d'arborescence d'objectifs dans la base.")


def _reference_cell(d: ReportData, latest: dict, names: dict, quartier: str,
                    indicator: str, unit) -> str:
    parts = []
    for ref in d.references.get(quartier, []):
        hit = latest.get((indicator, ref))
        if hit is not None:
            parts.append(f"{one_line(names.get(ref, ref))} : "
                         f"{value_text(hit[1], unit, hit[0], hit[2])}")
    return "\n".join(parts) or "–"


def _part2(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[1], 1)
    w.para("Pour chaque quartier et chaque priorité : dernière valeur connue, valeur des "
           "territoires de référence, écart avec la commune (ou le territoire de référence le "
           "plus proche) et son évolution, situation visée et statut au regard de la cible. "
           + QUARTIER_SERIES_NOTE)
    series = _quartier_series(d)
    prios = _priorities(d)
    if not d.detailed:
        w.para(f"Le périmètre compte {fmt.number(len(d.quartiers))} quartiers : le détail par "
               "quartier serait illisible. Le tableau donne le nombre de séries des quartiers "
               "dans chaque statut, par priorité. Produisez le rapport d'un quartier pour le "
               "détail (option --quartier, ou choix du quartier sur la page Bilan annuel).")
        counts = _counts(series.assign(priority_code=series["priority_code"].fillna(NO_GROUP)),
                         "priority_code", [c for c, _ in prios])
        counts = counts[counts.sum(axis=1) > 0]
        heads = dict(prios)
        rows = [[heads[g], *[fmt.number(v) for v in counts.loc[g]],
                 fmt.number(counts.loc[g].sum())] for g in counts.index]
        w.table(["Priorité", *[status_text(s.code) for s in pg.STATUSES], "Total"], rows)
        return
    units, polarities = d.units, d.polarities
    names = dict(zip(d.territories["code"], d.territories["label"]))
    latest = {(r["indicator_code"], r["territory_code"]): (r["year"], r["value"], r["demo"])
              for r in d.latest.to_dict("records")}
    gaps = {(r["Code quartier"], r["Code indicateur"]): r for r in d.gaps.to_dict("records")}
    for q in d.quartiers.to_dict("records"):
        code = q["code"]
        mine = series[series["territory_code"] == code]
        w.heading(f"{one_line(q['label'])} ({code})", 2)
        refs = [one_line(names.get(r, r)) for r in d.references.get(code, [])]
        w.para("Territoires de référence : " + (", ".join(refs) if refs else "aucun") + ".")
        if mine.empty:
            w.para(f"Aucune série pour ce quartier jusqu'en {d.year}.")
            continue
        groups = mine.assign(priority_code=mine["priority_code"].fillna(NO_GROUP))
        counts = _counts(groups, "priority_code", [c for c, _ in prios])
        shown = counts[counts.sum(axis=1) > 0]
        labels = [dict(prios)[g] for g in shown.index]
        w.picture(charts.status_bars(shown, labels, f"Statut des séries – {q['label']}"),
                  f"nombre de séries de {one_line(q['label'])} dans chaque statut, par "
                  f"priorité, en {d.year} (le détail est dans les tableaux ci-dessous).")
        for prio, heading in prios:
            part = groups[groups["priority_code"] == prio].sort_values("indicator_code")
            if part.empty:
                continue
            w.heading(heading, 3)
            rows, demo = [], False
            for r in part.to_dict("records"):
                ind, unit = r["indicator_code"], units.get(r["indicator_code"])
                hit = latest.get((ind, code))
                gap = gaps.get((code, ind))
                value = value_text(hit[1], unit, hit[0], hit[2]) if hit else "–"
                ref_cell = _reference_cell(d, latest, names, code, ind, unit)
                demo = demo or bool(r["demo"]) or "démo" in ref_cell
                rows.append([
                    _indicator_name(r), value, ref_cell,
                    gap_text(gap["Écart (points ou unités)"], unit, polarities.get(ind))
                    if gap else "–",
                    gap["Évolution de l'écart"] if gap else "–",
                    value_text(r["target"], unit, r["target_year"], bool(r["demo"]))
                    if not fmt.is_missing(r["target"]) else "–",
                    status_text(r["status"]),
                ])
            w.table(["Indicateur", "Valeur", "Territoires de référence", "Écart",
                     "Évolution de l'écart", "Situation visée", "Statut"], rows,
                    [3.9, 2.0, 3.0, 1.8, 1.7, 1.8, 1.8], demo=demo)
        w.to_complete(f"commenter l'évolution de {one_line(q['label'])} (faits marquants, "
                      "explications, données qualitatives).")


def _part3(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[2], 1)
    w.para("Les actions prévues par le contrat sous chaque objectif, avec les indicateurs de "
           f"réalisation qui en rendent compte (dernière valeur jusqu'en {d.year} dans chaque "
           "quartier).")
    nodes = d.nodes.set_index("code")
    actions = d.actions.groupby("parent_code", sort=False)
    owned = d.action_indicators.groupby("objective_code", sort=False)
    action_parents = set(d.actions["parent_code"])
    owners = set(d.action_indicators["objective_code"])
    shown = [c for c in d.nodes["code"] if c in action_parents or c in owners]
    if not shown:
        w.para("Aucune action ni aucun indicateur de réalisation n'est décrit dans la base pour "
               "ce contrat.")
    units = d.units
    for code in shown:
        node = nodes.loc[code]
        w.heading(f"{one_line(node['level']).capitalize()} {code} – {one_line(node['label'])}",
                  2)
        if code in action_parents:
            w.para("Actions prévues :")
            for a in actions.get_group(code).to_dict("records"):
                w.bullet(f"{a['code']} – {one_line(a['label'])}")
        if code in owners:
            rows, demo = [], False
            part = owned.get_group(code).sort_values(["indicator_code", "territory_code"])
            for r in part.to_dict("records"):
                unit = units.get(r["indicator_code"])
                has_row = not fmt.is_missing(r.get("territory_code"))
                is_demo = bool(r.get("demo")) if has_row else False
                demo = demo or is_demo
                rows.append([
                    _indicator_name(r),
                    one_line(r["territory_label"]) if has_row else "–",
                    value_text(r["value"], unit, r["year"], is_demo) if has_row else
                    "aucune valeur",
                    value_text(r["target"], unit, r["target_year"], is_demo)
                    if has_row and not fmt.is_missing(r["target"]) else "–",
                    status_text(r["status"]) if has_row else "–",
                ])
            w.table(["Indicateur de réalisation", "Quartier", "Réalisé", "Situation visée",
                     "Statut"], rows, [6.0, 2.8, 2.4, 2.4, 2.4], demo=demo)
        else:
            w.para("Aucun indicateur de réalisation n'est rattaché à cet objectif.")
        w.to_complete(f"actions menées en {d.year}, porteurs, publics touchés, moyens "
                      "mobilisés.")


def _projection_rows(d: ReportData, part: pd.DataFrame) -> tuple[list[list], bool]:
    units = d.units
    rows, demo = [], False
    for r in part.to_dict("records"):
        unit = units.get(r["indicator_code"])
        is_demo = bool(r["demo"])
        demo = demo or is_demo
        rows.append([_indicator_name(r), one_line(r["territory_label"]),
                     value_text(r["value"], unit, r["year"], is_demo)
                     if not fmt.is_missing(r["value"]) else "–",
                     value_text(r["target"], unit, r["target_year"], is_demo)
                     if not fmt.is_missing(r["target"]) else "–",
                     status_text(r["status"]), one_line(r["projection_short"]),
                     expected_cell(r, unit)])
    return rows, demo


def _part4(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[3], 1)
    series = _quartier_series(d)
    assessed = series[series["status"] != "not_assessable"]
    w.para(tb.projection_line(series["projection"].value_counts()) + " "
           + QUARTIER_SERIES_NOTE)
    w.para(pj.method_summary(), italic=True)
    good = assessed[assessed["status"].isin(["achieved", "on_track"])]
    late = assessed[~assessed["status"].isin(["achieved", "on_track"])]
    header = ["Indicateur", "Quartier", "Réalisé", "Situation visée", "Statut",
              "Au rythme actuel", "Valeur attendue à l'échéance"]
    widths = [3.9, 2.1, 2.0, 2.0, 2.0, 2.0, 2.0]
    w.heading("Ce qui est atteint ou en bonne voie", 2)
    if good.empty:
        w.para("Aucune série des quartiers n'est atteinte ou en bonne voie.")
    else:
        rows, demo = _projection_rows(d, good.sort_values(["indicator_code", "territory_code"]))
        w.table(header, rows, widths, demo=demo)
    w.heading("Ce qui demande une accélération", 2)
    if late.empty:
        w.para("Aucune série des quartiers ne demande d'accélération.")
    else:
        order = {s.code: i for i, s in enumerate(pg.STATUSES)}
        late = late.assign(_o=late["status"].map(order)) \
            .sort_values(["_o", "indicator_code", "territory_code"])
        rows, demo = _projection_rows(d, late)
        w.table(header, rows, widths, demo=demo)
        panels = [{"title": f"{p['indicator_code']} – {p['territory_label']}",
                   "points": list(p["projection"].points),
                   "target_year": p["projection"].target_year,
                   "target": p["projection"].target, "line": p["projection"].line()}
                  for p in d.panels]
        if panels:
            w.picture(charts.projection_panels(panels, [fmt.unit_label(p["unit"])
                                                        for p in d.panels]),
                      "valeurs réalisées (trait plein), projection au rythme actuel "
                      "(pointillés) et marge d'incertitude (zone colorée, à partir de trois "
                      "valeurs), situation visée (étoile) de séries qui demandent une "
                      "accélération : " + " ; ".join(p["title"] for p in panels) + ".")
    w.to_complete(f"priorités pour {d.year + 1}, actions à renforcer ou à réorienter, "
                  "moyens envisagés.")


def _part5(w: Writer, d: ReportData) -> None:
    w.heading(PARTS[4], 1)
    series = _quartier_series(d)
    pillars = d.nodes[d.nodes["depth"] == 1]
    name = d.level_name(1, "pilier")
    groups = pillars["code"].tolist() + [NO_GROUP]
    counts = _counts(series.assign(pillar_code=series["pillar_code"].fillna(NO_GROUP)),
                     "pillar_code", groups)
    counts = counts[counts.sum(axis=1) > 0]
    heads = {**dict(zip(pillars["code"], pillars["label"])), NO_GROUP: "sans rattachement"}
    w.para(f"Répartition des séries des quartiers par statut pour chaque {name}, côte à côte. "
           + QUARTIER_SERIES_NOTE)
    if counts.empty:
        w.para("Aucune série des quartiers n'a de statut.")
    else:
        header = ["Statut", *[f"{g} – {one_line(heads[g])}" for g in counts.index]]
        rows = [[status_text(s.code), *[fmt.number(counts.loc[g, s.code])
                                        for g in counts.index]] for s in pg.STATUSES]
        rows.append(["Total", *[fmt.number(counts.loc[g].sum()) for g in counts.index]])
        k = len(counts.index)
        w.table(header, rows, [4.0, *[12.0 / k] * k])
        w.picture(charts.status_bars(counts, [f"{g} – {heads[g]}" for g in counts.index],
                                     f"Statut des séries par {name}"),
                  f"nombre de séries des quartiers dans chaque statut, par {name} "
                  "(mêmes nombres que le tableau ci-dessus).")
    shared = _shared_indicators(d)
    if shared:
        w.para(f"Indicateurs qui mesurent des objectifs de plusieurs {name}s :")
        for text in shared:
            w.bullet(text)
    else:
        w.para(f"Aucun indicateur ne mesure des objectifs de plusieurs {name}s.")
    w.to_complete("articulation du contrat avec les autres politiques et dispositifs (PLH, "
                  "PEDT, contrat local de santé, PRE, cités éducatives…) et coordination des "
                  "partenaires.")


def _shared_indicators(d: ReportData) -> list[str]:
    """Indicators measuring objectives of several pillars (catalogue « objectifs » links)."""
    pillar_of = {row.code: row.path[0] for row in d.nodes.itertuples()}
    out = []
    for r in d.catalogue.dropna(subset=["objectifs"]).itertuples():
        codes = [c.strip() for c in str(r.objectifs).split(";") if c.strip()]
        pillars = sorted({pillar_of[c] for c in codes if c in pillar_of})
        if len(pillars) > 1:
            out.append(f"{r.code} – {one_line(r.label)} ({', '.join(pillars)})")
    return out


# --- Entry points -----------------------------------------------------------------------------

def report_docx(d: ReportData) -> bytes:
    w = Writer()
    w.doc.core_properties.title = f"Rapport annuel politique de la ville {d.year} – " \
                                  f"{d.info['code']}"
    w.doc.core_properties.language = "fr-FR"
    w.doc.core_properties.author = "Suivi QPV"
    _title(w, d)
    for part in (_part1, _part2, _part3, _part4, _part5, dsu_part, sex_part, method_part, annex):
        part(w, d)
    return w.bytes()


def build_report(con, contract: str, year: int, quartier: str | None = None) -> Report:
    """The report of a contract, or of one quartier and its reference territories, as it
    stood in `year`. Raises ValueError (French message) for an unknown contract or quartier."""
    data = collect(con, contract, year, quartier)
    return Report(data=data, docx=report_docx(data))


def write_report(con, contract: str, year: int, quartier: str | None, out) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".docx":
        raise ValueError(f"Extension « {out.suffix} » non prise en charge : le rapport est un "
                         "document Word (.docx).")
    out.write_bytes(build_report(con, contract, year, quartier).docx)
    return out
