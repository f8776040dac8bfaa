"""History: every analysed recording, filtered, sorted and paged in SQL; search across all transcripts.

A task opens from its row's Open link; selected rows can be deleted (with their files). A search
lists the matching segments, each linking to its task at that moment (``?task=<id>&t=<seconds>``).
"""

import streamlit as st

from services.errors import InvalidOptions
from services.runtime.context import get_context
from ui.format import plain
from ui.history_view import render_controls, render_notice, render_search, render_tasks
from ui.sign_in import gate

PAGE_SIZE = 50

gate()
ctx = get_context()
st.title("History")
render_notice()

if ctx.repo.count() == 0:
    st.info("Nothing analysed yet.")
    st.page_link("app_pages/analyze.py", label="Analyze a recording", icon=":material/upload_file:")
    st.stop()

try:
    controls = render_controls(ctx.voices.names() if ctx.voices.enabled else None)
except InvalidOptions as exc:
    st.warning(plain(exc))
    st.stop()

if controls.query:
    render_search(ctx.repo, controls, PAGE_SIZE)
else:
    render_tasks(ctx.repo, ctx.storage, controls, PAGE_SIZE)
