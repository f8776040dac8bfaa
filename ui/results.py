"""Streamlit rendering of a task: header, live progress, and the finished result."""

from __future__ import annotations

import streamlit as st

from services.charts import speaker_colors, talk_time_figure, timeline_figure
from services.exports import FORMATS, render, short_clock, speaker_turns
from services.schema import AnalysisResult
from services.storage import Storage
from services.tasks_repo import TaskView
from ui.format import ago, duration_label, engines_label, size_label, stage_label, status_label


def render_header(task: TaskView) -> None:
    st.title(task.recording.filename)
    st.caption(
        f"{status_label(task.status)} · task `{task.id}` · {duration_label(task.recording.duration)} · "
        f"{size_label(task.recording.size_bytes)} · uploaded {ago(task.created_at)}"
    )


def render_progress(task: TaskView) -> None:
    """Stage and percent of a task that is not final yet."""
    if task.status == "queued":
        st.progress(0, text=f"{stage_label('queued')}…")
        st.caption("A worker picks it up as soon as one is free.")
        return
    st.progress(task.progress / 100, text=f"{stage_label(task.stage)}… {task.progress}%")
    if task.started_at:
        st.caption(f"Started {ago(task.started_at)} on {task.worker or 'a worker'}.")


def render_failure(task: TaskView) -> None:
    st.error(task.error or "The analysis failed for an unknown reason.", icon="❌")
    st.caption("Nothing else was affected. Fix the file and upload it again, or ask an administrator.")


def render_result(task: TaskView, storage: Storage) -> None:
    result = AnalysisResult.from_dict(task.result or {})
    words = sum(len(s.words) for s in result.segments)
    cols = st.columns(5)
    cols[0].metric("Duration", duration_label(result.duration))
    cols[1].metric("Speakers", len(result.speakers))
    cols[2].metric("Words", words)
    cols[3].metric("Language", result.language or "—")
    cols[4].metric("Analysis time", duration_label(sum(result.timings.values())))
    used = engines_label(result.engine, result.model, result.diarization)
    if used:
        st.caption(used)

    if task.recording.stored_path and storage.exists(task.recording.stored_path):
        with storage.open_local(task.recording.stored_path) as local:
            st.audio(local.read_bytes())  # read now: a remote storage's local copy is gone after the block

    if not result.segments:
        st.info("No speech was found in this recording.", icon="🔇")
    else:
        st.plotly_chart(timeline_figure(result), key="task_timeline", width="stretch")
        left, right = st.columns([2, 1])
        with left:
            st.subheader("Transcript")
            _transcript(result)
        with right:
            st.plotly_chart(talk_time_figure(result), key="task_talk_time", width="stretch")
    _downloads(task, result)


def _transcript(result: AnalysisResult) -> None:
    colors = speaker_colors(result)
    for block in speaker_turns(result):
        color = colors.get(block.speaker or "", "#888")
        name = result.speaker_name(block.speaker) or "Unknown"
        st.markdown(
            f"<span style='color:{color};font-weight:600'>{name}</span> "
            f"<span style='color:#888;font-size:0.85em'>{short_clock(block.start)}–{short_clock(block.end)}</span>",
            unsafe_allow_html=True,
        )
        st.write(block.text)


def _downloads(task: TaskView, result: AnalysisResult) -> None:
    stem = task.recording.filename.rsplit(".", 1)[0] or "recording"
    st.subheader("Export")
    cols = st.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS.values()):
        col.download_button(
            fmt.name.upper(),
            data=render(result, fmt.name, file_id=stem),
            file_name=f"{stem}.{fmt.extension}",
            mime=fmt.mime,
            key=f"task_download_{fmt.name}",
            width="stretch",
        )
