"""Task: live progress while a recording is analysed, then its transcript, timeline and exports.

The open task lives in the URL (``?task=<id>``) so a reload or a shared link shows the same task;
``&t=<seconds>`` opens it at a moment of the recording. While it waits or runs, the page shows its
place in the queue, the time left and a Cancel button.
"""

import streamlit as st

from services.jobs.submissions import QUEUE_DOWN_MESSAGE
from services.jobs.waiting import estimate_wait
from services.runtime.context import get_context
from services.runtime.monitor import broker_reachable
from ui.format import plain
from ui.queue_view import render_cancel, render_cancelled, render_wait
from ui.results import render_failure, render_header, render_progress, render_result
from ui.sign_in import gate

gate()
ctx = get_context()
task_id = st.query_params.get("task")
task = ctx.repo.get(task_id) if task_id else None

if task is None:
    st.title("Task")
    if task_id:
        st.warning(f"There is no task “{plain(task_id)}”. It may have been deleted.")
    else:
        st.info("Open a task from History, or analyze a new recording.")
    st.page_link("app_pages/history.py", label="Go to History", icon=":material/history:")
    st.stop()

render_header(task)

if not task.is_final:
    live_id = task.id

    @st.fragment(run_every=ctx.settings.poll_interval_seconds)
    def _live() -> None:
        current = ctx.repo.get(live_id)
        if current is None or current.is_final:
            st.rerun()  # the whole page re-renders with the result
        if current.status == "queued" and not broker_reachable(ctx.settings):
            st.warning(QUEUE_DOWN_MESSAGE, icon="📭")
        render_progress(current)
        render_wait(estimate_wait(current, ctx.repo))
        render_cancel(current, ctx.repo)

    _live()
elif task.status == "failed":
    render_failure(task, ctx)
elif task.status == "cancelled":
    render_cancelled(task)
else:
    render_result(task, ctx)
