"""FastAudio's Streamlit entry point: page config, navigation and the shared sidebar."""

import streamlit as st

from services.runtime.context import get_context
from ui.format import status_label
from ui.sign_in import gate

st.set_page_config(page_title="FastAudio", page_icon="🎙️", layout="wide")

PAGES = [
    st.Page("app_pages/analyze.py", title="Analyze", icon=":material/upload_file:", url_path="analyze", default=True),
    st.Page("app_pages/task.py", title="Task", icon=":material/graphic_eq:", url_path="task"),
    st.Page("app_pages/history.py", title="History", icon=":material/history:", url_path="history"),
    st.Page("app_pages/voices.py", title="Voices", icon=":material/record_voice_over:", url_path="voices"),
    st.Page("app_pages/system.py", title="System", icon=":material/monitor_heart:", url_path="system"),
]
navigation = st.navigation(PAGES)
gate(account=True)  # no page, no sidebar counts, nothing of any task before sign-in

with st.sidebar:
    st.markdown("### 🎙️ FastAudio")
    st.caption("Who said what, and when.")
    repo = get_context().repo
    busy = {s: repo.count(s) for s in ("queued", "processing")}
    if any(busy.values()):
        st.caption(" · ".join(f"{status_label(s)}: {n}" for s, n in busy.items() if n))
    else:
        st.caption("Queue is empty.")

navigation.run()
