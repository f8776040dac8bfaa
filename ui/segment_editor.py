"""Correcting one segment on the task page: its text and its speaker, and reverting to the machine's."""

from __future__ import annotations

import streamlit as st

from services.errors import InvalidEdit
from services.results.edits import Edits, known_speakers, next_speaker_id, segment_edit
from services.schema import AnalysisResult
from services.store.edits_repo import EditsRepo
from ui.format import plain

EDITING_KEY = "task_editing"
NEW_SPEAKER = "__new__"


def open_editor(index: int) -> None:
    """Callback: open the editor of segment ``index`` (one at a time)."""
    st.session_state[EDITING_KEY] = index


def close_editor() -> None:
    st.session_state[EDITING_KEY] = None


def render_segment_editor(
    task_id: str, index: int, machine: AnalysisResult, result: AnalysisResult, edits: Edits, repo: EditsRepo
) -> None:
    original, shown = machine.segments[index], result.segments[index]
    choices = [s.id for s in result.speakers]
    if shown.speaker and shown.speaker not in choices:
        choices.append(shown.speaker)
    choices.append(NEW_SPEAKER)
    new_id = next_speaker_id(known_speakers(machine, edits))
    with st.container(border=True, key=f"task_editor_{index}"):
        st.text_area("Text", value=shown.text, key=f"task_edit_text_{index}", height=100)
        st.selectbox(
            "Speaker",
            choices,
            index=choices.index(shown.speaker) if shown.speaker in choices else 0,
            format_func=lambda sid: (
                f"A new speaker ({new_id})" if sid == NEW_SPEAKER else f"{result.speaker_name(sid)} ({sid})"
            ),
            key=f"task_edit_speaker_{index}",
        )
        save, revert, close = st.columns(3)
        save.button(
            "Save", key=f"task_edit_save_{index}", type="primary", on_click=_save,
            args=(task_id, index, machine, edits, repo, new_id), width="stretch",
        )  # fmt: skip
        if shown.edited:
            revert.button(
                "Revert to original", key=f"task_revert_{index}", on_click=_revert, args=(task_id, index, repo),
                width="stretch",
            )  # fmt: skip
        close.button("Close", key=f"task_edit_close_{index}", on_click=close_editor, width="stretch")
        if shown.edited:
            speaker = result.speaker_name(edits.resolve(original.speaker)) or "no speaker"
            st.caption(plain(f"Original: {original.text.strip()} — {speaker}"))


def _save(task_id: str, index: int, machine: AnalysisResult, edits: Edits, repo: EditsRepo, new_id: str) -> None:
    text = st.session_state.get(f"task_edit_text_{index}", "")
    choice = st.session_state.get(f"task_edit_speaker_{index}")
    speaker = new_id if choice == NEW_SPEAKER else choice
    try:
        edit = segment_edit(machine.segments[index], index, text=text, speaker=speaker, edits=edits)
    except InvalidEdit as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    repo.save_segment(task_id, index, edit)
    close_editor()
    unchanged = "No change from the original: the segment is the machine's again."
    st.toast("Correction saved." if edit else unchanged, icon="✅")


def _revert(task_id: str, index: int, repo: EditsRepo) -> None:
    repo.revert_segment(task_id, index)
    close_editor()
    st.toast("Back to the original segment.", icon="↩️")
