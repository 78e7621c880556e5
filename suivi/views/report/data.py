"""What the « rapport annuel politique de la ville » says, gathered from the database as plain
tables; suivi/views/report/docx.py lays them out as a Word document.

The law (CGCT art. L1111-2, décret n° 2015-1118) asks each commune with a contrat de ville
for a yearly report on its quartiers: the contract's orientations, how the quartiers changed
against the objectives, the actions taken, the outlook, how the pillars fit together, the
actions funded by the DSU, data by sex, and the opinions of the conseils citoyens and
councils. Everything here comes from the same sources as the pages, so the report never says
something the dashboard does not: statuses from the SQL method (queries.series_status, or
series_status_for on one quartier, which is what keeps a national quartier report fast),
projections from suivi/store/projection_sql.py, gaps to the commune from suivi.views.bilan.gap_table.

Sizes are bounded like the bilan's: past QUARTIER_LIMIT quartiers, the per-quartier tables are
replaced by counts (the CLI and the page then suggest choosing a quartier).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from suivi.core import progress as pg
from suivi.core.projection import Projection, project
from suivi.core.vocab import MEASURABLE_UNITS, QUARTIER_KINDS, fold
from suivi.store import queries, reports
from suivi.store.status_sql import pick_series_inputs
from suivi.views import bilan as tb
from suivi.views import overview

#: Beyond this many quartiers in scope, part 2 gives counts instead of one table per quartier.
QUARTIER_LIMIT = 12
#: Words that tag an action (label or source, accents and case ignored) or a funder modality
#: as the dotation de solidarité urbaine.
DSU_PATTERN = re.compile(r"\bdsu\b|dotation de solidarite urbaine")
#: Breakdown names whose modalities are funders (« financeur : DSU »).
FUNDER_BREAKDOWNS = {"financeur", "financeurs", "financement", "financements"}
#: Modalities of the `sexe` breakdown, folded, mapped to F or H.
SEX_CODES = {"f": "F", "femme": "F", "femmes": "F", "feminin": "F",
             "h": "H", "m": "H", "homme": "H", "hommes": "H", "masculin": "H"}
#: Series drawn in the perspectives' projection chart.
MAX_PANELS = 4
#: Units that carry a number worth reporting (composite indicators hold their parts'): the
#: template's measurable units.
MEASURED_UNITS = MEASURABLE_UNITS


@dataclass
class ReportData:
    """Everything the report shows, as DataFrames with raw values (formatting is the writer's).

    `series`: one row per series in scope (queries.series_status columns, projection columns
    of tb.PROJECTION_COLUMNS, priority and pillar codes, unit, type). `latest`: the latest
    actual up to the year of every (indicator, territory) total. Part-specific tables are named
    after their part.
    """

    info: dict
    year: int
    quartier: str | None
    quartier_label: str | None
    thresholds: pg.Thresholds
    nodes: pd.DataFrame
    territories: pd.DataFrame
    quartiers: pd.DataFrame
    references: dict[str, list[str]]
    catalogue: pd.DataFrame
    series: pd.DataFrame
    latest: pd.DataFrame
    gaps: pd.DataFrame
    orientations: pd.DataFrame
    actions: pd.DataFrame
    action_indicators: pd.DataFrame
    dsu_actions: pd.DataFrame
    dsu_values: pd.DataFrame
    sex: pd.DataFrame
    sex_missing: pd.DataFrame
    sources: pd.DataFrame
    panels: list[dict]
    has_demo: bool
    last_load: object = None
    now: datetime = field(default_factory=datetime.now)

    @property
    def units(self) -> dict:
        return dict(zip(self.catalogue["code"], self.catalogue["unit"]))

    @property
    def polarities(self) -> dict:
        return dict(zip(self.catalogue["code"], self.catalogue["polarity"]))

    @property
    def detailed(self) -> bool:
        return len(self.quartiers) <= QUARTIER_LIMIT

    @property
    def levels(self) -> list[str]:
        text = self.info.get("levels")
        return [p.strip() for p in str(text).split(">")] if isinstance(text, str) else []

    def level_name(self, depth: int, default: str) -> str:
        names = self.levels
        return names[depth - 1] if 0 < depth <= len(names) and names[depth - 1] else default

    @property
    def file_stem(self) -> str:
        return file_stem(self.info["code"], self.year, self.quartier)


def file_stem(contract: str, year: int, quartier: str | None = None) -> str:
    """rapport-AMBOISE-2015-2023[-AMB-QPV-VE]: the report's file name without .docx."""
    return f"rapport-{contract}-{year}" + (f"-{quartier}" if quartier else "")


# --- Queries ----------------------------------------------------------------------------------

def _nodes(s, contract: str) -> pd.DataFrame:
    """The tree (queries.tree) with each node's source, which may carry the DSU mention."""
    return queries.tree(s, contract).merge(reports.node_sources(s, contract), on="code",
                                           how="left")


def _sex_values(s, contract: str, year: int, territories: list[str] | None) -> pd.DataFrame:
    return reports.breakdown_values(s, contract, year, territories, ["sexe"])


def _funder_values(s, contract: str, year: int,
                   territories: list[str] | None) -> pd.DataFrame:
    found = reports.breakdown_values(s, contract, year, territories, sorted(FUNDER_BREAKDOWNS))
    return found[_is_dsu(found["modality"])].reset_index(drop=True)


# --- Pieces -----------------------------------------------------------------------------------

def _is_dsu(text: pd.Series) -> pd.Series:
    return text.fillna("").map(fold).str.contains(DSU_PATTERN)


def _ancestors(nodes: pd.DataFrame) -> pd.DataFrame:
    """(node_code, ancestor_code) for every node and each node above it, itself included."""
    pairs = nodes[["code", "path"]].explode("path")
    return pd.DataFrame({"node_code": pairs["code"].to_numpy(),
                         "ancestor_code": pairs["path"].to_numpy()})


def _orientations(nodes: pd.DataFrame, links: pd.DataFrame,
                  series: pd.DataFrame) -> pd.DataFrame:
    """Objective nodes in tree order with the indicators measuring them or their sub-objectives
    and the series of those indicators in scope."""
    objectives = nodes[nodes["category"] == "objectif"]
    if objectives.empty:
        return objectives.assign(n_indicators=pd.Series(dtype="int64"),
                                 n_series=pd.Series(dtype="int64"))
    pairs = links.merge(_ancestors(nodes), on="node_code")[["ancestor_code", "indicator_code"]] \
        .drop_duplicates()
    per_indicator = series.groupby("indicator_code").size().rename("n")
    pairs = pairs.join(per_indicator, on="indicator_code").fillna({"n": 0})
    counts = pairs.groupby("ancestor_code").agg(n_indicators=("indicator_code", "nunique"),
                                                n_series=("n", "sum"))
    out = objectives.join(counts, on="code")
    return out.fillna({"n_indicators": 0, "n_series": 0}).astype(
        {"n_indicators": "int64", "n_series": "int64"}).reset_index(drop=True)


def _deepest_objective(nodes: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """(indicator_code, objective_code): each indicator under the deepest objective it
    measures; an indicator linked to an action goes under the action's objective."""
    info = nodes.set_index("code")
    parent = info["parent_code"]
    link = links[links["node_code"].isin(info.index)].copy()
    is_action = link["node_code"].map(info["category"]).eq("action")
    link["objective_code"] = link["node_code"].where(~is_action,
                                                     link["node_code"].map(parent))
    link = link.dropna(subset=["objective_code"])
    link["depth"] = link["objective_code"].map(info["depth"])
    return link.sort_values(["indicator_code", "depth"], ascending=[True, False]) \
        .drop_duplicates("indicator_code")[["indicator_code", "objective_code"]]


def _actions(nodes: pd.DataFrame, links: pd.DataFrame, catalogue: pd.DataFrame,
             series: pd.DataFrame, quartier_codes: list[str]) -> tuple[pd.DataFrame,
                                                                       pd.DataFrame]:
    """Part 3: objectives with their actions (tree order) and, per objective, its réalisation
    indicators with each quartier's latest actual, target and status."""
    actions = nodes[nodes["category"] == "action"][["code", "parent_code", "label", "path"]]
    realisation = catalogue.loc[catalogue["type"] == "realisation", "code"]
    owners = _deepest_objective(nodes, links)
    owners = owners[owners["indicator_code"].isin(realisation)]
    mine = series[series["territory_code"].isin(quartier_codes) & series["breakdown"].eq("")]
    rows = owners.merge(mine, on="indicator_code", how="left")
    rows = rows.merge(catalogue[["code", "label", "unit"]].rename(
        columns={"code": "indicator_code", "label": "ind_label", "unit": "ind_unit"}),
        on="indicator_code", how="left")
    return actions.reset_index(drop=True), rows.reset_index(drop=True)


def _sex_table(values: pd.DataFrame) -> pd.DataFrame:
    """Per (indicator, territory): the latest year with both F and H values (else the latest
    year with either), F, H and F - H."""
    cols = ["indicator_code", "territory_code", "year", "F", "H", "gap", "demo"]
    if values.empty:
        return pd.DataFrame(columns=cols)
    v = values.assign(sex=values["modality"].map(lambda m: SEX_CODES.get(fold(m or ""))))
    v = v.dropna(subset=["sex"])
    wide = v.pivot_table(index=["indicator_code", "territory_code", "year"], columns="sex",
                         values="value", aggfunc="first").reindex(columns=["F", "H"])
    demo = v.groupby(["indicator_code", "territory_code", "year"])["demo"].any()
    wide = wide.assign(demo=demo, both=wide["F"].notna() & wide["H"].notna()).reset_index()
    best = wide.sort_values(["indicator_code", "territory_code", "both", "year"]) \
        .drop_duplicates(["indicator_code", "territory_code"], keep="last")
    return best.assign(gap=best["F"] - best["H"])[cols].reset_index(drop=True)


def _sex_missing(catalogue: pd.DataFrame, with_sex: set[str]) -> pd.DataFrame:
    measured = catalogue[catalogue["unit"].isin(MEASURED_UNITS)
                         & ~catalogue["code"].isin(with_sex)]
    planned = measured["breakdowns"].fillna("").map(fold).str.contains(r"\bsexe\b")
    return pd.DataFrame({"code": measured["code"], "label": measured["label"],
                         "planned": planned}).reset_index(drop=True)


def _panels(s, series: pd.DataFrame, quartier_codes: list[str], year: int) -> list[dict]:
    """Up to MAX_PANELS quartier series that need acceleration and have a projection (those
    with the most points first), each with its Projection computed by suivi/core/projection.py
    from its observations, for the perspectives' chart."""
    late = series[series["territory_code"].isin(quartier_codes) & series["breakdown"].eq("")
                  & ~series["status"].isin(["achieved", "on_track", "not_assessable"])
                  & series["projection"].isin(["on_time", "late", "never"])]
    picked = late.sort_values(["n_points", "indicator_code", "territory_code"],
                           ascending=[False, True, True]).head(MAX_PANELS)
    out = []
    for r in picked.to_dict("records"):
        obs = reports.series_rows(s, r["indicator_code"], r["territory_code"], year)
        inputs = pick_series_inputs(obs)
        projection: Projection = project([(y, v) for y, n, v in obs if n == "realise"],
                                         r["polarity"], inputs.target_year, inputs.target,
                                         inputs.baseline_year)
        out.append({"indicator_code": r["indicator_code"],
                    "territory_label": r["territory_label"], "unit": r["unit"],
                    "projection": projection})
    return out


# --- Entry point ------------------------------------------------------------------------------

def collect(s, contract: str, year: int, quartier: str | None = None) -> ReportData:
    """The report's data for a contract (or one quartier and its reference territories) as it
    stood in `year`: later actuals are ignored, as everywhere in the dashboard."""
    info = queries.contract(s, contract)
    if info is None:
        raise ValueError(f"Contrat « {contract} » inconnu.")
    year = int(year)
    th = pg.Thresholds.from_contract(info.get("threshold_on_track"),
                                     info.get("threshold_acceleration"))
    terr = queries.territories(s, contract)
    quartier_label, scope = None, None
    if quartier:
        if quartier not in set(terr["code"]):
            raise ValueError(f"Quartier « {quartier} » absent du contrat « {contract} ».")
        quartier_label = terr.set_index("code").loc[quartier, "label"]
        wanted = [quartier, *queries.references_of(s, quartier)["code"]]
        scope = [c for c in wanted if c in set(terr["code"])]
        terr = terr.set_index("code").loc[scope].reset_index()
    quarts = terr[terr["kind"].isin(QUARTIER_KINDS)].reset_index(drop=True)
    references = {q: [c for c in queries.references_of(s, q)["code"] if c != q]
                  for q in quarts["code"]} if len(quarts) <= QUARTIER_LIMIT else {}

    nodes = _nodes(s, contract)
    links = reports.indicator_links(s, contract)
    catalogue = queries.indicators(s, contract)
    series = queries.series_status_for(s, contract, year, scope) if scope else \
        queries.series_status(s, contract, year)
    if series.empty:
        series = pd.DataFrame(columns=[*tb.SERIES_COLUMNS, "contract_code", "polarity", "unit"])
    series = tb.with_projections(s, series, contract, year, scope)
    prio_depth = 2 if (nodes["depth"] >= 2).any() else 1
    series = overview.roll_up(series, nodes, prio_depth).rename(
        columns={"group_code": "priority_code", "group_label": "priority_label"})
    series = overview.roll_up(series, nodes, 1).rename(
        columns={"group_code": "pillar_code", "group_label": "pillar_label"})
    kinds = dict(zip(catalogue["code"], catalogue["type"]))
    series = series.assign(type=series["indicator_code"].map(kinds),
                           demo=series["demo"].fillna(False).astype(bool))

    order = {c: i for i, c in enumerate(terr["code"])}
    gaps = tb.gap_table(s, contract, year, quartier, order)
    actions, action_indicators = _actions(nodes, links, catalogue, series,
                                          quarts["code"].tolist())
    dsu_actions = nodes[(nodes["category"] == "action")
                        & (_is_dsu(nodes["label"]) | _is_dsu(nodes["source"]))]
    sex = _sex_table(_sex_values(s, contract, year, scope))
    return ReportData(
        info=info, year=year, quartier=quartier, quartier_label=quartier_label,
        thresholds=th, nodes=nodes, territories=terr, quartiers=quarts, references=references,
        catalogue=catalogue, series=series.reset_index(drop=True),
        latest=reports.latest_values(s, contract, year, scope), gaps=gaps,
        orientations=_orientations(nodes, links, series),
        actions=actions, action_indicators=action_indicators,
        dsu_actions=dsu_actions.reset_index(drop=True),
        dsu_values=_funder_values(s, contract, year, scope),
        sex=sex, sex_missing=_sex_missing(catalogue, set(sex["indicator_code"])),
        sources=reports.value_sources(s, contract, year, scope),
        panels=_panels(s, series, quarts["code"].tolist(), year),
        has_demo=bool(series["demo"].any()) if quartier else queries.has_demo(s, contract),
        last_load=queries.last_upload(s),
    )

