"""Streamlit glue shared by every page: cached queries, the sidebar selection kept in the URL,
the demonstration notice and status badges. Pages call these and only lay out results.

Queries are cached per (store, data version): any load, rollback or demo removal changes the
version, so every cached result is invalidated at once, in every replica.
"""

from __future__ import annotations

import atexit
import gc
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from suivi.core import progress as pg
from suivi.core import steps
from suivi.core.config import db_url
from suivi.store import open_store, queries
from suivi.store.schema import upgrade
from suivi.web import auth

DEMO_NOTICE = ("**Valeurs de démonstration** : ce contrat contient des valeurs générées pour "
               "montrer le fonctionnement du tableau de bord (statut « démo »). Elles ne sont pas "
               "réelles.")
# Only administrators can remove them: the command is for them, not for every reader.
DEMO_REMOVAL = " Commande pour les supprimer : `python -m etl demo remove`."
DEMO_WHO_REMOVES = " Un administrateur de l'observatoire peut les supprimer."
# A label repeated on every row of a table (an indicator's, a quartier's) at a fixed width,
# cut, whole on hover: sized to its text, it pushed the values out of sight at 1 400 px.
LONG_TEXT = st.column_config.TextColumn(width="medium")


def db_file() -> str:
    """The store the app reads ($SUIVI_DB: a DuckDB file or a PostgreSQL URL)."""
    return db_url()


_settled = threading.Event()


def settle_memory() -> None:
    """Once per process: import what the pages use, then take every object alive at that
    point (modules, plotly's validators, Streamlit's own) out of the cyclic garbage
    collector's scans (gc.freeze). They live as long as the process, yet each full
    collection walked them all again, in the middle of a page run: 0.08-0.1 s of the first
    Vue d'ensemble after a national upload (bench.pages --after-upload: 0.55 -> 0.45 s).
    Objects made later are collected as before; at exit they are handed back to the
    collector, so that extension types do not report them as leaked."""
    if _settled.is_set():
        return
    _settled.set()
    import plotly.graph_objects  # noqa: F401

    from suivi.views import bilan, charts, maps, overview  # noqa: F401

    gc.collect()
    gc.freeze()
    atexit.register(gc.unfreeze)


_run = threading.local()  # the data version a page run keys its caches on (kept_open)


@contextmanager
def kept_open():
    """One opening of the store (Store.kept_open) and one data version for a whole page run:
    app.py wraps the run in it.

    The version is read once, at the run's first cache lookup, and every query and memo of
    the run is filed under it. Read again at each lookup, it could move in the middle of a
    run when another process or replica commits: a memo computed from values fetched before
    that commit was then filed under the new version, and every later run showed the values
    from before the load (two replicas, seen in tests/test_replicas.py). Filed under the
    version read first, anything a run computes holds data at least that recent."""
    if getattr(_run, "active", False):  # nested: the outer block pins the version
        yield
        return
    _run.active, _run.version = True, None
    try:
        with open_store(db_file()).kept_open():
            yield
    finally:
        _run.active, _run.version = False, None


def ensure_database() -> None:
    """Build the database from the embedded default when it is absent, instead of failing;
    bring one built by an earlier version to the current schema (once per process)."""
    store = open_store(db_file())
    if store.exists():
        upgraded()
        return
    from etl.pipeline import init

    with st.spinner("Première ouverture : construction de la base à partir des contrats "
                    "embarqués…"):
        init(store, demo=True)


def upgraded() -> None:
    """The store brought to the current schema, once per process (suivi/web/serve.py does it
    before the server listens)."""
    _upgraded(db_file())


@st.cache_resource(show_spinner="Mise à jour de la base…")
def _upgraded(url: str) -> None:
    upgrade(open_store(url))


def data_version() -> tuple:
    """Changes whenever anything is committed to the store, by any process or replica (file
    stats for DuckDB, the batch log for PostgreSQL: suivi/store); within a page run, the
    version the run started with (kept_open)."""
    if not getattr(_run, "active", False):
        return open_store(db_file()).version()
    if _run.version is None:
        _run.version = open_store(db_file()).version()
    return _run.version


@st.cache_resource(show_spinner=False, max_entries=256)
def _cached(name: str, url: str, version: tuple, args: tuple):
    with open_store(url).session() as s:
        return getattr(queries, name)(s, *args)


def query(name: str, *args):
    """Call suivi.store.queries.<name>(session, *args) through the cache.

    Results are kept as objects (st.cache_resource) and each caller gets its own copy
    (`_own`), where st.cache_data's unpickling cost half a second on every page run.
    """
    args = tuple(tuple(a) if isinstance(a, list) else a for a in args)
    return _own(_cached(name, db_file(), data_version(), args))


def _own(result):
    """A caller's copy of a cached result. Frames are copied lazily: pandas 3 always copies
    on write, so a change made through the copy copies the changed data then and never
    reaches the cache. A deep copy of a national contract's 270 000 statuses took 0.08 s on
    a page's first visit."""
    if isinstance(result, (pd.DataFrame, pd.Series)):
        return result.copy(deep=False)
    if isinstance(result, dict):
        return {key: _own(value) for key, value in result.items()}
    return result.copy() if hasattr(result, "copy") else result


MEMO_ENTRIES = 128  # a national map figure weighs tens of MB: the oldest entries go first
_MEMO_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False)
def _memo_store() -> OrderedDict:
    return OrderedDict()


def memo(key: tuple, compute):
    """Cache a derived result (a roll-up computed from query results, a finished figure)
    under `key` and the data version: national roll-ups and figures take a few hundred
    milliseconds, so a page only pays them once per data version and selection, like its
    queries. Figures are kept frozen (charts.freeze): they must not be changed."""
    store = _memo_store()
    full = (db_file(), data_version(), *key)
    with _MEMO_LOCK:  # sessions run in threads of one process
        result = store.get(full)
        if result is not None:
            store.move_to_end(full)
    if result is None:
        result = compute()
        with _MEMO_LOCK:
            store[full] = result
            while len(store) > MEMO_ENTRIES:
                store.popitem(last=False)
    return _own(result)


def clear_cache() -> None:
    """Forget every cached result, and the run's version: called after the run's own write."""
    _cached.clear()
    _memo_store().clear()
    _run.version = None


@dataclass(frozen=True)
class Selection:
    contract: str | None
    quartier: str | None
    year: int | None


# --- State kept in the URL (every view is a link an official can share) ----------------------

def from_url(key: str, options: list, default, param: str | None = None,
             multi: bool = False) -> None:
    """Initialise a widget's state (`key`) from the shared link's `param` the first time, or
    when its value is no longer an option; a multiselect keeps its valid values."""
    param = param or key
    state = st.session_state.get(key)
    if multi:
        if state is None:
            raw = st.query_params.get(param, "")
            st.session_state[key] = [v for v in raw.split(",") if v in options] or default
        elif [v for v in state if v in options] != state:
            st.session_state[key] = [v for v in state if v in options] or default
        return
    if key in st.session_state and state in options:
        return
    wanted = st.query_params.get(param)
    if wanted is not None and options and isinstance(options[0], int):
        wanted = int(wanted) if str(wanted).isdigit() else None
    if isinstance(default, bool):
        st.session_state[key] = wanted == "1" if wanted is not None else default
        return
    st.session_state[key] = wanted if wanted in options else default


def to_url(param: str, value) -> None:
    """Mirror a choice in the URL: lists comma-separated, True as 1; empty removes it."""
    if value in (None, "", [], False):
        st.query_params.pop(param, None)
    elif value is True:
        st.query_params[param] = "1"
    elif isinstance(value, (list, tuple)):
        st.query_params[param] = ",".join(map(str, value))
    else:
        st.query_params[param] = str(value)


def default_year(last_years: pd.Series, start: int, end: int, today: int | None = None) -> int:
    """The year a contract opens on: its latest actual value's; without any value yet, this
    year within its period (a contract of 2024-2030 loaded in 2026 opened on 2030, a bilan
    « 2030 » produced in 2026)."""
    if len(last_years):
        return int(last_years.max())
    today = date.today().year if today is None else today
    return min(max(today, start), end)


def default_contract(codes: list[str]) -> str:
    """The contract a visitor without a link sees first: the embedded demonstration's, else
    the most recent (`codes` in the order of queries.contracts)."""
    return "AMBOISE-2015" if "AMBOISE-2015" in codes else codes[0]


def sidebar() -> Selection:
    """Contract, quartier and year pickers, mirrored in the URL so every view is a link."""
    contracts = query("contracts")
    if contracts.empty:
        st.sidebar.info("Aucun contrat dans la base.")
        return Selection(None, None, None)
    codes = contracts["code"].tolist()
    names = dict(zip(contracts["code"], contracts["name"]))
    from_url("contrat", codes, default_contract(codes))
    # The box shows the code (a full contract name never fits the sidebar and a text box
    # cannot wrap); the full name is written right under it.
    contract = st.sidebar.selectbox("Contrat", codes, key="contrat",
                                    help="Code du contrat ; son intitulé complet est "
                                         "affiché dessous.")
    st.sidebar.caption(names[contract])

    quarts = query("quartiers", contract)
    q_codes = [""] + quarts["code"].tolist()
    q_labels = {"": "Tous les quartiers", **dict(zip(quarts["code"], quarts["label"]))}
    from_url("quartier", q_codes, "")
    quartier = st.sidebar.selectbox("Quartier", q_codes, key="quartier",
                                    format_func=lambda c: q_labels.get(c, c))

    info = contracts.set_index("code").loc[contract]
    catalogue = query("indicators", contract)
    last = catalogue["last_year"].dropna()
    # A contract measured from a situation de référence before its period (2024-2030 from
    # 2021) offers that year too.
    start = int(min(info["period_start"], info["baseline_year"])
                if pd.notna(info["baseline_year"]) else info["period_start"])
    end = int(max([info["period_end"], *(last.tolist() or [info["period_end"]])]))
    years = list(range(end, start - 1, -1))
    from_url("annee", years, default_year(last, start, end))
    year = st.sidebar.selectbox("Année", years, key="annee",
                                help="Année d'évaluation : les valeurs postérieures sont ignorées.")

    for param, value in (("contrat", contract), ("quartier", quartier), ("annee", year)):
        to_url(param, value)
    selection = Selection(contract, quartier or None, int(year))
    st.session_state["selection"] = selection
    return selection


def selection() -> Selection:
    return st.session_state.get("selection", Selection(None, None, None))


def statuses(sel: Selection):
    """The series a page shows for the selection: the chosen quartier's (queried alone, fast
    on a national contract) or the whole contract's. The one scope rule of the pages."""
    if sel.quartier:
        return query("series_status_for", sel.contract, sel.year, [sel.quartier])
    return query("series_status", sel.contract, sel.year)


def require_contract(sel: Selection) -> None:
    """Stop the page with one explanation when the database holds no contract yet."""
    if not sel.contract:
        st.info("Aucun contrat à afficher : chargez un classeur depuis la page Import.")
        st.stop()


def demo_notice(contract: str | None) -> None:
    """The banner of a contract holding demonstration values, told by the catalogue the
    sidebar has already read (one query fewer on every first run after a change)."""
    if contract and bool(query("indicators", contract)["has_demo"].any()):
        removal = DEMO_REMOVAL if auth.can("administrateur") else DEMO_WHO_REMOVES
        st.warning(DEMO_NOTICE + removal, icon="⚠️")


def status_text(code: str) -> str:
    """Icon + French label: a status is never shown by colour alone."""
    info = pg.STATUS_BY_CODE[code]
    return f"{info.icon} {info.label}"


def number_column(label: str, unit: str | None = None, help: str | None = None):
    """column_config for a number shown the French way ('1 234,5', '12,5 %')."""
    suffix = {"percent": " %", "rate": " %", "eur": " €"}.get(unit or "", "")
    return st.column_config.NumberColumn(label, format="localized", help=help) if not suffix \
        else st.column_config.NumberColumn(f"{label} ({suffix.strip()})", format="localized",
                                           help=help)


# Streamlit cuts metric labels and values, page links and button labels with an ellipsis when
# the column is narrow (« Progrès, accélération néces… » at 1 024 px): they wrap instead, so
# no status or label is ever cut. tests/test_browser_a11y.py checks every page at 1 400 and
# 1 024 px (scrollWidth <= clientWidth).
WRAP_CSS = """<style>
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricValue"], [data-testid="stMetricValue"] *,
[data-testid="stPageLink"] p, [data-testid="stBaseButton-secondary"] p,
[data-testid="stBaseButton-primary"] p, .stDownloadButton button p, .stButton button p {
  white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; overflow-wrap: anywhere;
}
[data-testid="stMetricLabel"], [data-testid="stMetricValue"] { height: auto !important; }
/* A slightly wider sidebar: quartier names such as « Patte d'Oie / Malétrenne / Plaisance »
   fit the picker (a text box cannot wrap). */
section[data-testid="stSidebar"] { width: 21rem !important; min-width: 21rem !important; }
/* Chosen options of a multiselect (indicator names, territories) wrap inside their tag. */
[data-testid="stMultiSelect"] div:has(> [data-testid="stMultiSelectTagsContainer"]),
[data-testid="stMultiSelect"] div:has(> div > [data-testid="stMultiSelectTagsContainer"]) {
  height: auto !important; max-height: none !important;
}
[data-testid="stMultiSelectTagsContainer"] {
  flex-wrap: wrap !important; height: auto !important; overflow: visible !important;
  mask-image: none !important; -webkit-mask-image: none !important;
}
/* The file uploader's hint (size limit and accepted types, a long list since contours are
   accepted) wraps instead of ending in « … ». */
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stMultiSelectTagsContainer"] [role="group"],
[data-testid="stMultiSelectTagsContainer"] [role="group"] span {
  height: auto !important; max-width: 100% !important; white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important;
}
</style>"""


def page_style() -> None:
    """Layout fixes applied to every page (a style block takes no room in the page)."""
    st.html(WRAP_CSS)


@contextmanager
def stages(label: str, done_label: str):
    """Live progress of long work: an st.status box with a bar and one line per stage
    (« Contrôle des valeurs : 1 234 / 1 234 ligne(s) contrôlée(s) »). Yields the callback to
    pass down (suivi/core/steps.py); the box closes as complete when the work ends."""
    box = st.status(label, expanded=True)
    bar = box.progress(0.0, text=label)
    lines: dict[str, object] = {}

    def report(stage: str, done: int, total: int | None) -> None:
        text = steps.describe(stage, done, total)
        bar.progress(steps.fraction(done, total), text=text)
        if stage not in lines:
            lines[stage] = box.empty()
        finished = total is not None and done >= total
        lines[stage].markdown(("✔ " if finished else "⏳ ") + text)

    try:
        yield report
    except BaseException:
        box.update(label=label + " : interrompu", state="error")
        raise
    box.update(label=done_label, state="complete", expanded=False)
