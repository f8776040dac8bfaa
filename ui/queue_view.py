"""Streamlit pieces for tasks that wait or run: place in the queue, time left, Cancel, and the list
of recordings submitted together."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from services.errors import TaskAlreadyFinished, TaskNotFound
from services.jobs.cancellation import cancel_task
from services.jobs.waiting import Wait
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo
from ui.format import plain, queue_label, stage_label, status_label, time_left_label

TASK_PAGE = "app_pages/task.py"


def render_wait(wait: Wait) -> None:
    """``2 recordings ahead of it · about 3 min left`` under the progress bar."""
    parts = []
    if wait.ahead is not None:
        parts.append(queue_label(wait.ahead))
    if wait.seconds_left is not None:
        guess = "" if wait.measured else " (a first guess until an analysis has finished here)"
        parts.append(f"{time_left_label(wait.seconds_left)} left{guess}")
    if parts:
        st.caption(" · ".join(parts))


def render_cancel(task: TaskView, repo: TaskRepo) -> None:
    """A Cancel button for a queued or running task; a click cancels it and reloads the page."""
    label = "Cancel analysis" if task.status == "processing" else "Cancel"
    if not st.button(label, key="task_cancel", icon=":material/cancel:", help="Stop this analysis; nothing is kept."):
        return
    try:
        cancel_task(task.id, repo=repo)
    except (TaskAlreadyFinished, TaskNotFound) as exc:
        st.info(plain(exc))
    st.rerun()


def render_cancelled(task: TaskView) -> None:
    reached = f" It had reached {task.progress}% ({stage_label(task.stage)})." if task.progress else ""
    st.warning(f"This analysis was cancelled.{reached}", icon="🚫")
    st.caption("Nothing was kept from it. Upload the recording again to analyse it.")
    st.page_link("app_pages/analyze.py", label="Analyze a recording", icon=":material/upload_file:")


def render_batch(tasks: Sequence[TaskView]) -> None:
    """One line per submitted recording: a link to its task page, its status, and its progress."""
    for task in tasks:
        name, status, progress = st.columns([3, 1, 3], vertical_alignment="center")
        name.page_link(
            TASK_PAGE,
            label=plain(task.recording.filename),
            query_params={"task": task.id},
            icon=":material/graphic_eq:",
        )
        status.write(status_label(task.status))
        if task.status == "failed":
            progress.caption(plain(task.error or "Failed."))
        elif task.status == "cancelled":
            progress.caption("Cancelled.")
        elif task.status == "completed":
            progress.progress(1.0, text="Done")
        elif task.status == "queued":
            progress.progress(0, text=f"{stage_label('queued')}…")
        else:
            progress.progress(task.progress / 100, text=f"{stage_label(task.stage)}… {task.progress}%")
