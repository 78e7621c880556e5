"""The map block the pages share: the figure, the same figures in a table beside it, the
synthetic-contours notice, or where no contour is loaded, how to load them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from suivi.core.config import map_attribution, map_tiles, maps_enabled
from suivi.views import maps
from suivi.web import ui

__all__ = ["enabled", "shapes", "show", "show_missing", "tiles"]


def enabled() -> bool:
    """Maps are drawn unless SUIVI_CARTES=0 (the benchmark times pages both ways)."""
    return maps_enabled()


def tiles() -> tuple[str | None, str]:
    return map_tiles(), map_attribution()


def shapes(contract: str, contours: pd.DataFrame) -> list:
    """The quartiers' outlines ready to draw (suivi.views.maps.rings), parsed once per
    contract and data version for every map of every page (0.1 s for a national contract)."""
    return ui.memo(("map_rings", contract), lambda: maps.rings(contours["geometry"]))


def show_missing() -> None:
    st.info(maps.HOW_TO_LOAD, icon="🗺️")


def show(fig, table: pd.DataFrame, contours: pd.DataFrame, key: str,
         grey_note: bool = True) -> None:
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(fig, width="stretch", key=key)
    with right:
        st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_table")
    notes = []
    if maps.synthetic(contours):
        notes.append("⚠️ " + maps.SYNTHETIC_NOTE)
    if grey_note:
        notes.append("Gris : pas de valeur.")
    notes.append("Contours : " + " ; ".join(
        sorted(set(contours["source"].dropna().astype(str)))[:3]) + ".")
    st.caption(" ".join(notes))
