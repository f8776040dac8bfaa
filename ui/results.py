"""Streamlit rendering of a task: header, live progress, and the finished result.

The finished result is the machine's result with the analyst's corrections applied
(``services.results.edits.apply_edits``); every part of the page and every export shows that one view.
"""

from __future__ import annotations

import streamlit as st

from services.results.edits import apply_edits
from services.results.languages import language_notice, languages_label
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.store.task_views import TaskView
from ui.exports_view import render_downloads
from ui.format import ago, duration_label, engines_label, plain, size_label, stage_label, status_label
from ui.player import current_moment, render_player
from ui.rerun import render_rerun, render_retry
from ui.speaker_split import render_count, render_split
from ui.speakers import render_speakers
from ui.stats_view import render_stats
from ui.timeline import render_timeline
from ui.transcript import render_transcript


def render_header(task: TaskView) -> None:
    st.title(plain(task.recording.filename), anchor=False)
    st.caption(
        f"{status_label(task.status)} · task `{task.id}` · {duration_label(task.recording.duration)} · "
        f"{size_label(task.recording.size_bytes)} · uploaded {ago(task.created_at)}"
    )


def render_progress(task: TaskView) -> None:
    """Stage and percent of a task that is not final yet."""
    if task.rerun == "diarize":
        st.caption("Separating the speakers again; the transcript is kept.")
    if task.status == "queued":
        st.progress(0, text=f"{stage_label('queued')}…")
        st.caption("A worker picks it up as soon as one is free.")
        return
    st.progress(task.progress / 100, text=f"{stage_label(task.stage)}… {task.progress}%")
    if task.started_at:
        st.caption(plain(f"Started {ago(task.started_at)} on {task.worker or 'a worker'}."))


def render_failure(task: TaskView, ctx: AppContext) -> None:
    st.error(plain(task.error or "The analysis failed for an unknown reason."), icon="❌")
    st.caption("Nothing else was affected. Run it again, or fix the file and upload it again, or ask an administrator.")
    render_retry(task, ctx)


def render_result(task: TaskView, ctx: AppContext) -> None:
    machine = AnalysisResult.from_dict(task.result or {})
    edits = ctx.edits.load(task.id)
    result = apply_edits(machine, edits)
    stem = task.recording.filename.rsplit(".", 1)[0] or "recording"
    words = sum(len(s.text.split()) for s in result.segments)
    cols = st.columns(5)
    cols[0].metric("Duration", duration_label(result.duration))
    cols[1].metric("Speakers", len(result.speakers))
    cols[2].metric("Words", words)
    cols[3].metric("Language", languages_label(result) or "—")
    cols[4].metric("Analysis time", duration_label(sum(result.timings.values())))
    used = engines_label(result.engine, result.model, result.diarization)
    if used:
        st.caption(used)
    notice = language_notice(machine)
    if notice:
        st.warning(plain(notice), icon="🌐")
    render_count(task, edits, ctx)

    moment = current_moment()
    recording = task.recording
    render_player(task.id, recording.stored_path, recording.filename, ctx.storage, ctx.settings, moment, result)
    if not result.segments:
        st.info("No speech was found in this recording.", icon="🔇")
    else:
        render_timeline(result)
        transcript, speakers, stats = st.tabs(["Transcript", "Speakers", "Statistics"])
        with transcript:
            render_transcript(task.id, machine, result, edits, ctx.edits, moment)
        with speakers:
            render_speakers(task.id, machine, result, edits, ctx)
            render_split(task, result, ctx)
        with stats:
            render_stats(result, stem)
    st.subheader("Export")
    render_downloads(result, stem)
    render_rerun(task, len(result.speakers), edits, ctx)
