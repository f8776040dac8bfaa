"""Speaker names and merges on the task page, stored in the database and shown everywhere at once.

Each speaker's name input is labelled with its id (``SPEAKER_00``); a name is saved as soon as the
input loses focus or Enter is pressed. Merging says that two speaker ids are the same person.
"""

from __future__ import annotations

import streamlit as st

from services.errors import InvalidEdit
from services.results.edits import Edits, known_speakers
from services.results.exports import short_clock
from services.schema import AnalysisResult
from services.store.edits_repo import EditsRepo
from ui.format import plain

MERGE_FROM_KEY = "task_merge_from"
MERGE_INTO_KEY = "task_merge_into"


def render_speakers(
    task_id: str, machine: AnalysisResult, result: AnalysisResult, edits: Edits, repo: EditsRepo
) -> None:
    st.caption(
        "Names are saved for everyone who opens this task and used everywhere: transcript, timeline, "
        "statistics and exports."
    )
    names = edits.names()
    for speaker in result.speakers:
        key = f"task_name_{speaker.id}"
        _sync(key, names.get(speaker.id, ""))
        name, talk = st.columns([4, 1], vertical_alignment="bottom")
        name.text_input(
            speaker.id, key=key, placeholder="Name, e.g. Diane", max_chars=80, on_change=_rename,
            args=(task_id, speaker.id, key, repo),
        )  # fmt: skip
        talk.caption(f"talks {short_clock(speaker.talk_time)}")

    if len(result.speakers) >= 2:
        st.markdown("**These are the same person**")
        ids = [s.id for s in result.speakers]
        label = {s.id: f"{s.name} ({s.id})" if s.name != s.id else s.id for s in result.speakers}
        left, right, button = st.columns([2, 2, 1], vertical_alignment="bottom")
        left.selectbox("Merge speaker", ids, index=len(ids) - 1, format_func=label.__getitem__, key=MERGE_FROM_KEY)
        right.selectbox("into", ids, index=0, format_func=label.__getitem__, key=MERGE_INTO_KEY)
        button.button(
            "Merge", key="task_merge_submit", on_click=_merge, args=(task_id, known_speakers(machine, edits), repo),
            width="stretch",
        )  # fmt: skip

    for speaker_id, into in edits.merges().items():
        line, undo = st.columns([4, 1], vertical_alignment="center")
        line.markdown(f"{plain(speaker_id)} is merged into **{plain(result.speaker_name(edits.resolve(into)))}**")
        undo.button(
            f"Separate {speaker_id}", key=f"task_unmerge_{speaker_id}", on_click=_unmerge,
            args=(task_id, speaker_id, repo),
        )  # fmt: skip


def _sync(key: str, stored: str) -> None:
    """Show the stored name in the input, unless the person is the one who just changed it."""
    marker = f"_{key}_stored"
    if key not in st.session_state or st.session_state.get(marker) != stored:
        st.session_state[key] = stored
        st.session_state[marker] = stored


def _rename(task_id: str, speaker_id: str, key: str, repo: EditsRepo) -> None:
    try:
        name = repo.rename(task_id, speaker_id, st.session_state.get(key, ""))
    except InvalidEdit as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.session_state[key] = st.session_state[f"_{key}_stored"] = name or ""
    said = f"{speaker_id} is now called {name}." if name else f"{speaker_id} has no name now."
    st.toast(plain(said), icon="✅")


def _merge(task_id: str, known: list[str], repo: EditsRepo) -> None:
    source, target = st.session_state.get(MERGE_FROM_KEY), st.session_state.get(MERGE_INTO_KEY)
    if source is None or target is None:
        return  # the choices were not rendered (fewer than two speakers)
    try:
        repo.merge(task_id, source, target, known=known)
    except InvalidEdit as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.toast(plain(f"{source} is merged into {target}."), icon="✅")


def _unmerge(task_id: str, speaker_id: str, repo: EditsRepo) -> None:
    repo.unmerge(task_id, speaker_id)
    st.toast(plain(f"{speaker_id} is a speaker of its own again."), icon="↩️")
