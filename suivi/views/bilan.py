"""The annual report (« bilan annuel ») for the comité de pilotage: one self-contained HTML file
that prints cleanly to A4 PDF, and the same tables as an xlsx workbook.

Self-contained means the file opens offline and years later: inline CSS, charts drawn as inline
SVG (no JavaScript, no CDN, no web font), nothing fetched. The report is built with plain string
templates; every value that comes from the database goes through `esc` (html.escape), so a
label typed in a workbook can never inject markup. Numbers, percents and dates are French
(suivi/core/fmt.py). The statuses come from the SQL method (queries.series_status), so the report
says exactly what the dashboard says.

The report covers the whole contract, or one quartier and its reference territories. Sizes are
bounded so that a national contract (1 400 QPV) still gives a readable report in seconds: past
DETAIL_LIMIT rows, a detail table is replaced by its summary per indicator (the page then
suggests choosing a quartier), and the gaps of every quartier come from one SQL query.
"""

from __future__ import annotations

import io
import numbers
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.core import projection as pj
from suivi.core.exports import neutralise_formulas
from suivi.core.vocab import LABELS, labelled
from suivi.store import queries, reports, stored_gaps
from suivi.store.status_sql import SERIES_KEY
from suivi.views import charts, overview
from suivi.views.charts import esc

#: Rows of a detail table (series, gaps) beyond which the report shows a summary instead.
DETAIL_LIMIT = 3000
#: Territories beyond which the per-territory chart and table group territories by kind.
TERRITORY_LIMIT = 40

NO_PRIORITY = "Sans priorité"
NO_PRIORITY_LABEL = "Indicateurs rattachés à aucun objectif de ce niveau"
NOTHING_LOADED = ("Aucune valeur n'est disponible pour ce périmètre jusqu'en {year} : ce bilan "
                  "n'a pas encore de série à présenter.")
STATUS_COLUMNS = [f"{s.icon} {s.label}" for s in pg.STATUSES]
STATUS_TEXT = dict(zip([s.code for s in pg.STATUSES], STATUS_COLUMNS))
SERIES_COLUMNS = ["indicator_code", "territory_code", "breakdown", "modality", "baseline_year",
                  "baseline", "target_year", "target", "year", "value", "last_actual_year", "A",
                  "P", "status", "reason_text", "node_code", "territory_label",
                  "territory_kind", "indicator_label", "demo"]
#: Columns holding a year: shown as 2022, never as "2 022".
YEAR_COLUMNS = {"Année", "Année de référence", "Année cible", "Année du réalisé", "Depuis",
                "Première année", "Dernière année"}
SHEETS = {  # table key -> xlsx sheet name (31 characters at most)
    "synthese": "Synthèse",
    "priorites": "Par priorité",
    "territoires": "Par territoire",
    "indicateurs": "Indicateurs",
    "ecarts": "Écarts commune",
    "sans_donnees": "Sans données",
    "sources": "Sources",
    "methode": "Méthode",
}
GAP_TREND_ORDER = ["reduces", "stable", "widens", "not_assessable"]


@dataclass
class Bilan:
    """The report as HTML and the tables behind it (raw numbers, French column names).

    `detailed` is False when the series or gaps were summarised per indicator because the
    scope is too large (choose a quartier for the full detail).
    """

    contract: str
    year: int
    quartier: str | None
    html: str
    tables: dict[str, pd.DataFrame]
    has_demo: bool
    detailed: bool = True

    @property
    def file_stem(self) -> str:
        return f"bilan-{self.contract}-{self.year}" + (f"-{self.quartier}" if self.quartier
                                                       else "")


# --- Data ---------------------------------------------------------------------------------------

def _counts(statuses: pd.DataFrame, by: str, weight: str | None = None) -> pd.DataFrame:
    """Series per status for each group, with icon + label columns and a total (`weight`:
    the column holding how many series each row stands for, when counted already)."""
    counts = overview.status_counts(statuses, by, weight).astype("int64").rename_axis(by)
    counts.columns = STATUS_COLUMNS
    counts["Total"] = counts.sum(axis=1)
    return counts


def _priorities(nodes: pd.DataFrame) -> pd.DataFrame:
    """Depth-2 nodes (the priorities) with their parent and level name, in the tree's order."""
    if nodes.empty:
        return pd.DataFrame(columns=["code", "label", "pillar", "level"])
    labels = dict(zip(nodes["code"], nodes["label"]))
    prio = nodes[nodes["depth"] == 2]
    return pd.DataFrame({"code": prio["code"].tolist(), "label": prio["label"].tolist(),
                         "pillar": [labels.get(p[0], "") for p in prio["path"]],
                         "level": prio["level"].tolist()})


def _series_table(s: pd.DataFrame, units: dict) -> pd.DataFrame:
    """One row per series: baseline, target, latest actual, status; `s` is already sorted."""
    ventilation = (s["breakdown"].fillna("") + " " + s["modality"].fillna("")).str.strip()
    unit = s["indicator_code"].map(units)
    return pd.DataFrame({
        "Priorité": s["group_code"].fillna(NO_PRIORITY),
        "Code indicateur": s["indicator_code"],
        "Indicateur": s["indicator_label"],
        "Unité": labelled("unit", unit),
        "Code territoire": s["territory_code"],
        "Territoire": s["territory_label"],
        "Type de territoire": labelled("kind", s["territory_kind"]),
        "Ventilation": ventilation,
        "Année de référence": s["baseline_year"].astype("Int64"),
        "Situation de référence": s["baseline"],
        "Année cible": s["target_year"].astype("Int64"),
        "Situation visée": s["target"],
        "Année du réalisé": s["year"].astype("Int64"),
        "Réalisé": s["value"],
        "Avancement A (%)": s["A"] * 100,
        "Rythme P": s["P"],
        "Statut": s["status"].map(STATUS_TEXT),
        "Au rythme actuel": s["projection_short"] if "projection_short" in s else "–",
        "Motif (non évaluable)": s["reason_text"],
        "Valeurs de démonstration": s["demo"].fillna(False).astype(bool),
        "_unit": unit,
    }).reset_index(drop=True)


def _series_summary(s: pd.DataFrame, units: dict, weight: str | None) -> pd.DataFrame:
    """Per indicator: how many series (territories) in each status, for large scopes."""
    counts = _counts(s, "indicator_code", weight)
    first = s.drop_duplicates("indicator_code").set_index("indicator_code")
    out = counts.reset_index().rename(columns={"indicator_code": "Code indicateur"})
    codes = out["Code indicateur"]
    out.insert(0, "Priorité", codes.map(first["group_code"]).fillna(NO_PRIORITY))
    out.insert(2, "Indicateur", codes.map(first["indicator_label"]))
    out.insert(3, "Unité", labelled("unit", codes.map(units)))
    order = codes.map(first["_p"])
    return out.assign(_o=order).sort_values(["_o", "Code indicateur"]).drop(columns="_o") \
        .reset_index(drop=True)


def gap_table(s, contract: str, year: int, quartier: str | None,
              order: dict) -> pd.DataFrame:
    """Per quartier x comparable indicator: latest gap to the commune (else the nearest
    reference territory) up to `year`, and whether it narrows or widens since the first year.

    One query for all quartiers; the trend is pg.gap_trend in vectorised form (same threshold,
    same tolerance, same labels: tests check both agree).
    """
    g = stored_gaps.read(s, contract, year, quartier)
    g = g.assign(_t=g["quartier"].map(order).fillna(len(order))) \
        .sort_values(["_t", "indicator_code"], kind="stable").reset_index(drop=True)
    span = g["year"] - g["first_year"]
    slope = (g["gap"] - g["first_gap"]) / span.where(span > 0)
    bound = pg.TREND_POINTS + pg.TOLERANCE
    trend = np.select([slope > bound, slope < -bound, slope.notna()],
                      ["widens", "reduces", "stable"], default="not_assessable")
    ratio = g["qpv_value"] / g["ref_value"].where(g["ref_value"] != 0)
    return pd.DataFrame({
        "Quartier": g["quartier_label"], "Code quartier": g["quartier"],
        "Code indicateur": g["indicator_code"], "Indicateur": g["indicator_label"],
        "Unité": labelled("unit", g["unit"]), "Année": g["year"].astype("Int64"),
        "Valeur du quartier": g["qpv_value"],
        "Territoire de comparaison": g["reference_label"],
        "Valeur du territoire": g["ref_value"], "Écart (points ou unités)": g["gap"],
        "Ratio quartier / territoire": ratio,
        "Évolution de l'écart": pd.Series(trend, index=g.index).map(pg.GAP_TRENDS),
        "Depuis": g["first_year"].astype("Int64").where(span > 0),
        "Pente de l'écart (par an)": slope,
        "_unit": g["unit"],
    })


def _gap_summary(counts: pd.DataFrame) -> pd.DataFrame:
    """Per indicator: quartiers whose gap narrows, is stable or widens; median latest gap
    (from stored_gaps.summary, counted by the engine)."""
    out = pd.DataFrame({
        "Code indicateur": counts["indicator_code"],
        "Indicateur": counts["indicator_label"],
        "Unité": labelled("unit", counts["unit"]),
        "Quartiers comparés (nombre)": counts["n"],
    })
    for key in GAP_TREND_ORDER:
        out[f"Quartiers : {pg.GAP_TRENDS[key]} (nombre)"] = counts[f"n_{key}"]
    out["Écart médian (points ou unités)"] = counts["median_gap"]
    out["_unit"] = counts["unit"]
    return out.reset_index(drop=True)


def _without_data(catalogue: pd.DataFrame, with_actual: set, year: int) -> pd.DataFrame:
    """Indicators (not in `with_actual`) with no actual value up to `year` in the report's
    territories, and why."""
    rows = catalogue[~catalogue["code"].isin(with_actual)]
    reason = pd.Series(f"Aucune valeur réalisée jusqu'en {year}.", index=rows.index,
                       dtype="object")
    reason[rows["has_baseline"] | rows["has_target"]] = (
        f"Situation de référence ou visée connue, mais aucune valeur réalisée jusqu'en {year}.")
    reason[rows["unit"].eq("composite")] = "Indicateur composé : ses composantes portent les " \
                                           "valeurs."
    return pd.DataFrame({
        "Code indicateur": rows["code"], "Indicateur": rows["label"],
        "Unité": labelled("unit", rows["unit"]), "Objectifs mesurés": rows["objectifs"],
        "Source prévue": rows["source"], "Motif": reason,
    }).reset_index(drop=True)


def _method(info: dict, th: pg.Thresholds, year: int) -> pd.DataFrame:
    return pd.DataFrame({
        "Paramètre": ["Année d'évaluation (valeurs postérieures ignorées)",
                      "Seuil « En bonne voie » (rythme P ≥)",
                      "Seuil « Progrès, accélération nécessaire » (rythme P ≥)",
                      "Seuil « Dégradation » (rythme P <)",
                      "Seuil d'évolution de l'écart (points par an)",
                      "Année de référence du contrat", "Année cible du contrat"],
        "Valeur": [year, th.on_track, th.acceleration, pg.DETERIORATION, pg.TREND_POINTS,
                   info.get("baseline_year"), info.get("target_year")],
    })


# --- HTML pieces --------------------------------------------------------------------------------

def svg_status_bars(counts: pd.DataFrame, labels: list[str], title: str) -> str:
    """Stacked horizontal bars of series per status, as inline SVG (prints without JS): the
    Vue d'ensemble's (charts.status_bars_svg), on counts named by STATUS_COLUMNS."""
    return charts.status_bars_svg(counts, labels, title,
                                  dict(zip((s.code for s in pg.STATUSES), STATUS_COLUMNS)))


def _is_number(v) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, (bool, np.bool_))


def _table(df: pd.DataFrame, formats: dict | None = None, cls: str = "") -> str:
    """An HTML table of the columns not starting with '_'; `formats` maps a column to a
    function(value, row) -> text. Years print as 2022, other numbers the French way."""
    formats = formats or {}
    cols = [c for c in df.columns if not str(c).startswith("_")]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = []
    for row in df.to_dict("records"):
        cells = []
        for c in cols:
            v = row[c]
            if c in formats:
                text = formats[c](v, row)
            elif fmt.is_missing(v):
                text = "–"
            elif c in YEAR_COLUMNS:
                text = str(int(v))
            elif _is_number(v):
                text = fmt.number(v)
            elif isinstance(v, (bool, np.bool_)):
                text = "oui" if v else ""
            else:
                text = v
            num = ' class="num"' if _is_number(v) and c not in YEAR_COLUMNS else ""
            cells.append(f"<td{num}>{esc(text)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _valued(year_column: str | None = None):
    """Format a value with its row's unit, and its year in brackets."""
    def f(v, row):
        text = fmt.with_unit(v, row["_unit"])
        if year_column and not fmt.is_missing(v) and not fmt.is_missing(row[year_column]):
            text += f" ({int(row[year_column])})"
        return text
    return f


def _gap_text(v, row) -> str:
    if fmt.is_missing(v):
        return "–"
    suffix = " pt" if row["_unit"] in ("percent", "rate") else ""
    sign = "+" if v > 0 else ""
    return f"{sign}{fmt.number(v, 1)}{suffix}"


CSS = """
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font-family: Marianne, Arial, Helvetica, sans-serif; font-size: 10.5pt; color: #1e1e1e;
       margin: 0 auto; max-width: 190mm; padding: 8mm 0; line-height: 1.35;
       -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 19pt; margin: 0 0 4pt; color: #000091; }
h2 { font-size: 14pt; margin: 18pt 0 6pt; color: #000091; border-bottom: 2px solid #000091;
     padding-bottom: 2pt; }
h3 { font-size: 11.5pt; margin: 12pt 0 4pt; }
p.sub { margin: 0 0 8pt; color: #555; }
.demo { border: 2px solid #b34000; background: #fff4e5; padding: 6pt 10pt; margin: 8pt 0;
        font-weight: bold; }
.cards { display: flex; flex-wrap: wrap; gap: 6pt; margin: 6pt 0 10pt; }
.card { border: 1px solid #ccc; border-left: 6px solid var(--c); padding: 4pt 8pt;
        min-width: 40mm; flex: 1 1 40mm; break-inside: avoid; }
.card .n { font-size: 16pt; font-weight: bold; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 10pt; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: left; vertical-align: top; }
th { background: #e8edff; font-size: 8pt; hyphens: auto; }
td { overflow-wrap: anywhere; hyphens: auto; }
td.num { text-align: right; white-space: nowrap; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
svg.chart { max-width: 100%; height: auto; font-size: 11px; font-family: inherit; }
svg .svg-title { font-weight: bold; font-size: 13px; }
svg .tick { fill: #555; font-size: 10px; }
section.priority { break-before: page; page-break-before: always; }
section.block { break-inside: auto; }
.note { color: #444; font-size: 9pt; }
footer { margin-top: 16pt; color: #666; font-size: 8.5pt; border-top: 1px solid #ccc;
         padding-top: 4pt; }
@media print { body { padding: 0; max-width: none; } h2, h3 { break-after: avoid; }
               .chart { break-inside: avoid; } }
"""


def _method_html(th: pg.Thresholds, year: int) -> str:
    statuses = "".join(f"<li>{esc(s.icon)} <b>{esc(s.label)}</b></li>" for s in pg.STATUSES)
    return f"""
<p>Chaque série (indicateur × territoire) est évaluée à partir de sa situation de référence
(année b, valeur B), de sa situation visée (année T, valeur C) et de sa dernière valeur réalisée
jusqu'en {year} (année t, valeur V). d vaut +1 quand une hausse est souhaitée, −1 quand une
baisse est souhaitée.</p>
<ul>
<li>Objectif atteint quand d × (V − C) ≥ 0.</li>
<li>Sinon : avancement A = (V − B) / (C − B), part du temps écoulé
E = min(1 ; (t − b) / (T − b)), rythme P = A / E.</li>
<li>Échéance passée (t ≥ T) et cible non atteinte : objectif non atteint.</li>
<li>Sinon : en bonne voie si P ≥ {fmt.number(th.on_track)} ; progrès, accélération nécessaire
si {fmt.number(th.acceleration)} ≤ P &lt; {fmt.number(th.on_track)} ; progrès limité si
0 ≤ P &lt; {fmt.number(th.acceleration)} ; dégradation si P &lt; 0.</li>
<li>Non évaluable quand la référence, la cible ou une valeur réalisée postérieure à la
référence manque, ou quand l'indicateur n'a pas de sens d'évolution souhaité (le motif est
indiqué).</li>
</ul>
<p>Statuts, du meilleur au moins bon :</p><ul>{statuses}</ul>
<p>Écart avec la commune (loi n° 2014-173, art. 1) : pour les indicateurs en pourcentage, taux,
ratio ou score, écart = d × (valeur du territoire − valeur du quartier), en points ; un écart
positif signifie que le quartier est en retard. L'écart se réduit ou se creuse quand il varie
de plus de {fmt.number(pg.TREND_POINTS)} point par an entre la première et la dernière année
connues. Les effectifs ne sont pas comparés bruts.</p>
<p>Seuils issus de la méthode quantitative d'Open SDG (0,95 et 0,60 par défaut), sous sa forme
linéaire ; un contrat peut définir ses propres seuils.</p>
<p>{esc(pj.method_summary())}</p>"""


def _headline(synth: pd.DataFrame) -> str:
    cards = []
    for info, row in zip(pg.STATUSES, synth.to_dict("records")):
        cards.append(f'<div class="card" style="--c:{info.colour}"><div>{esc(info.icon)} '
                     f'{esc(info.label)}</div><div class="n">'
                     f'{fmt.number(row["Séries (nombre)"])}</div>'
                     f'<div>{fmt.percent(row["Part (%)"])} des séries</div></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


SERIES_FORMATS = {"Situation de référence": _valued("_yb"), "Situation visée": _valued("_yt"),
                  "Réalisé": _valued("_yr"),
                  "Avancement A (%)": lambda v, r: fmt.percent(v, 0)}
SERIES_SHOWN = ["Indicateur", "Territoire", "Situation de référence", "Situation visée",
                "Réalisé", "Avancement A (%)", "Statut", "Au rythme actuel", "_unit", "_yb",
                "_yt", "_yr"]
GAP_FORMATS = {"Valeur du quartier": _valued(), "Valeur du territoire": _valued(),
               "Écart (points ou unités)": _gap_text,
               "Écart médian (points ou unités)": _gap_text}


def _series_html(part: pd.DataFrame) -> str:
    """A priority's series, the indicator named once above its territories."""
    counts = part["Statut"].value_counts()
    summary = " · ".join(f"{esc(c)} : {fmt.number(counts[c])}" for c in STATUS_COLUMNS
                         if c in counts)
    first = part["Code indicateur"].ne(part["Code indicateur"].shift())
    territory = part["Territoire"].fillna(part["Code territoire"]) + np.where(part["Ventilation"] != "",
                                              " – " + part["Ventilation"], "") \
        + np.where(part["Valeurs de démonstration"], " (démo)", "")
    view = part.assign(
        Indicateur=np.where(first, part["Indicateur"] + " (" + part["Code indicateur"] + ")", ""),
        Territoire=territory, _yb=part["Année de référence"], _yt=part["Année cible"],
        _yr=part["Année du réalisé"])
    return (f"<p>{fmt.number(len(part))} série(s) : {summary}</p>"
            + _table(view[SERIES_SHOWN], SERIES_FORMATS, cls="series"))


def _summary_html(part: pd.DataFrame) -> str:
    """A priority's indicators with their number of series in each status (large scopes)."""
    view = part.assign(Indicateur=part["Indicateur"] + " (" + part["Code indicateur"] + ")")
    cols = ["Indicateur", *[c for c in STATUS_COLUMNS if view[c].sum() > 0], "Total"]
    return _table(view[cols])


def _render(ctx: dict, t: dict[str, pd.DataFrame]) -> str:
    info, year, level = ctx["info"], ctx["year"], ctx["level"]
    name = info["name"]
    synth = t["synthese"]
    total = int(synth["Séries (nombre)"].sum())
    scope = (f"quartier {esc(ctx['quartier_label'])} et ses territoires de référence"
             if ctx["quartier"] else "tous les quartiers et territoires de référence")
    title = f"Bilan annuel {year} – {esc(name)}" + (
        f" – {esc(ctx['quartier_label'])}" if ctx["quartier"] else "")
    out = [f"<header><h1>{title}</h1>",
           f'<p class="sub">Contrat {esc(info["code"])}, période {esc(info["period_start"])}–'
           f'{esc(info["period_end"])} · {scope} · situation en {year} (valeurs postérieures '
           f"ignorées) · {fmt.number(total)} série(s) · document produit le "
           f"{esc(fmt.date_fr(ctx['now']))}</p>"]
    if ctx["has_demo"]:
        out.append('<div class="demo" role="alert">⚠ Valeurs de démonstration : ce bilan inclut '
                   "des valeurs générées pour montrer le fonctionnement du tableau de bord. "
                   "Elles ne sont pas réelles et ne doivent pas être diffusées comme résultats "
                   "du contrat (mention « démo » dans les tableaux).</div>")
    out.append("</header>")

    # 1. Synthesis: headline counts, per priority, per territory.
    out.append('<section class="block"><h2>1. Synthèse</h2>')
    by_prio, by_terr = t["priorites"], t["territoires"]
    measured = by_prio[by_prio["Total"] > 0]
    if not total:  # rather than seven cards at « 0,0 % des séries » and empty charts
        out.append(f"<p>{esc(NOTHING_LOADED.format(year=year))}</p>")
    else:
        out.append(_headline(synth))
        out.append(f"<p>{esc(ctx['projection_line'])}</p>")
        labels = [f"{c} – {lbl}" for c, lbl in zip(measured["Priorité"], measured["Libellé"])]
        out.append(svg_status_bars(measured, labels, f"Statut des séries par {level}"))
        out.append(f"<h3>Séries par {esc(level)} et par statut (nombre)</h3>")
        out.append(_table(measured))
        empty = by_prio[by_prio["Total"] == 0]
        if len(empty):
            out.append(f'<p class="note">Sans série suivie ({esc(level)}) : '
                       f"{esc(', '.join(empty['Priorité']))}.</p>")
        if len(by_terr) <= TERRITORY_LIMIT:
            labels = [f"{lbl} ({k})" for lbl, k in zip(by_terr["Territoire"], by_terr["Type"])]
            out.append(svg_status_bars(by_terr, labels, "Statut des séries par territoire"))
            out.append("<h3>Séries par territoire et par statut (nombre)</h3>")
            out.append(_table(by_terr))
        else:
            kinds = by_terr.groupby("Type", sort=False)[[*STATUS_COLUMNS, "Total"]].sum()
            kinds.insert(0, "Territoires (nombre)", by_terr.groupby("Type", sort=False).size())
            out.append(svg_status_bars(kinds, kinds.index.tolist(),
                                       "Statut des séries par type de territoire"))
            out.append("<h3>Séries par type de territoire et par statut (nombre)</h3>")
            out.append(_table(kinds.rename_axis("Type de territoire").reset_index()))
            out.append(f'<p class="note">{fmt.number(len(by_terr))} territoires : le détail par '
                       "territoire est dans le fichier xlsx (onglet « Par territoire »).</p>")
    out.append("</section>")

    # 2.. One section per priority with series.
    series = t["indicateurs"]
    parents = dict(zip(ctx["prio"]["code"], ctx["prio"]["pillar"]))
    n = 1
    for code, label in zip(measured["Priorité"], measured["Libellé"]):
        n += 1
        part = series[series["Priorité"] == code]
        heading = f"{esc(level.capitalize())} {esc(code)} – {esc(label)}" \
            if code != NO_PRIORITY else esc(label)
        out.append(f'<section class="priority"><h2>{n}. {heading}</h2>')
        if parents.get(code):
            out.append(f'<p class="sub">Niveau supérieur : {esc(parents[code])}</p>')
        if ctx["detailed_series"]:
            out.append(_series_html(part))
        else:
            out.append('<p class="note">Périmètre trop large pour le détail par territoire : '
                       "nombre de séries par indicateur et par statut. Choisissez un quartier "
                       "pour le détail (référence, cible, réalisé de chaque série).</p>")
            out.append(_summary_html(part))
        out.append("</section>")

    # Gaps, missing data, method, sources.
    n += 1
    gaps = t["ecarts"]
    out.append(f'<section class="priority"><h2>{n}. Écart avec la commune</h2>')
    if gaps.empty:
        out.append("<p>Aucun indicateur comparable (pourcentage, taux, ratio, score) n'a de "
                   "valeur à la fois pour un quartier et pour sa commune.</p>")
    else:
        out.append('<p class="note">Écart = d × (valeur de la commune − valeur du quartier) : '
                   "positif, le quartier est en retard ; négatif, il est en avance. Dernière "
                   f"année connue jusqu'en {year}, évolution depuis la première année connue."
                   "</p>")
        if ctx["detailed_gaps"]:
            for quartier, part in gaps.groupby("Quartier", sort=False):
                out.append(f"<h3>{esc(quartier)}</h3>")
                out.append(_table(part[["Indicateur", "Année", "Valeur du quartier",
                                        "Territoire de comparaison", "Valeur du territoire",
                                        "Écart (points ou unités)", "Évolution de l'écart",
                                        "Depuis", "_unit"]], GAP_FORMATS))
        else:
            out.append(_table(gaps.drop(columns=["Code indicateur"]), GAP_FORMATS))
    out.append("</section>")

    missing = t["sans_donnees"]
    out.append(f'<section class="block"><h2>{n + 1}. Indicateurs sans données</h2>')
    if missing.empty:
        out.append(f"<p>Tous les indicateurs ont au moins une valeur réalisée jusqu'en {year}."
                   "</p>")
    else:
        out.append(f"<p>{fmt.number(len(missing))} indicateur(s) sans valeur réalisée jusqu'en "
                   f"{year} pour ce périmètre.</p>")
        out.append(_table(missing[["Code indicateur", "Indicateur", "Unité", "Motif"]]))
    out.append("</section>")

    out.append(f'<section class="block"><h2>{n + 2}. Méthode</h2>'
               f"{_method_html(ctx['thresholds'], year)}</section>")
    out.append(f'<section class="block"><h2>{n + 3}. Sources des données</h2>')
    if info.get("source"):
        out.append(f"<p><b>Contrat :</b> {esc(info['source'])}</p>")
    sources = t["sources"]
    out.append(_table(sources) if not sources.empty else "<p>Aucune valeur chargée.</p>")
    if ctx["last_load"] is not None:
        out.append(f'<p class="note">Dernier chargement de données : '
                   f"{esc(fmt.date_fr(ctx['last_load']))}.</p>")
    out.append("</section>")
    out.append(f"<footer>Suivi QPV – bilan annuel {year} – {esc(info['code'])}. Statuts "
               "calculés par la méthode décrite ci-dessus ; tableaux détaillés dans le fichier "
               "xlsx joint.</footer>")
    body = "\n".join(out)
    return (f'<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


# --- Projection -------------------------------------------------------------------------------

PROJECTION_COLUMNS = ["projection", "projection_reason", "reach_year", "expected", "half_band",
                      "n_points", "last_year", "projection_sentence", "projection_short"]


def _grouped(rows: pd.DataFrame, nodes: pd.DataFrame, prio_order: dict) -> pd.DataFrame:
    """Rows (series, or counts per indicator) with their priority (`group_code`, NO_PRIORITY
    when none) and its rank in the tree (`_p`)."""
    rows = overview.roll_up(rows, nodes, 2)
    return rows.assign(group_code=rows["group_code"].fillna(NO_PRIORITY),
                       _p=rows["group_code"].map(prio_order).fillna(len(prio_order)))


def with_projections(s, statuses: pd.DataFrame, contract: str, year: int,
                     territories: list[str] | None) -> pd.DataFrame:
    """Status rows with their projection to the target year (stored with the statuses, see
    suivi/store/projection_sql.py), order kept; `territories` restricts the query to a
    quartier and its references."""
    proj = queries.projections(s, contract, year, territories)
    proj = proj[[*SERIES_KEY, *PROJECTION_COLUMNS]]
    if statuses.empty:
        return statuses.assign(**{c: pd.Series(dtype="object") for c in PROJECTION_COLUMNS})
    return statuses.merge(proj, on=list(SERIES_KEY), how="left").set_axis(statuses.index)


def projection_line(counts) -> str:
    """One sentence: how many series would reach their target at the current pace, from the
    number of series per projection outcome (a mapping: code -> count)."""
    n = {k: int(counts.get(k, 0)) for k in pj.PROJECTION_STATUSES}
    projected = n["on_time"] + n["late"] + n["never"]
    if not projected:
        return ("Projection au rythme actuel : aucune série n'a les deux valeurs réalisées "
                "après la référence et la cible qu'elle demande.")
    return (f"Au rythme actuel (projection à partir d'au moins deux valeurs réalisées après la "
            f"référence), {fmt.number(n['on_time'])} série(s) atteindraient leur cible à "
            f"l'échéance, {fmt.number(n['late'])} après l'échéance et "
            f"{fmt.number(n['never'])} pas à ce rythme ; {fmt.number(n['achieved'])} l'ont déjà "
            "atteinte.")


# --- Entry points -------------------------------------------------------------------------------

def build_bilan(s, contract: str, year: int, quartier: str | None = None,
                catalogue: pd.DataFrame | None = None, counted: dict | None = None) -> Bilan:
    """The report of a contract (or of one quartier and its reference territories) as it
    stood in `year`: later values are ignored. The caller may pass what it has at hand
    already (the app's pages share them): `catalogue`, queries.indicators(s, contract), and
    `counted`, queries.status_overview over the report's territories."""
    info = queries.contract(s, contract)
    if info is None:
        raise ValueError(f"Contrat « {contract} » inconnu.")
    year = int(year)
    th = pg.Thresholds.from_contract(info.get("threshold_on_track"),
                                     info.get("threshold_acceleration"))
    nodes = queries.tree(s, contract)
    prio = _priorities(nodes)
    level = str(prio["level"].iloc[0]) if len(prio) and prio["level"].iloc[0] else "priorité"
    terr = queries.territories(s, contract)
    quartier_label = None
    if quartier:
        if quartier not in set(terr["code"]):
            raise ValueError(f"Quartier « {quartier} » absent du contrat « {contract} ».")
        quartier_label = terr.set_index("code").loc[quartier, "label"]
        scope = [quartier, *queries.references_of(s, quartier)["code"]]
        terr = terr.set_index("code").loc[[c for c in scope if c in set(terr["code"])]] \
            .reset_index()
    order = {c: i for i, c in enumerate(terr["code"])}
    if catalogue is None:
        catalogue = queries.indicators(s, contract)
    units = dict(zip(catalogue["code"], catalogue["unit"]))

    only = list(order) if quartier else None
    if counted is None:
        counted = queries.status_overview(s, contract, year, only)
    per_status = counted["territory"]  # each series once
    prio_order = {c: i for i, c in enumerate(prio["code"])}
    detailed_series = int(per_status["n"].sum()) <= DETAIL_LIMIT
    if detailed_series:  # the table lists every series, in this order, with its projection
        statuses = queries.series_status_for(s, contract, year, only) if quartier \
            else queries.series_status(s, contract, year)
        if statuses.empty:
            statuses = pd.DataFrame(columns=SERIES_COLUMNS)
        series = _grouped(statuses, nodes, prio_order)
        series = series.assign(_t=series["territory_code"].map(order).fillna(len(order))) \
            .sort_values(["_p", "indicator_code", "_t", "breakdown", "modality"], kind="stable")
        series = with_projections(s, series, contract, year, only)
        outcomes = series["projection"].value_counts()
        per_territory, weight = series, None
    else:  # summarised per indicator from the engine's counts: reading, rolling up and
        # sorting the 270 000 series of a national contract took about 0.5 s
        labels = dict(zip(catalogue["code"], catalogue["label"]))
        per_indicator = counted["indicator_status"]
        series = _grouped(per_indicator.assign(
            indicator_label=per_indicator["indicator_code"].map(labels)), nodes, prio_order)
        outcomes = dict(zip(counted["projection"]["projection"], counted["projection"]["n"]))
        per_territory, weight = per_status, "n"
    has_demo = bool(per_status["demo"].sum()) if quartier else queries.has_demo(s, contract)

    counts = per_status.groupby("status")["n"].sum()
    n = [int(counts.get(s.code, 0)) for s in pg.STATUSES]
    synth = pd.DataFrame({"Statut": STATUS_COLUMNS, "Séries (nombre)": n,
                          "Part (%)": [round(100 * v / (sum(n) or 1), 1) for v in n]})

    groups = prio["code"].tolist() + ([NO_PRIORITY] if series["group_code"].eq(NO_PRIORITY)
                                      .any() else [])
    by_prio = _counts(series, "group_code", weight).reindex(groups, fill_value=0)
    prio_labels = {**dict(zip(prio["code"], prio["label"])), NO_PRIORITY: NO_PRIORITY_LABEL}
    pillars = dict(zip(prio["code"], prio["pillar"]))
    by_prio.insert(0, "Niveau supérieur", [pillars.get(c, "") for c in groups])
    by_prio.insert(0, "Libellé", [prio_labels[c] for c in groups])
    by_prio = by_prio.rename_axis("Priorité").reset_index()

    by_terr = _counts(per_territory, "territory_code", weight)
    by_terr = by_terr.reindex([c for c in terr["code"] if c in by_terr.index], fill_value=0)
    labels = dict(zip(terr["code"], terr["label"]))
    kinds = dict(zip(terr["code"], terr["kind"]))
    by_terr.insert(0, "Type", [LABELS["kind"].get(kinds[c], kinds[c]) for c in by_terr.index])
    by_terr.insert(0, "Territoire", [labels[c] for c in by_terr.index])
    by_terr = by_terr.rename_axis("Code territoire").reset_index()

    gap_counts = stored_gaps.summary(s, contract, year, quartier)
    detailed_gaps = int(gap_counts["n"].sum()) <= DETAIL_LIMIT
    tables = {
        "synthese": synth,
        "priorites": by_prio,
        "territoires": by_terr,
        "indicateurs": _series_table(series, units) if detailed_series
        else _series_summary(series, units, weight),
        "ecarts": gap_table(s, contract, year, quartier, order) if detailed_gaps
        else _gap_summary(gap_counts),
        "sans_donnees": _without_data(catalogue, set(
            counted["indicator"].loc[counted["indicator"]["last_year"].notna(),
                                     "indicator_code"]), year),
        "sources": reports.value_sources(s, contract, year, list(order) if quartier else None),
        "methode": _method(info, th, year),
    }
    ctx = dict(info=info, year=year, level=level, prio=prio, quartier=quartier,
               quartier_label=quartier_label, has_demo=has_demo, thresholds=th,
               last_load=queries.last_upload(s), now=datetime.now(),
               detailed_series=detailed_series, detailed_gaps=detailed_gaps,
               projection_line=projection_line(outcomes))
    page = _render(ctx, tables)
    public = {k: v[[c for c in v.columns if not str(c).startswith("_")]]
              for k, v in tables.items()}
    return Bilan(contract=contract, year=year, quartier=quartier, html=page, tables=public,
                 has_demo=has_demo, detailed=detailed_series and detailed_gaps)


def bilan_xlsx(bilan: Bilan) -> bytes:
    """The report's tables as an xlsx workbook, one sheet per table, raw numbers."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for key, frame in bilan.tables.items():
            name = SHEETS.get(key, key)[:31]
            neutralise_formulas(frame).to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            for i, col in enumerate(frame.columns, start=1):
                longest = frame[col].astype("string").str.len().fillna(0).max() if len(frame) \
                    else 0
                width = min(60, max(10, len(str(col)) + 2, int(longest) + 2))
                sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = width
            sheet.freeze_panes = "A2"
    return buffer.getvalue()
