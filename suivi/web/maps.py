"""The map block the pages share: the figure, the same figures in a table beside it, the
synthetic-contours notice, or where no contour is loaded, how to load them."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from suivi.core.config import map_attribution, map_tiles, maps_enabled
from suivi.views import maps
from suivi.web import auth

__all__ = ["OUTLINE_SETS", "enabled", "shapes", "show", "show_missing", "tiles"]


def enabled() -> bool:
    """Maps are drawn unless SUIVI_CARTES=0 (the benchmark times pages both ways)."""
    return maps_enabled()


def tiles() -> tuple[str | None, str]:
    return map_tiles(), map_attribution()


def shapes(contours: pd.DataFrame) -> list:
    """The quartiers' outlines ready to draw (suivi.views.maps.rings), parsed once per set of
    outlines for every map of every page (0.1 s for a national contract). Keyed by their
    content, not by the data version: a load of values leaves the outlines as they were, and
    the first map after it then skips the parse."""
    geometry = contours["geometry"].astype(str)
    digest = hashlib.blake2b("\x1e".join(geometry).encode(), digest_size=16).hexdigest()
    return list(_rings(digest, geometry))


OUTLINE_SETS = 8  # sets of outlines kept parsed (a national contract's: about 10 MB)


@st.cache_resource(show_spinner=False, max_entries=OUTLINE_SETS)
def _rings(digest: str, _geometry: pd.Series) -> list:
    return maps.rings(_geometry)


def show_missing() -> None:
    st.info(maps.HOW_TO_LOAD if auth.can("contributeur") else maps.WHO_CAN_LOAD, icon="🗺️")


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
