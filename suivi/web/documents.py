"""The printed documents of the Bilan page, built once per data version and scope: the HTML
bilan, its xlsx data and the Word report (the last two only when their button is clicked)."""

from __future__ import annotations

import streamlit as st

from suivi.store import open_store
from suivi.views import bilan as tb
from suivi.web import ui


@st.cache_data(show_spinner=False, max_entries=16)
def _bilan(url: str, version: tuple, contract: str, year: int, quartier: str | None):
    # Shared with the sidebar and the pages: the catalogue, and the counts of the whole
    # contract (the Vue d'ensemble's); a quartier's scope is counted by build_bilan.
    catalogue = ui.query("indicators", contract)
    counted = None if quartier else ui.query("status_overview", contract, year, None)
    with open_store(url).session() as s:
        return tb.build_bilan(s, contract, year, quartier, catalogue=catalogue,
                              counted=counted)


@st.cache_data(show_spinner=False, max_entries=16)
def _xlsx(url: str, version: tuple, contract: str, year: int, quartier: str | None) -> bytes:
    return tb.bilan_xlsx(_bilan(url, version, contract, year, quartier))


@st.cache_data(show_spinner=False, max_entries=8)
def _docx(url: str, version: tuple, contract: str, year: int, quartier: str | None) -> bytes:
    from suivi.views.report import docx  # python-docx and matplotlib: only when asked

    with open_store(url).session() as s:
        return docx.build_report(s, contract, year, quartier).docx


def _key(sel: ui.Selection) -> tuple:
    return ui.db_file(), ui.data_version(), sel.contract, sel.year, sel.quartier


def bilan(sel: ui.Selection) -> tb.Bilan:
    return _bilan(*_key(sel))


def bilan_xlsx(sel: ui.Selection) -> bytes:
    return _xlsx(*_key(sel))


def report_docx(sel: ui.Selection) -> bytes:
    return _docx(*_key(sel))
