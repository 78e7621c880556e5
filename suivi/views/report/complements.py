"""The complements of the annual report: actions funded by the DSU (part 6 of the décret),
data by sex, method and sources, and the annex for the opinions of the conseils citoyens and
councils. suivi/views/report/docx.py writes the document and calls these after parts 1 to 5.
"""

from __future__ import annotations

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.core import projection as pj
from suivi.views.report.data import ReportData
from suivi.views.report.text import value_text
from suivi.views.report.writer import Writer, one_line

#: Headings (Heading 1) of part 6 and of the complements; report_docx.PARTS lists the six parts.
DSU_PART = "6. Les actions financées par la dotation de solidarité urbaine (DSU)"
SEX_PART = "Données par sexe"
METHOD_PART = "Méthode et sources"
ANNEX_PART = "Annexe : avis des conseils citoyens et délibérations"
DEMO_MARK = " (démo)"
#: Beyond this many quartiers (or communes, EPCI), the annex has one section for the others.
QUARTIER_ANNEX_LIMIT = 30



def dsu_part(w: Writer, d: ReportData) -> None:
    w.heading(DSU_PART, 1)
    if d.dsu_actions.empty and d.dsu_values.empty:
        w.to_complete("aucune action n'est identifiée dans la base comme financée par la "
                      "dotation de solidarité urbaine et de cohésion sociale (DSU). Décrivez ici "
                      f"les actions financées en {d.year}, leur montant et leurs résultats. "
                      "Pour qu'elles figurent automatiquement dans ce rapport, ajoutez la "
                      "mention « DSU » au libellé ou à la source de l'action (onglet "
                      "arborescence du classeur), ou chargez les montants avec la ventilation "
                      "« financeur » et la modalité « DSU ».")
        return
    parents = dict(zip(d.nodes["code"], d.nodes["label"]))
    if not d.dsu_actions.empty:
        w.para("Actions du contrat identifiées comme financées par la DSU (mention « DSU » "
               "dans leur libellé ou leur source) :")
        rows = [[f"{r['code']} – {one_line(r['label'])}",
                 f"{r['parent_code']} – {one_line(parents.get(r['parent_code'], ''))}",
                 one_line(r["source"])] for r in d.dsu_actions.to_dict("records")]
        w.table(["Action", "Objectif", "Mention"], rows, [6.0, 5.0, 5.0])
    if not d.dsu_values.empty:
        units = d.units
        labels = dict(zip(d.catalogue["code"], d.catalogue["label"]))
        names = dict(zip(d.territories["code"], d.territories["label"]))
        rows, demo = [], False
        for r in d.dsu_values.sort_values(["indicator_code", "territory_code", "year"]) \
                .to_dict("records"):
            demo = demo or bool(r["demo"])
            rows.append([f"{one_line(labels.get(r['indicator_code']))} "
                         f"({r['indicator_code']})",
                         one_line(names.get(r["territory_code"], r["territory_code"])),
                         f"{one_line(r['breakdown'])} : {one_line(r['modality'])}",
                         value_text(r["value"], units.get(r["indicator_code"]), r["year"],
                                    bool(r["demo"]))])
        w.para("Valeurs ventilées par financeur, part de la DSU :")
        w.table(["Indicateur", "Territoire", "Financeur", "Valeur"], rows,
                [6.0, 3.5, 3.0, 3.5], demo=demo)
    w.to_complete("compléter la liste, les montants et les résultats des actions financées "
                  "par la DSU.")


def sex_part(w: Writer, d: ReportData) -> None:
    w.heading(SEX_PART, 1)
    w.para("La loi demande que les données du rapport soient présentées par sexe. Pour "
           "chaque indicateur ventilé par sexe : dernière année où les deux valeurs sont "
           "connues (à défaut, la dernière année connue), valeur des femmes (F), des hommes "
           "(H) et écart F − H.")
    units = d.units
    labels = dict(zip(d.catalogue["code"], d.catalogue["label"]))
    names = dict(zip(d.territories["code"], d.territories["label"]))
    if d.sex.empty:
        w.para(f"Aucun indicateur n'a de valeur ventilée par sexe jusqu'en {d.year} pour ce "
               "périmètre.")
    else:
        rows = []
        for r in d.sex.to_dict("records"):
            unit = units.get(r["indicator_code"])
            mark = DEMO_MARK if r["demo"] else ""
            gap = r["gap"]
            rows.append([f"{one_line(labels.get(r['indicator_code']))} "
                         f"({r['indicator_code']})",
                         one_line(names.get(r["territory_code"], r["territory_code"])),
                         str(int(r["year"])),
                         fmt.with_unit(r["F"], unit) + (mark if not fmt.is_missing(r["F"])
                                                        else ""),
                         fmt.with_unit(r["H"], unit) + (mark if not fmt.is_missing(r["H"])
                                                        else ""),
                         "–" if fmt.is_missing(gap) else
                         fmt.number(gap, 1, trim=True) + (" pt" if unit in ("percent", "rate")
                                                          else "")])
        w.table(["Indicateur", "Territoire", "Année", "Femmes (F)", "Hommes (H)",
                 "Écart F − H"], rows, [5.6, 3.0, 1.2, 2.1, 2.1, 2.0],
                demo=bool(d.sex["demo"].any()))
    w.heading("Indicateurs sans ventilation par sexe", 2)
    if d.sex_missing.empty:
        w.para("Tous les indicateurs chiffrés ont une ventilation par sexe.")
    else:
        w.para(f"{fmt.number(len(d.sex_missing))} indicateur(s) chiffré(s) sans valeur ventilée "
               f"par sexe jusqu'en {d.year} :")
        for r in d.sex_missing.to_dict("records"):
            w.bullet(f"{r['code']} – {one_line(r['label'])}"
                     + (" (ventilation par sexe prévue, non renseignée)" if r["planned"] else ""))
    w.to_complete("commenter les écarts entre femmes et hommes et les actions menées pour "
                  "l'égalité.")


def method_part(w: Writer, d: ReportData) -> None:
    w.heading(METHOD_PART, 1)
    w.heading("Méthode", 2)
    w.para(pg.method_summary(d.thresholds))
    w.para(pj.method_summary())
    w.para("Écart avec la commune (loi n° 2014-173, art. 1) : pour les indicateurs en "
           "pourcentage, taux, ratio ou score, écart = d × (valeur du territoire − valeur du "
           "quartier), en points ; « en retard » quand le quartier fait moins bien que la "
           "commune. L'écart se réduit ou se creuse quand il varie de plus de "
           f"{fmt.number(pg.TREND_POINTS)} point par an entre la première et la dernière année "
           "connues. Les effectifs ne sont pas comparés bruts.")
    w.para("Une cellule vide est une valeur manquante, jamais un zéro. Les valeurs marquées "
           "« démo » sont des valeurs de démonstration générées, non réelles.")
    w.heading("Sources des données", 2)
    if d.info.get("source"):
        w.para(f"Contrat : {one_line(d.info['source'])}")
    if d.sources.empty:
        w.para("Aucune valeur chargée.")
    else:
        rows = [[one_line(r["Source"]), fmt.number(r["Valeurs (nombre)"]),
                 str(int(r["Première année"])), str(int(r["Dernière année"])),
                 fmt.number(r["Dont valeurs de démonstration"])]
                for r in d.sources.to_dict("records")]
        w.table(["Source", "Valeurs", "Première année", "Dernière année",
                 "Dont démonstration"], rows, [7.6, 2.0, 2.1, 2.1, 2.2],
                demo=bool((d.sources["Dont valeurs de démonstration"] > 0).any()))
    if d.last_load is not None and not fmt.is_missing(d.last_load):
        w.para(f"Dernier chargement de données : {fmt.date_fr(d.last_load)}.")


def annex(w: Writer, d: ReportData) -> None:
    w.heading(ANNEX_PART, 1)
    w.para("Le rapport est présenté aux conseils citoyens pour avis, puis débattu en conseil "
           "municipal et en conseil communautaire. Insérez ci-dessous les avis et les extraits "
           "de délibération.")
    quartiers = d.quartiers.to_dict("records")[:QUARTIER_ANNEX_LIMIT]
    for q in quartiers:
        w.heading(f"Avis du conseil citoyen – {one_line(q['label'])}", 2)
        w.to_complete("avis du conseil citoyen (date, texte).")
    if len(d.quartiers) > QUARTIER_ANNEX_LIMIT:
        w.heading("Avis des autres conseils citoyens", 2)
        w.to_complete("avis des autres conseils citoyens.")
    kinds = d.territories.set_index("code")["kind"]
    communes = [c for c in d.territories["code"] if kinds[c] == "commune"][:QUARTIER_ANNEX_LIMIT]
    epcis = [c for c in d.territories["code"] if kinds[c] == "epci"][:QUARTIER_ANNEX_LIMIT]
    names = dict(zip(d.territories["code"], d.territories["label"]))
    for c in communes or [None]:
        w.heading("Délibération du conseil municipal"
                  + (f" – {one_line(names[c])}" if c else ""), 2)
        w.to_complete("date et extrait de la délibération.")
    for c in epcis or [None]:
        w.heading("Délibération du conseil communautaire"
                  + (f" – {one_line(names[c])}" if c else ""), 2)
        w.to_complete("date et extrait de la délibération.")
