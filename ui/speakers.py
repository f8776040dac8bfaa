"""Speaker names and merges on the task page, stored in the database and shown everywhere at once.

Each speaker's name input is labelled with its id (``SPEAKER_00``); a name is saved as soon as the
input loses focus or Enter is pressed. Merging says that two speaker ids are the same person.
With the voice library on, "Remember this voice" (on by default) makes the name a voice that later
recordings are compared with, and a voice the library recognised is shown as "Alice? (similar voice)"
with Confirm / Not Alice (``services.jobs.voice_naming``).
"""

from __future__ import annotations

import streamlit as st

from services.errors import FastAudioError, InvalidEdit
from services.jobs.voice_naming import confirm_voice, name_speaker, reject_voice
from services.results.edits import Edits, known_speakers
from services.results.exports import short_clock
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.store.edits_repo import EditsRepo
from services.store.voices_repo import VoiceLink
from ui.format import plain

MERGE_FROM_KEY = "task_merge_from"
MERGE_INTO_KEY = "task_merge_into"


def render_speakers(
    task_id: str, machine: AnalysisResult, result: AnalysisResult, edits: Edits, ctx: AppContext
) -> None:
    repo = ctx.edits
    library = ctx.voices.enabled
    st.caption(
        "Names are saved for everyone who opens this task and used everywhere: transcript, timeline, "
        "statistics and exports."
        + (" A remembered voice is recognised in later recordings (Voices page)." if library else "")
    )
    names = edits.names()
    links = ctx.voices.links(task_id) if library else {}
    for speaker in result.speakers:
        key = f"task_name_{speaker.id}"
        _sync(key, names.get(speaker.id, ""))
        name, remember, talk = st.columns([4, 2, 1], vertical_alignment="bottom")
        name.text_input(
            speaker.id, key=key, placeholder="Name, e.g. Diane", max_chars=80, on_change=_rename,
            args=(task_id, speaker.id, key, ctx),
        )  # fmt: skip
        if library:
            remember.checkbox(
                "Remember this voice", value=True, key=f"task_remember_{speaker.id}",
                help="Recognise this person in later recordings (Voices page). Untick: the name is for this task only.",
            )  # fmt: skip
        talk.caption(f"talks {short_clock(speaker.talk_time)}")
        link = links.get(speaker.id)
        if link is not None:
            _render_link(task_id, link, ctx)
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


def _render_link(task_id: str, link: VoiceLink, ctx: AppContext) -> None:
    """A suggestion with Confirm / Not <name>, or the voice this speaker is."""
    if not link.open:
        st.caption(plain(f"Voice remembered as {link.name} (Voices page)."))
        return
    line, yes, no = st.columns([4, 1, 1], vertical_alignment="center")
    similar = f", similarity {link.similarity:.2f}" if link.similarity is not None else ""
    applied = " Applied as the name until you answer." if link.state == "auto" else ""
    line.markdown(f"**{plain(link.name)}?** (similar voice{similar}).{applied}")
    yes.button(
        "Confirm", key=f"task_voice_yes_{link.speaker_id}", on_click=_answer, args=(task_id, link, True, ctx),
        width="stretch",
    )  # fmt: skip
    no.button(
        plain(f"Not {link.name}"), key=f"task_voice_no_{link.speaker_id}", on_click=_answer,
        args=(task_id, link, False, ctx), width="stretch",
    )  # fmt: skip


def _answer(task_id: str, link: VoiceLink, right: bool, ctx: AppContext) -> None:
    answer = confirm_voice if right else reject_voice
    try:
        answer(task_id, link.speaker_id, repo=ctx.repo, edits=ctx.edits, voices=ctx.voices)
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    said = f"{link.speaker_id} is {link.name}." if right else f"{link.speaker_id} is not {link.name}."
    st.toast(plain(said), icon="✅" if right else "↩️")


def _rename(task_id: str, speaker_id: str, key: str, ctx: AppContext) -> None:
    remember = bool(st.session_state.get(f"task_remember_{speaker_id}", True))
    try:
        named = name_speaker(
            task_id, speaker_id, st.session_state.get(key, ""), remember=remember, repo=ctx.repo, edits=ctx.edits,
            voices=ctx.voices,
        )  # fmt: skip
    except FastAudioError as exc:
        st.toast(plain(exc), icon="⚠️")
        return
    st.session_state[key] = st.session_state[f"_{key}_stored"] = named.name or ""
    st.toast(plain(named.message), icon="✅")


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
