"""The Voices page's parts: the list, one voice's chart, sample and recordings, and what can be changed.

Every name and file name is typed or uploaded by someone: shown through ``plain`` (Markdown) or as
dataframe cells and Plotly text (``services.voices.chart.label``), never as HTML.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from services.analysis.audio import decode_span
from services.errors import FastAudioError
from services.results.edits import apply_edits
from services.runtime.context import AppContext
from services.schema import SAMPLE_RATE, AnalysisResult
from services.store.voice_library import Appearance, VoiceSummary
from services.voices.chart import VoicePoint, task_of, voice_figure
from services.voices.sample import sample_span
from ui.format import ago, duration_label, plain

VOICE_KEY = "voices_chosen"
CHART_KEY = "voices_chart"


def render_list(voices: list[VoiceSummary]) -> None:
    rows = [
        {
            "Name": v.name,
            "Recordings": v.recordings,
            "Talk time": duration_label(v.talk_seconds),
            "Last heard": ago(v.last_heard) if v.last_heard else "—",
            "History": f"/history?voice={v.voice_id}",
        }
        for v in voices
    ]
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={"History": st.column_config.LinkColumn("History", display_text="recordings ↗")},
    )


def choose(voices: list[VoiceSummary]) -> VoiceSummary:
    """The voice to show (``?voice=<id>`` in the URL keeps it across reloads)."""
    by_id = {v.voice_id: v for v in voices}
    wanted = st.query_params.get("voice")
    if VOICE_KEY not in st.session_state or st.session_state[VOICE_KEY] not in by_id:
        st.session_state[VOICE_KEY] = wanted if wanted in by_id else voices[0].voice_id
    chosen = st.selectbox("Voice", list(by_id), format_func=lambda v: by_id[v].name, key=VOICE_KEY)
    st.query_params["voice"] = chosen
    return by_id[chosen]


def render_voice(voice: VoiceSummary, ctx: AppContext) -> None:
    appearances = ctx.voices.appearances(voice.voice_id)
    st.subheader(plain(voice.name), anchor=False)
    st.caption(
        f"{voice.recordings} recording(s) · talks {duration_label(voice.talk_seconds)} in all · "
        f"last heard {ago(voice.last_heard) if voice.last_heard else '—'}"
    )
    _sample(appearances, ctx)
    points = [VoicePoint(a.heard_at, a.talk_seconds, a.share, a.filename, a.task_id) for a in appearances]
    st.plotly_chart(
        voice_figure(points, voice.name), key=CHART_KEY, width="stretch", on_select=_opened, selection_mode="points"
    )
    st.dataframe(
        [
            {
                "Recording": a.filename,
                "Heard": a.heard_at.strftime("%Y-%m-%d %H:%M"),
                "Speaker": a.speaker_id,
                "Talk time": duration_label(a.talk_seconds),
                "Share": f"{100 * a.share:.0f} %",
                "Open": f"/task?task={a.task_id}" if a.task_id else None,
            }
            for a in appearances
        ],
        hide_index=True,
        width="stretch",
        column_config={"Open": st.column_config.LinkColumn("Open", display_text="open ↗")},
    )


def _opened() -> None:
    points: list[dict[str, Any]] = list(st.session_state.get(CHART_KEY, {}).get("selection", {}).get("points", []))
    task_id = task_of(points)
    if task_id:
        st.switch_page("app_pages/task.py", query_params={"task": task_id})


def _sample(appearances: list[Appearance], ctx: AppContext) -> None:
    """A few seconds of the latest recording that is still stored, where only this person talks."""
    for a in reversed(appearances):
        task = ctx.repo.get(a.task_id) if a.task_id else None
        if task is None or task.result is None or not task.recording.stored_path:
            continue
        if not ctx.storage.exists(task.recording.stored_path):
            continue
        result = apply_edits(AnalysisResult.from_dict(task.result), ctx.edits.load(task.id))
        span = sample_span(result, a.speaker_id)
        if span is None:
            continue
        audio = _clip(task.recording.stored_path, span, ctx)
        if audio is not None:
            st.caption(plain(f"Sample: {a.filename}, {duration_label(span[0])} to {duration_label(span[1])}"))
            st.audio(audio, sample_rate=SAMPLE_RATE)
            return
    st.caption("No stored recording to play a sample from.")


def _clip(key: str, span: tuple[float, float], ctx: AppContext) -> np.ndarray | None:
    try:
        with ctx.storage.open_local(key) as local:
            return decode_span(local, *span)
    except FastAudioError:
        return None


def render_changes(voice: VoiceSummary, voices: list[VoiceSummary], ctx: AppContext) -> None:
    """Rename, merge into another voice, remove one recording, delete."""
    with st.expander("Change this voice"):
        name, go = st.columns([4, 1], vertical_alignment="bottom")
        name.text_input("Name", value=voice.name, key=f"voices_rename_{voice.voice_id}", max_chars=80)
        go.button("Rename", key="voices_rename", on_click=_rename, args=(voice, ctx), width="stretch")
        others = {v.voice_id: v.name for v in voices if v.voice_id != voice.voice_id}
        if others:
            into, go = st.columns([4, 1], vertical_alignment="bottom")
            into.selectbox("Same person as", list(others), format_func=others.__getitem__, key="voices_merge_into")
            go.button("Merge", key="voices_merge", on_click=_merge, args=(voice, ctx), width="stretch")
        recordings = {a.task_id: a.filename for a in ctx.voices.appearances(voice.voice_id) if a.task_id}
        if recordings:
            which, go = st.columns([4, 1], vertical_alignment="bottom")
            which.selectbox(
                "Not this person in", list(recordings), format_func=recordings.__getitem__, key="voices_remove_from"
            )
            go.button("Remove", key="voices_remove", on_click=_remove, args=(voice, ctx), width="stretch")
        sure, go = st.columns([4, 1], vertical_alignment="bottom")
        sure.checkbox("Delete this voice and everything it learnt (names given to speakers stay)", key="voices_sure")
        go.button("Delete", key="voices_delete", on_click=_delete, args=(voice, ctx), type="primary", width="stretch")


def _done(action: Any, said: str) -> None:
    try:
        action()
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.toast(plain(said), icon="✅")


def _rename(voice: VoiceSummary, ctx: AppContext) -> None:
    name = st.session_state.get(f"voices_rename_{voice.voice_id}", "")
    _done(lambda: ctx.voices.rename(voice.voice_id, name), f"{voice.name} is now called {name}.")


def _merge(voice: VoiceSummary, ctx: AppContext) -> None:
    into = st.session_state.get("voices_merge_into")
    if into:
        _done(lambda: ctx.voices.merge(voice.voice_id, into), f"{voice.name} is merged.")
        st.session_state[VOICE_KEY] = into


def _remove(voice: VoiceSummary, ctx: AppContext) -> None:
    task_id = st.session_state.get("voices_remove_from")
    if task_id:
        _done(lambda: ctx.voices.remove_recording(voice.voice_id, task_id), "The recording is removed from the voice.")


def _delete(voice: VoiceSummary, ctx: AppContext) -> None:
    if not st.session_state.get("voices_sure"):
        st.toast("Tick the box first: deleting a voice cannot be undone.", icon="⚠️")
        return
    _done(lambda: ctx.voices.delete(voice.voice_id), f"{voice.name} is deleted.")
    st.session_state.pop(VOICE_KEY, None)
    st.session_state["voices_sure"] = False
