"""Re-running from the task page: the speaker separation with another speaker count, or a failed task.

Re-separating the speakers keeps the transcript (nothing is transcribed again) and takes seconds.
Before it starts, the page says which corrections it will clear and asks to confirm.
"""

from __future__ import annotations

import streamlit as st

from services.analysis.options import SPEAKER_LIMIT, AnalysisOptions
from services.errors import FastAudioError, InvalidOptions
from services.jobs.reruns import can_rediarize, request_rediarization, retry_failed
from services.results.edits import Edits
from services.results.names import names_still_given, stored_names
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.store.task_views import TaskView
from ui.format import plain

PENDING_KEY = "task_rerun_pending"
AUTO, EXACTLY, BETWEEN = "Detect automatically", "Exactly", "Between"


def render_rerun(task: TaskView, speakers: int, edits: Edits, ctx: AppContext) -> None:
    with st.expander("Re-run speaker separation", icon=":material/group:"):
        reason = can_rediarize(task, ctx.artifacts)
        if reason:
            st.info(plain(reason))
            return
        st.caption(
            "Separates the speakers again with another number of speakers. The transcript is kept, "
            "so this takes seconds, not a new transcription."
        )
        options = _choose_options(task, speakers)
        if options is None:
            return
        if st.session_state.get(PENDING_KEY) != task.id:
            st.button("Re-run speaker separation", key="task_rerun_start", on_click=_ask, args=(task.id,))
            return
        st.warning(what_resets(edits, names_again=names_given_again(task, edits)), icon="⚠️")
        confirm, cancel = st.columns(2)
        confirm.button(
            "Confirm re-run", key="task_rerun_confirm", type="primary", on_click=_confirm, args=(task.id, options, ctx),
            width="stretch",
        )  # fmt: skip
        cancel.button("Cancel", key="task_rerun_cancel", on_click=_cancel, width="stretch")


def names_given_again(task: TaskView, edits: Edits) -> bool:
    """Whether a re-run gives the speaker names typed at upload again (``services.results.names``)."""
    machine = AnalysisResult.from_dict(task.result or {})
    return names_still_given(machine, stored_names(task.options), edits)


def what_resets(edits: Edits, *, names_again: bool = False) -> str:
    """What a re-run of the speakers clears, in words, from the task's corrections.

    Args:
        names_again: the names are the ones given at upload, and the re-run gives them again.
    """
    counts = edits.counts()
    cleared = [
        _plural(n, what)
        for n, what in (
            (0 if names_again else counts.names, "speaker name"),
            (counts.merges, "merge"),
            (counts.speaker_changes, "speaker change of a segment"),
        )
        if n
    ]
    n = counts.text_changes
    kept = f" {_plural(n, 'text correction')} {'is' if n == 1 else 'are'} kept where the segment is unchanged."
    kept = kept if n else ""
    cleared_now = f", so these are cleared: {', '.join(cleared)}." if cleared else "."
    again = " The names given at upload are given again, in order of first appearance." if names_again else ""
    return f"Speaker numbers are assigned afresh{cleared_now}{kept}{again} Confirm to start."


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _choose_options(task: TaskView, speakers: int) -> AnalysisOptions | None:
    mode = st.radio("Number of speakers", [AUTO, EXACTLY, BETWEEN], key="task_rerun_mode", horizontal=True)
    try:
        if mode == EXACTLY:
            n = st.number_input(
                "Speakers", 1, SPEAKER_LIMIT, max(1, min(SPEAKER_LIMIT, speakers + 1)), key="task_rerun_num"
            )
            return AnalysisOptions(num_speakers=int(n))
        if mode == BETWEEN:
            low, high = st.columns(2)
            lo = low.number_input("At least", 1, SPEAKER_LIMIT, 1, key="task_rerun_min")
            hi = high.number_input(
                "At most", 1, SPEAKER_LIMIT, max(2, min(SPEAKER_LIMIT, speakers + 1)), key="task_rerun_max"
            )
            return AnalysisOptions(min_speakers=int(lo), max_speakers=int(hi))
        return AnalysisOptions()
    except InvalidOptions as exc:
        st.error(plain(exc))
        return None


def _ask(task_id: str) -> None:
    st.session_state[PENDING_KEY] = task_id


def _cancel() -> None:
    st.session_state[PENDING_KEY] = None


def _confirm(task_id: str, options: AnalysisOptions, ctx: AppContext) -> None:
    st.session_state[PENDING_KEY] = None
    try:
        rerun = request_rediarization(
            task_id, options, repo=ctx.repo, artifacts=ctx.artifacts, enqueue=ctx.queue.enqueue_job
        )
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.toast(plain(rerun.message), icon="🔁" if rerun.enqueued else "📭")


def render_retry(task: TaskView, ctx: AppContext) -> None:
    """For a failed task: run it again (attempts start from zero)."""
    st.button("Run again", key="task_retry", icon=":material/replay:", on_click=_retry, args=(task.id, ctx))


def _retry(task_id: str, ctx: AppContext) -> None:
    try:
        rerun = retry_failed(
            task_id, repo=ctx.repo, storage=ctx.storage, artifacts=ctx.artifacts, enqueue=ctx.queue.enqueue_job
        )
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.toast(plain(rerun.message), icon="🔁" if rerun.enqueued else "📭")
