"""Domain logic of the overview, priorities and quartier pages: roll-ups of the SQL statuses,
what data is missing, rows of the objective tree, gaps between a quartier and its reference
territories. Pure pandas on the results of suivi/store/queries.py (no database, no Streamlit), so
the pages only lay these frames out and the bilan can reuse them.

Everything works on whole columns: a national contract has some 270 000 series,
and the only Python loops run over groups (priorities, indicator x reference territory).
The roll-ups of the Vue d'ensemble take either the series (one row each) or their counts
made by the engine (queries.status_overview: one row per group, the number of series in
`n`), so that the page never reads the series of a national contract; tests check that
both give the same tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from suivi.core import fmt
from suivi.core import progress as pg
from suivi.core.vocab import GEOGRAPHY_TITLES, KIND_TITLES, LABELS, labelled

STATUS_ORDER = [s.code for s in pg.STATUSES]
#: Statuses shown by the « En retard seulement » filter: progress too slow, or target missed.
LATE_STATUSES = ("acceleration_needed", "limited", "deterioration", "not_achieved")
#: Group of the series whose indicator measures no node of the tree.
NO_GROUP = "—"
NO_GROUP_LABEL = "Sans objectif rattaché"
#: Group of the series whose indicator measures a node above the charted level.
ABOVE = "↑"
ABOVE_LABEL = "Rattachées au niveau supérieur"
#: Most bars a status chart shows (the data table beside it lists every group).
MAX_BARS = 30
#: Most series the Priorités page lists at once; beyond, it asks for a quartier first.
MAX_SERIES = 3000

KIND_LABELS = KIND_TITLES
GEOGRAPHY_LABELS = GEOGRAPHY_TITLES


# --- Small helpers ----------------------------------------------------------------------------

def short(text, width: int = 60) -> str:
    """A label cut at a word boundary for chart axes (the full label stays in the table)."""
    text = "" if fmt.is_missing(text) else str(text)
    if len(text) <= width:
        return text
    cut = text[:width].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–-") + "…"


def value_year(value, year, unit) -> str:
    """« 59,4 % (2019) »: a value is never shown without its year."""
    if fmt.is_missing(value):
        return "–"
    text = fmt.with_unit(value, unit)
    return text if fmt.is_missing(year) else f"{text} ({int(year)})"


def _bool(series: pd.Series) -> pd.Series:
    return series.fillna(False).astype(bool)


def restrict(statuses: pd.DataFrame, quartier: str | None) -> pd.DataFrame:
    """The series of one quartier when one is selected, else all series of the contract."""
    if not quartier or statuses.empty:
        return statuses
    return statuses[statuses["territory_code"] == quartier].reset_index(drop=True)


def _counted(statuses: pd.DataFrame) -> bool:
    """Whether `statuses` holds counts (a row per group, `n` series) rather than series."""
    return "n" in statuses.columns


def headline_counts(statuses: pd.DataFrame) -> dict[str, int]:
    """Series per status, every status present (0 when none), best to worst; `statuses`
    may be counts that cover each series once (status_overview's "territory")."""
    if not len(statuses):
        counts = pd.Series(dtype=int)
    elif _counted(statuses):
        counts = statuses.groupby("status")["n"].sum()
    else:
        counts = statuses["status"].value_counts()
    return {code: int(counts.get(code, 0)) for code in STATUS_ORDER}


def scores(statuses: pd.DataFrame) -> pd.Series:
    """Open SDG score of every series, vectorised (same mapping as progress.series_score)."""
    if statuses.empty:
        return pd.Series(dtype=float)
    xs, ys = zip(*pg.SCORE)
    pace = statuses["P"].where(statuses["status"] != "not_achieved", statuses["A"])
    mapped = np.interp(pace.astype(float).to_numpy(), xs, ys)
    out = pd.Series(mapped, index=statuses.index)
    out[statuses["status"] == "achieved"] = pg.SCORE_ACHIEVED
    out[statuses["status"] == "not_assessable"] = np.nan
    return out


def headline_score(statuses: pd.DataFrame) -> tuple[float | None, int]:
    """Mean score of the assessed series and how many there are (None when there are none);
    from counts, their sums of scores (`score_sum`, `n_scored`)."""
    if _counted(statuses):
        n = int(statuses["n_scored"].sum())
        return (float(statuses["score_sum"].sum()) / n if n else None), n
    values = scores(statuses).dropna()
    return (float(values.mean()) if len(values) else None), int(len(values))


# --- Roll-ups ---------------------------------------------------------------------------------

def tree_order(nodes: pd.DataFrame) -> pd.DataFrame:
    """Nodes sorted as the contract prints them: by the `position` of each ancestor, then code.

    The SQL orders by the path of codes, which puts « 10 » before « 2 ».
    """
    if nodes.empty:
        return nodes
    pos = dict(zip(nodes["code"], nodes["position"]))

    def key(path):
        return tuple((1e9 if fmt.is_missing(pos.get(c)) else float(pos[c]), str(c))
                     for c in path)

    order = sorted(range(len(nodes)), key=lambda i: key(list(nodes["path"].iloc[i])))
    return nodes.iloc[order].reset_index(drop=True)


def level_name(nodes: pd.DataFrame, depth: int, default: str) -> str:
    """The contract's own name of a tree level (« priorité », « axe », « orientation »)."""
    levels = nodes.loc[nodes["depth"] == depth, "level"].dropna() if len(nodes) else []
    return str(levels.mode().iloc[0]) if len(levels) else default


def roll_up(statuses: pd.DataFrame, nodes: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Attach to each series the ancestor node at `depth` (1 = pillar, 2 = priority...)."""
    if statuses.empty or nodes.empty:
        return statuses.assign(group_code=pd.NA, group_label=pd.NA)
    ancestor = {row.code: (row.path[depth - 1] if len(row.path) >= depth else None)
                for row in nodes.itertuples()}
    labels = dict(zip(nodes["code"], nodes["label"]))
    group = statuses["node_code"].map(ancestor)
    return statuses.assign(group_code=group, group_label=group.map(labels))


def status_counts(statuses: pd.DataFrame, by: str, weight: str | None = None) -> pd.DataFrame:
    """Series per status for each value of `by` (rows), statuses in their fixed order, with a
    groupby that stays fast on the 270 000 series of a national contract (pivot_table takes
    half a second there). With `weight`, each row stands for that many series (rows counted
    in SQL already: stored_status.overview)."""
    if statuses.empty:
        return pd.DataFrame(columns=STATUS_ORDER)
    grouped = statuses.groupby([by, "status"])
    counts = grouped[weight].sum() if weight else grouped.size()
    return counts.unstack(fill_value=0).reindex(columns=STATUS_ORDER, fill_value=0)


def _tally(statuses: pd.DataFrame, by: str) -> pd.DataFrame:
    """Series (`n`) and series with demonstration values (`demo`) per (`by`, status): the
    roll-ups count these few rows instead of copying a national contract's 270 000 series
    (0.12 s per chart). Counts already made are returned as they are."""
    if _counted(statuses):
        return statuses
    return statuses[[by, "status"]].assign(demo=_bool(statuses["demo"])) \
        .groupby([by, "status"], dropna=False, sort=False) \
        .agg(n=("demo", "size"), demo=("demo", "sum")).reset_index()


def group_counts(statuses: pd.DataFrame, nodes: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Series per status for every node at `depth` (1 = pillar, 2 = priority), in tree order.

    Each series counts once, under the ancestor of the first node its indicator measures
    (roll_up). Nodes without any series are kept with zeros: they show what is not
    followed yet. Columns: code, label, one per status, total, demo (series with demo values).
    """
    ordered = tree_order(nodes)
    level = ordered[ordered["depth"] == depth] if len(ordered) else ordered
    frame = pd.DataFrame({"code": level["code"].tolist() if len(level) else [],
                          "label": level["label"].tolist() if len(level) else []})
    if len(statuses):
        # Counted per node first, then rolled up (each series once, under its node's
        # ancestor).
        rolled = roll_up(_tally(statuses, "node_code"), nodes, depth)
        # No ancestor at this depth: no node at all, or a node higher up (e.g. a pillar).
        special = np.where(rolled["node_code"].notna(), ABOVE, NO_GROUP)
        rolled = rolled.assign(group_code=rolled["group_code"].astype(object)
                               .where(rolled["group_code"].notna(), special))
        counts = status_counts(rolled, "group_code", weight="n")
        demo = rolled.groupby("group_code")["demo"].sum()
        extra = [(c, label) for c, label in ((ABOVE, ABOVE_LABEL), (NO_GROUP, NO_GROUP_LABEL))
                 if c in counts.index]
        if extra:
            frame = pd.concat([frame, pd.DataFrame(extra, columns=["code", "label"])],
                              ignore_index=True)
    else:
        counts, demo = pd.DataFrame(columns=STATUS_ORDER), pd.Series(dtype=int)
    return _fill_counts(frame, counts, demo)


def territory_counts(statuses: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """Series per status for each territory of `territories` (e.g. the quartiers), in order."""
    frame = pd.DataFrame({"code": territories["code"].tolist(),
                          "label": territories["label"].tolist()})
    # Territories outside `territories` are counted too, then left out by _fill_counts.
    part = _tally(statuses, "territory_code") if len(statuses) else statuses
    if len(part):
        counts = status_counts(part, "territory_code", weight="n")
        demo = part.groupby("territory_code")["demo"].sum()
    else:
        counts, demo = pd.DataFrame(columns=STATUS_ORDER), pd.Series(dtype=int)
    return _fill_counts(frame, counts, demo)


def _fill_counts(frame: pd.DataFrame, counts: pd.DataFrame, demo: pd.Series) -> pd.DataFrame:
    """One column per status (0 where a group has none), the total and the demo series, for
    the groups of `frame` only (in its order)."""
    codes = frame["code"].astype(object)
    filled = counts.reindex(index=codes, columns=STATUS_ORDER).fillna(0).to_numpy(dtype=int)
    for i, code in enumerate(STATUS_ORDER):
        frame[code] = filled[:, i]
    frame["total"] = filled.sum(axis=1)
    frame["demo"] = demo.reindex(codes).fillna(0).to_numpy(dtype=int)
    return frame


def count_series(series: pd.DataFrame) -> pd.DataFrame:
    """The series of count indicators: never compared raw with the commune (docs/methode-suivi.md)."""
    return series[series["unit"] == "count"] if len(series) else series


def most_late(frame: pd.DataFrame, limit: int = MAX_BARS) -> pd.DataFrame:
    """At most `limit` groups for a chart: those with the most late series (then the most
    series), most late first. A national contract has some 1 400 quartiers, which no chart can
    show; the data table keeps them all. Fewer groups keep their own order."""
    if len(frame) <= limit:
        return frame
    late = frame[list(LATE_STATUSES)].sum(axis=1)
    keep = frame.assign(_late=late).sort_values(["_late", "total"], ascending=False,
                                                kind="stable").head(limit).index
    return frame.loc[keep]


def unfollowed_text(groups: pd.DataFrame, limit: int = 10) -> str:
    """The groups a status chart leaves out for want of any series, named (the first
    `limit`)."""
    names = list(group_labels(groups).values())
    more = f" … et {fmt.number(len(names) - limit)} autre(s)" if len(names) > limit else ""
    return (f"Sans série suivie ({fmt.number(len(names))}) : "
            f"{' ; '.join(names[:limit])}{more}.")


def chart_counts(frame: pd.DataFrame, width: int = 55) -> tuple[pd.DataFrame, dict]:
    """Input of charts.status_bars_svg: counts indexed by group code, and the labels."""
    return frame.set_index("code")[STATUS_ORDER], group_labels(frame, width)


def group_labels(frame: pd.DataFrame, width: int = 55) -> dict:
    """« code – label » of each group (cut at `width`), the special groups by label alone."""
    return {row.code: row.label if row.code in (NO_GROUP, ABOVE)
            else f"{row.code} – {short(row.label, width)}" for row in frame.itertuples()}


def counts_table(frame: pd.DataFrame, group_title: str) -> pd.DataFrame:
    """The data table behind a status chart: full labels, one column per status (icon +
    label, never colour alone), the total and how many series use demonstration values."""
    out = pd.DataFrame({"Code": frame["code"], group_title: frame["label"]})
    for info in pg.STATUSES:
        out[f"{info.icon} {info.label}"] = frame[info.code]
    out["Total"] = frame["total"]
    out["dont démo"] = frame["demo"]
    return out


def status_summary(counts: dict[str, int]) -> str:
    """« ✔ 3 Objectif atteint · ↗ 2 En bonne voie... » for the statuses that occur."""
    parts = [f"{pg.STATUS_BY_CODE[c].icon} {n} {pg.STATUS_BY_CODE[c].label}"
             for c, n in counts.items() if n]
    return " · ".join(parts) if parts else "aucune série"


def reasons_table(statuses: pd.DataFrame) -> pd.DataFrame:
    """Why the « Non évaluable » series have no status, most frequent reason first."""
    if not len(statuses):
        return pd.DataFrame(columns=["Raison", "Séries"])
    # The columns counted only: filtering every column of a national contract's 270 000
    # series first took 0.1-0.2 s.
    part = statuses.loc[statuses["status"] == "not_assessable",
                        ["reason_text", "n"] if _counted(statuses) else ["reason_text"]]
    if part.empty:
        return pd.DataFrame(columns=["Raison", "Séries"])
    texts = part["reason_text"].fillna("Raison inconnue")
    counts = part["n"].groupby(texts).sum() if _counted(statuses) else texts.value_counts()
    counts = counts.rename_axis("Raison").reset_index(name="Séries") \
        .sort_values(["Séries", "Raison"], ascending=[False, True], kind="stable")
    return counts.reset_index(drop=True)


# --- What has no data yet ---------------------------------------------------------------------

def data_gaps(catalogue: pd.DataFrame, statuses: pd.DataFrame, year: int,
              quartier: str | None = None) -> pd.DataFrame:
    """Per indicator of the catalogue: whether it has a baseline, a target and an actual in the
    recent years up to `year` (progress.recent_since) (for one quartier when given), and what is missing.

    Statuses come from series_status(contract, year), so actuals after `year` are already
    ignored; or they are counts per indicator of the scope already (status_overview's
    "indicator"). A neutral indicator needs no target: its missing target is not reported.
    A composite indicator without series of its own is counted but never incomplete: its
    sub-indicators carry the values, and « sans aucune valeur » was a false alarm (the bilan
    lists it with that reason).
    """
    scope = statuses if "n_series" in statuses.columns else restrict(statuses, quartier)
    cols = ["code", "label", "unit", "type", "polarity"]
    out = catalogue[cols].copy()
    if "n_series" in scope.columns:
        per = scope.set_index("indicator_code")[["has_baseline", "has_target", "last_year",
                                                 "n_series"]]
        out = out.merge(per, left_on="code", right_index=True, how="left")
    elif len(scope):
        per = scope.assign(b=scope["baseline"].notna(), c=scope["target"].notna()) \
            .groupby("indicator_code").agg(has_baseline=("b", "any"), has_target=("c", "any"),
                                           last_year=("last_actual_year", "max"),
                                           n_series=("territory_code", "size"))
        out = out.merge(per, left_on="code", right_index=True, how="left")
    else:
        out = out.assign(has_baseline=False, has_target=False, last_year=np.nan, n_series=0)
    out["has_baseline"] = _bool(out["has_baseline"])
    out["has_target"] = _bool(out["has_target"])
    out["n_series"] = out["n_series"].fillna(0).astype(int)
    # Float, NaN where none: a nullable integer's NA (no actual up to `year`) has no truth
    # value for the flags below.
    out["last_year"] = pd.to_numeric(out["last_year"], errors="coerce").astype("float64")
    out["has_recent"] = out["last_year"] >= pg.recent_since(year)
    needs_target = ~out["polarity"].isin(pg.NEUTRAL_POLARITIES)
    judged = ~((out["unit"] == "composite") & (out["n_series"] == 0))
    out["no_data"] = (out["n_series"] == 0) & judged
    out["no_baseline"] = ~out["has_baseline"] & judged
    out["no_target"] = ~out["has_target"] & needs_target & judged
    out["no_recent"] = ~out["has_recent"] & judged
    since = pg.recent_since(year)
    missing = np.where(out["no_data"], "aucune valeur", "")
    for flag, text in (("no_baseline", "situation de référence"), ("no_target", "cible"),
                       ("no_recent", f"valeur réalisée depuis {since}")):
        add = np.where(out[flag] & ~out["no_data"], text, "")
        missing = np.where((missing != "") & (add != ""),
                           np.char.add(np.char.add(missing.astype(str), ", "), add.astype(str)),
                           np.where(missing != "", missing, add))
    out["missing"] = missing
    out["incomplete"] = out["no_data"] | out["no_baseline"] | out["no_target"] | out["no_recent"]
    return out


def data_gap_counts(gaps: pd.DataFrame) -> dict[str, int]:
    return {key: int(gaps[key].sum()) for key in
            ("no_data", "no_baseline", "no_target", "no_recent", "incomplete")} | \
        {"indicators": int(len(gaps))}


def data_gaps_table(gaps: pd.DataFrame, year: int) -> pd.DataFrame:
    """The incomplete indicators as a French table."""
    part = gaps[gaps["incomplete"]]
    return pd.DataFrame({
        "Indicateur": part["code"], "Libellé": part["label"],
        "Unité": labelled("unit", part["unit"]),
        "Dernière année réalisée": [("–" if fmt.is_missing(y) else str(int(y)))
                                    for y in part["last_year"]],
        f"Manque (en {year})": part["missing"],
    })


# --- Rows of the objective tree (Priorités page) -----------------------------------------------

def placements(catalogue: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """Where each indicator appears in the tree: one row per (indicator, pillar, priority) it
    measures, with the codes of the nodes it measures there. An indicator measuring two
    priorities appears under both; one measuring no node goes to NO_GROUP."""
    paths = {row.code: list(row.path) for row in nodes.itertuples()} if len(nodes) else {}
    links = catalogue[["code", "objectifs"]].rename(columns={"code": "indicator_code"})
    links = links.assign(node=links["objectifs"].fillna("").str.split(" ; ")).explode("node")
    links["node"] = links["node"].fillna("").str.strip()
    path = links["node"].map(paths)
    known = path.notna()
    links["pillar"] = [p[0] if k else NO_GROUP for p, k in zip(path, known)]
    links["priority"] = [(p[1] if len(p) > 1 else "") if k else NO_GROUP
                         for p, k in zip(path, known)]
    links["node"] = links["node"].where(known, "")
    return links.groupby(["indicator_code", "pillar", "priority"], as_index=False)["node"] \
        .agg(lambda s: ", ".join(sorted({n for n in s if n}))) \
        .rename(columns={"node": "objectives"})


def progress_rows(statuses: pd.DataFrame, catalogue: pd.DataFrame, nodes: pd.DataFrame,
                  actuals: pd.DataFrame, territory_order: list[str], year: int,
                  late_only: bool = False) -> pd.DataFrame:
    """One row per (pillar, priority, series) with what the Priorités page shows: baseline,
    target, latest actual (French text with unit and year), achievement A clipped to [0, 1]
    (in percent, for a progress bar), the expected share E, the status as icon + text, the
    actuals for a trend line and a demo marker.

    `actuals`: queries.values_for rows (totals only), used for the trend line and for the
    latest actual when none is after the baseline.
    """
    scope = statuses
    if late_only and len(scope):
        scope = scope[scope["status"].isin(LATE_STATUSES)]
    if scope.empty:
        return pd.DataFrame()
    rows = scope.merge(placements(catalogue, nodes), on="indicator_code", how="left")
    rows["pillar"] = rows["pillar"].fillna(NO_GROUP)
    rows["priority"] = rows["priority"].fillna(NO_GROUP)
    rows["objectives"] = rows["objectives"].fillna("")

    past = actuals[(actuals["year"] <= year) & actuals["value"].notna()] \
        .sort_values(["indicator_code", "territory_code", "year"]) if len(actuals) else actuals
    key = ["indicator_code", "territory_code"]
    if len(past):
        lines = past.groupby(key)["value"].agg(list)
        latest = past.groupby(key).last()[["year", "value"]]
    else:
        lines, latest = pd.Series(dtype=object), pd.DataFrame(columns=["year", "value"])
    total = rows["breakdown"].fillna("") == ""
    index = pd.MultiIndex.from_frame(rows[key])
    line = pd.Series(lines.reindex(index).to_numpy(), index=rows.index)
    rows["trend"] = [v if t and isinstance(v, list) else [] for v, t in zip(line, total)]
    last_value = pd.Series(latest["value"].reindex(index).to_numpy(), index=rows.index) \
        if len(latest) else pd.Series(np.nan, index=rows.index)
    last_year = pd.Series(latest["year"].reindex(index).to_numpy(), index=rows.index) \
        if len(latest) else pd.Series(np.nan, index=rows.index)
    use_series = rows["value"].notna() | ~total
    rows["latest_value"] = rows["value"].where(use_series, last_value)
    rows["latest_year"] = rows["year"].where(use_series, last_year)

    rank = {code: i for i, code in enumerate(territory_order)}
    order = {code: i for i, code in enumerate(tree_order(nodes)["code"])} if len(nodes) else {}
    big = len(order) + 1
    rows["_p"] = rows["pillar"].map(order).fillna(big)
    rows["_q"] = rows["priority"].map(order).fillna(-1).where(rows["priority"] != NO_GROUP, big)
    rows["_t"] = rows["territory_code"].map(rank).fillna(len(rank))
    rows = rows.sort_values(["_p", "_q", "indicator_code", "_t", "breakdown", "modality"]) \
        .reset_index(drop=True)
    unit = rows["unit"]
    rows["baseline_text"] = [value_year(v, y, u) for v, y, u in
                             zip(rows["baseline"], rows["baseline_year"], unit)]
    rows["target_text"] = [value_year(v, y, u) for v, y, u in
                           zip(rows["target"], rows["target_year"], unit)]
    rows["latest_text"] = [value_year(v, y, u) for v, y, u in
                           zip(rows["latest_value"], rows["latest_year"], unit)]
    rows["achievement"] = (rows["A"].astype(float).clip(0, 1) * 100).round(1)
    rows["expected"] = [("–" if fmt.is_missing(e) else fmt.share(e)) for e in rows["E"]]
    rows["status_text"] = [f"{pg.STATUS_BY_CODE[s].icon} {pg.STATUS_BY_CODE[s].label}"
                           for s in rows["status"]]
    rows["demo_text"] = np.where(_bool(rows["demo"]), "démo", "")
    rows["breakdown_text"] = [f"{b} : {m}" if b else "" for b, m in
                              zip(rows["breakdown"].fillna(""), rows["modality"].fillna(""))]
    rows["reason_text"] = rows["reason_text"].fillna("")
    return rows.drop(columns=["_p", "_q", "_t"])


#: Displayed columns of the Priorités and Quartiers tables, status first after the names.
PROGRESS_COLUMNS = {
    "indicator_code": "Indicateur", "indicator_label": "Libellé",
    "territory_label": "Territoire", "breakdown_text": "Ventilation",
    "status_text": "Statut", "achievement": "Avancement", "expected": "Attendu",
    "baseline_text": "Situation de référence", "target_text": "Situation visée",
    "latest_text": "Dernier réalisé", "trend": "Évolution", "objectives": "Objectif(s)",
    "reason_text": "Remarque", "demo_text": "Démo",
}


def progress_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The displayed columns of progress_rows, with French headers. Columns that would be
    empty for every row (no breakdown, no remark, no demo value) are left out."""
    out = rows[list(PROGRESS_COLUMNS)].rename(columns=PROGRESS_COLUMNS)
    for column in ("Ventilation", "Remarque", "Démo", "Objectif(s)"):
        if not (out[column] != "").any():
            out = out.drop(columns=column)
    return out


# --- Gaps between a quartier and its reference territories ------------------------------------

def gap_trend_text(trend: pg.GapTrend) -> str:
    """progress.GapTrend's label, worded for a quartier already ahead of its reference (a
    falling signed gap then means it gets further ahead, not that the gap narrows)."""
    if trend.status == "not_assessable" or not trend.quartier_ahead:
        return trend.label
    return {"reduces": "le quartier accroît son avance",
            "widens": "l'avance du quartier se réduit",
            "stable": "l'écart est stable (quartier en avance)"}[trend.status]


def gap_unit(unit) -> str:
    return "points" if unit in pg.POINT_UNITS else "unités"


def gap_series(gaps: pd.DataFrame, year: int) -> pd.DataFrame:
    """queries.gaps up to `year`. For a neutral indicator lagging has no meaning, but the law
    still asks to reduce the gap: its gap is the absolute difference |Ref - QPV|."""
    if gaps.empty:
        return gaps.assign(neutral=pd.Series(dtype=bool))
    part = gaps[gaps["year"] <= year].copy()
    neutral = part["polarity"].isin(pg.NEUTRAL_POLARITIES) | \
        part["polarity"].map(pg.polarity_sign).isna()
    part["neutral"] = neutral
    part["gap"] = part["gap"].where(~neutral, (part["ref_value"] - part["qpv_value"]).abs())
    return part.reset_index(drop=True)


def gap_summary(gaps: pd.DataFrame) -> pd.DataFrame:
    """Latest gap per (indicator, reference territory) of gap_series rows, with its trend
    (progress.gap_trend over all years up to the selected one) and the quartier's position.
    The loop runs over indicator x reference pairs of one quartier, never over a contract."""
    columns = ["indicator_code", "indicator_label", "unit", "polarity", "reference_code",
               "reference_label", "rank", "year", "qpv_value", "ref_value", "gap", "ratio",
               "neutral", "start_year", "trend", "trend_text", "position", "demo"]
    if gaps.empty:
        return pd.DataFrame(columns=columns)
    records = []
    for _key, part in gaps.sort_values("year").groupby(["indicator_code", "reference_code"],
                                                       sort=False):
        last = part.iloc[-1]
        trend = pg.gap_trend(zip(part["year"], part["gap"]))
        neutral = bool(last["neutral"])
        if neutral:
            position = "écart absolu (polarité neutre)"
        elif last["gap"] > pg.TOLERANCE:
            position = "en retard"
        elif last["gap"] < -pg.TOLERANCE:
            position = "en avance"
        else:
            position = "à égalité"
        records.append({
            **{c: last[c] for c in columns[:12]},
            "neutral": neutral, "start_year": int(part["year"].iloc[0]),
            "trend": trend.status,
            "trend_text": trend.label if neutral else gap_trend_text(trend),
            "position": position, "demo": False,
        })
    out = pd.DataFrame.from_records(records, columns=columns)
    return out.sort_values(["indicator_code", "rank"]).reset_index(drop=True)


def mark_demo(summary: pd.DataFrame, statuses: pd.DataFrame, quartier: str) -> pd.DataFrame:
    """Flag the gaps computed from a demo value of the quartier or of the reference."""
    if summary.empty or statuses.empty:
        return summary
    totals = statuses[statuses["breakdown"].fillna("") == ""]
    demo = pd.Series(_bool(totals["demo"]).to_numpy(),
                     index=pd.MultiIndex.from_frame(totals[["indicator_code", "territory_code"]]))
    demo = demo.groupby(level=[0, 1]).any()
    q_idx = pd.MultiIndex.from_arrays([summary["indicator_code"], [quartier] * len(summary)])
    r_idx = pd.MultiIndex.from_arrays([summary["indicator_code"], summary["reference_code"]])
    q_demo = demo.reindex(q_idx).fillna(False).to_numpy(dtype=bool)
    r_demo = demo.reindex(r_idx).fillna(False).to_numpy(dtype=bool)
    return summary.assign(demo=q_demo | r_demo)


def gap_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The latest gaps as a French table; numbers stay numbers (localized in the browser)."""
    period = [f"{s}–{y}" if s != y else str(y) for s, y in
              zip(summary["start_year"], summary["year"])]
    return pd.DataFrame({
        "Indicateur": summary["indicator_code"], "Libellé": summary["indicator_label"],
        "Territoire de référence": summary["reference_label"],
        "Année": summary["year"].astype(int).astype(str),
        "Quartier": [fmt.with_unit(v, u) for v, u in zip(summary["qpv_value"], summary["unit"])],
        "Référence": [fmt.with_unit(v, u) for v, u in zip(summary["ref_value"], summary["unit"])],
        "Écart": summary["gap"].astype(float),
        "Unité de l'écart": summary["unit"].map(gap_unit),
        "Situation du quartier": summary["position"],
        "Rapport quartier / référence": summary["ratio"].astype(float),
        "Évolution de l'écart": summary["trend_text"],
        "Période": period,
        "Démo": np.where(summary["demo"].astype(bool), "démo", ""),
    })


def gap_chart_table(series: pd.DataFrame) -> pd.DataFrame:
    """Data behind one indicator's gap chart: one row per reference territory and year."""
    part = series.sort_values(["rank", "year"])
    return pd.DataFrame({
        "Territoire de référence": part["reference_label"],
        "Année": part["year"].astype(int).astype(str),
        "Quartier": [fmt.with_unit(v, u) for v, u in zip(part["qpv_value"], part["unit"])],
        "Référence": [fmt.with_unit(v, u) for v, u in zip(part["ref_value"], part["unit"])],
        "Écart": part["gap"].astype(float),
        "Rapport quartier / référence": part["ratio"].astype(float),
    })


def count_comparison(values: pd.DataFrame, quartier: dict, references: pd.DataFrame,
                     territories: pd.DataFrame) -> pd.DataFrame:
    """Counts are never compared raw (docs/methode-suivi.md, « Écart au territoire de référence »): for
    each count indicator, in the latest year where both are known, the quartier's share of the
    commune's total, and the rates per 1 000 inhabitants where both populations are known.

    `values`: queries.values_for rows for the quartier and its reference territories.
    Returns one row per indicator where at least one of these can be computed.
    """
    columns = ["indicator_code", "indicator_label", "reference_label", "year", "qpv_value",
               "ref_value", "share", "qpv_rate", "ref_rate", "qpv_demo", "ref_demo"]
    communes = references[references["kind"] == "commune"]
    if values.empty or communes.empty:
        return pd.DataFrame(columns=columns)
    commune = communes.sort_values("rank").iloc[0]
    pop = dict(zip(territories["code"], territories["population"]))
    q_pop, r_pop = pop.get(quartier["code"]), pop.get(commune["code"])
    real = values[values["value"].notna()].assign(demo=lambda v: v["status"] == "demo")
    q = real[real["territory_code"] == quartier["code"]][["indicator_code", "indicator_label",
                                                          "year", "value", "demo"]]
    r = real[real["territory_code"] == commune["code"]][["indicator_code", "year", "value",
                                                         "demo"]]
    both = q.merge(r, on=["indicator_code", "year"], suffixes=("_q", "_r"))
    if both.empty:
        return pd.DataFrame(columns=columns)
    both = both.sort_values("year").groupby("indicator_code").last().reset_index()
    # A quartier is part of its commune: a count above the commune's is not additive (e.g. a
    # number of partner structures), so no share is computed for it.
    share = (both["value_q"] / both["value_r"].where(both["value_r"] > 0)) \
        .where(both["value_q"] <= both["value_r"])
    rates_known = not fmt.is_missing(q_pop) and not fmt.is_missing(r_pop) and q_pop and r_pop
    out = pd.DataFrame({
        "indicator_code": both["indicator_code"], "indicator_label": both["indicator_label"],
        "reference_label": commune["label"], "year": both["year"],
        "qpv_value": both["value_q"], "ref_value": both["value_r"], "share": share,
        "qpv_rate": both["value_q"] / q_pop * 1000 if rates_known else np.nan,
        "ref_rate": both["value_r"] / r_pop * 1000 if rates_known else np.nan,
        "qpv_demo": both["demo_q"], "ref_demo": both["demo_r"],
    })
    return out[out["share"].notna() | out["qpv_rate"].notna()].reset_index(drop=True)


def _marked(value, demo: bool) -> str:
    """A value as shown in a table, « (démo) » after a generated one."""
    return fmt.number(value) + (" (démo)" if demo else "")


def count_table(rows: pd.DataFrame) -> pd.DataFrame:
    """A generated value is marked where it is shown, beside the real one it is set against."""
    return pd.DataFrame({
        "Indicateur": rows["indicator_code"], "Libellé": rows["indicator_label"],
        "Année": rows["year"].astype(int).astype(str),
        "Quartier": [_marked(v, d) for v, d in zip(rows["qpv_value"], rows["qpv_demo"])],
        "Commune": [_marked(v, d) for v, d in zip(rows["ref_value"], rows["ref_demo"])],
        "Part du quartier dans la commune": [fmt.share(v, 1) for v in rows["share"]],
        "Quartier pour 1 000 hab.": [fmt.number(v, 1) if not fmt.is_missing(v) else "–"
                                     for v in rows["qpv_rate"]],
        "Commune pour 1 000 hab.": [fmt.number(v, 1) if not fmt.is_missing(v) else "–"
                                    for v in rows["ref_rate"]],
    })


# --- Quartier identity ------------------------------------------------------------------------

def quartier_facts(territories: pd.DataFrame, references: pd.DataFrame,
                   code: str) -> dict | None:
    """Population, geography and reference territories of one quartier, as French text."""
    row = territories[territories["code"] == code]
    if row.empty:
        return None
    row = row.iloc[0]
    pop = row["population"]
    population = "non renseignée" if fmt.is_missing(pop) else f"{fmt.number(pop)} habitants"
    if not fmt.is_missing(pop) and not fmt.is_missing(row["population_year"]):
        population += f" ({int(row['population_year'])})"
    geography = row["geography"]
    return {
        "code": code, "label": row["label"],
        "kind": KIND_LABELS.get(row["kind"], row["kind"]),
        "population": population,
        "geography": "non renseignée" if fmt.is_missing(geography)
        else GEOGRAPHY_LABELS.get(geography, geography),
        "references": [_with_kind(r.label, r.kind)
                       for r in references.sort_values("rank").itertuples()],
    }


def _with_kind(label: str, kind: str) -> str:
    """« CC du Val d'Amboise (EPCI) »; no kind after a name that already says it (« Bassin
    d'emploi d'Amboise »)."""
    short = LABELS["kind"].get(kind, kind)
    return label if str(label).lower().startswith(short.lower()) else f"{label} ({short})"


def predecessor_table(values: pd.DataFrame, quartier: str, predecessors: pd.DataFrame,
                      year: int) -> pd.DataFrame:
    """Per indicator, the quartier's latest actual next to each 2015 QPV it succeeds: two
    series of two geographies side by side, never one merged series."""
    v = values[(values["year"] <= year) & values["value"].notna()]
    latest = v.sort_values("year").drop_duplicates(["indicator_code", "territory_code"],
                                                    keep="last")
    codes = [quartier, *predecessors["code"].tolist()]
    latest = latest[latest["territory_code"].isin(codes)]
    if latest.empty or not latest["territory_code"].isin(predecessors["code"]).any():
        return pd.DataFrame(columns=["Indicateur", "Libellé", "Quartier"])
    text = [value_year(val, yr, unit) for val, yr, unit in
            zip(latest["value"], latest["year"], latest["unit"])]
    wide = latest.assign(text=text).pivot_table(index=["indicator_code", "indicator_label"],
                                                columns="territory_code", values="text",
                                                aggfunc="first")
    names = {quartier: "Quartier (dernier réalisé)"}
    names |= {r.code: f"QPV 2015 correspondant : {r.label} ({r.code})"
              for r in predecessors.itertuples()}
    wide = wide.reindex(columns=[c for c in codes if c in wide.columns]).rename(columns=names)
    return wide.reset_index().rename(columns={"indicator_code": "Indicateur",
                                              "indicator_label": "Libellé"}).fillna("–")
