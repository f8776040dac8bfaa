"""On the task page: split a speaker who is really several people, and how sure the speaker count is.

A split re-clusters only that speaker's stored voice embeddings (``services.results.split``) and is stored at
once (no queue: it takes milliseconds); other speakers keep their names and corrections. The count line
comes from the analysis (``services.results.speaker_count``); when another count was nearly as likely, one click
re-runs the speaker separation at that count (``services.jobs.reruns``), after a confirmation when it would
clear names, merges or speaker changes.
"""

from __future__ import annotations

import streamlit as st

from services.analysis.options import MAX_PARTS, AnalysisOptions
from services.errors import FastAudioError
from services.jobs.reruns import can_rediarize, request_rediarization
from services.jobs.split_task import split_task
from services.results import speaker_count
from services.results.edits import Edits
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.store.task_views import TaskView
from ui.format import plain
from ui.rerun import names_given_again, what_resets

SPLIT_WHO_KEY = "task_split_who"
SPLIT_INTO_KEY = "task_split_into"
COUNT_PENDING_KEY = "task_count_rerun_pending"


def render_count(task: TaskView, edits: Edits, ctx: AppContext) -> None:
    """ "3 speakers; 4 is nearly as likely", with a re-run at 4; nothing for results without a count."""
    count = speaker_count.recorded(task.result)
    if count is None:
        return
    other = speaker_count.alternative(count)
    if other is None or can_rediarize(task, ctx.artifacts):
        st.caption(f"The analysis found {speaker_count.describe(count)}")
        return
    line, action = st.columns([3, 2], vertical_alignment="center")
    line.info(f"The analysis found {speaker_count.describe(count)}", icon=":material/groups:")
    clears = edits.counts().names or edits.counts().merges or edits.counts().speaker_changes
    if clears and st.session_state.get(COUNT_PENDING_KEY) != task.id:
        action.button(f"Re-run with {other} speakers", key="task_count_rerun", on_click=_ask, args=(task.id,))
        return
    if clears:
        st.warning(what_resets(edits, names_again=names_given_again(task, edits)), icon="⚠️")
    action.button(
        f"Re-run with {other} speakers" if not clears else f"Confirm: re-run with {other}",
        key="task_count_rerun_go", type="primary", on_click=_rerun, args=(task.id, other, ctx),
    )  # fmt: skip


def render_split(task: TaskView, result: AnalysisResult, ctx: AppContext) -> None:
    """ "This speaker is really several people": pick the speaker and how many, split."""
    if can_rediarize(task, ctx.artifacts) or not result.speakers:
        return
    st.markdown("**This speaker is really several people**")
    ids = [s.id for s in result.speakers]
    label = {s.id: f"{s.name} ({s.id})" if s.name != s.id else s.id for s in result.speakers}
    who, into, button = st.columns([2, 2, 1], vertical_alignment="bottom")
    who.selectbox("Split speaker", ids, format_func=label.__getitem__, key=SPLIT_WHO_KEY)
    into.number_input("into this many people", 2, MAX_PARTS, 2, key=SPLIT_INTO_KEY)
    button.button("Split", key="task_split_submit", on_click=_split, args=(task.id, ctx), width="stretch")
    st.caption(
        "Separates only this speaker's voice again, in a moment; nothing is transcribed again. Other "
        "speakers keep their names and corrections."
    )


def _split(task_id: str, ctx: AppContext) -> None:
    speaker, into = st.session_state.get(SPLIT_WHO_KEY), int(st.session_state.get(SPLIT_INTO_KEY) or 2)
    if speaker is None:
        return  # the choice was not rendered
    try:
        done = split_task(
            task_id, speaker, into, repo=ctx.repo, artifacts=ctx.artifacts, edits=ctx.edits, voices=ctx.voices
        )
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.toast(plain(done.message), icon="✅")


def _ask(task_id: str) -> None:
    st.session_state[COUNT_PENDING_KEY] = task_id


def _rerun(task_id: str, count: int, ctx: AppContext) -> None:
    st.session_state[COUNT_PENDING_KEY] = None
    try:
        rerun = request_rediarization(
            task_id,
            AnalysisOptions(num_speakers=count),
            repo=ctx.repo,
            artifacts=ctx.artifacts,
            enqueue=ctx.queue.enqueue_job,
        )
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.toast(plain(rerun.message), icon="🔁" if rerun.enqueued else "📭")
