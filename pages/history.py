"""History: every analysed recording, newest first; selecting a row opens it."""

import pandas as pd
import streamlit as st

from services.context import get_context
from ui.format import ago, duration_label, status_label

PAGE_SIZE = 50

ctx = get_context()
st.title("History")

total = ctx.repo.count()
if total == 0:
    st.info("Nothing analysed yet.")
    st.page_link("pages/analyze.py", label="Analyze a recording", icon=":material/upload_file:")
    st.stop()

pages = max(1, -(-total // PAGE_SIZE))
page = st.number_input(f"Page (of {pages})", 1, pages, 1, key="history_page") if pages > 1 else 1
tasks = ctx.repo.list_tasks(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)

table = pd.DataFrame(
    {
        "Recording": [t.recording.filename for t in tasks],
        "Status": [status_label(t.status) for t in tasks],
        "Duration": [duration_label(t.recording.duration) for t in tasks],
        "Speakers": pd.array([t.num_speakers for t in tasks], dtype="Int64"),
        "Uploaded": [ago(t.created_at) for t in tasks],
        "Task": [t.id for t in tasks],
    }
)
st.caption(f"{total} tasks. Select a row to open it.")
event = st.dataframe(
    table,
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="history_table",
    width="stretch",
)
if event.selection.rows:
    st.switch_page("pages/task.py", query_params={"task": tasks[event.selection.rows[0]].id})
