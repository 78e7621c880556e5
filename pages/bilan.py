"""Page placeholder (being written)."""

import streamlit as st

from tracker import ui

sel = ui.selection()
st.title("bilan")
st.write(sel)
