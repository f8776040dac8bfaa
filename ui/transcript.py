"""The transcript of the task page: segments by speaker, each with ▶ (play from here) and ✎ (correct).

Rows are the segments of the result with the analyst's corrections applied; segment ``i`` here is
segment ``i`` of the machine's result, which is what a correction is stored against. A corrected
segment carries a visible "edited" badge. Long transcripts are shown a page at a time.
"""

from __future__ import annotations

import html

import streamlit as st

from services.results.charts import speaker_colors
from services.results.edits import Edits
from services.results.exports import short_clock
from services.schema import AnalysisResult
from services.store.edits_repo import EditsRepo
from ui.confidence_view import render_unsure_toggle, segment_markdown
from ui.format import plain
from ui.player import play_from, scroll_to, segment_at
from ui.segment_editor import EDITING_KEY, open_editor, render_segment_editor

PAGE_SIZE = 150
PAGE_KEY = "task_transcript_page"
_FOLLOWED_KEY = "task_transcript_followed"  # the moment the page and scroll last followed


def render_transcript(
    task_id: str, machine: AnalysisResult, result: AnalysisResult, edits: Edits, repo: EditsRepo, moment: float | None
) -> None:
    segments = result.segments
    mark = render_unsure_toggle(result)
    colors = speaker_colors(result)
    current = segment_at(segments, moment)
    pages = -(-len(segments) // PAGE_SIZE)
    follow = current is not None and st.session_state.get(_FOLLOWED_KEY) != moment
    if pages > 1:
        if follow and current is not None:
            st.session_state[PAGE_KEY] = current // PAGE_SIZE + 1
        page = int(st.number_input(f"Transcript page (of {pages})", 1, pages, key=PAGE_KEY))
    else:
        page = 1
    first, last = (page - 1) * PAGE_SIZE, min(len(segments), page * PAGE_SIZE)
    if follow and current is not None and first <= current < last:
        scroll_to(f"task_play_{current}")
    st.session_state[_FOLLOWED_KEY] = moment

    previous: str | object | None = object()
    for i in range(first, last):
        seg = segments[i]
        if seg.speaker != previous:
            color = colors.get(seg.speaker or "", "#888")
            # HTML, not Markdown: no Markdown parser (and its autolinks) sees the name; html.escape keeps it text.
            name = html.escape(result.speaker_name(seg.speaker) or "Unknown")
            st.html(f"<span style='color:{color};font-weight:600'>{name}</span>")
            previous = seg.speaker
        play, text, edit = st.columns([1, 18, 1], vertical_alignment="top", gap="small")
        play.button(
            "▶", key=f"task_play_{i}", help=f"Play from {short_clock(seg.start)}", on_click=play_from,
            args=(seg.start,), type="tertiary",
        )  # fmt: skip
        when, words = short_clock(seg.start), segment_markdown(seg, mark)
        line = f":blue-background[**{when}**  {words}]" if i == current else f":gray[{when}]  {words}"
        if seg.edited:
            line += "  :orange-badge[✎ edited]"
        if seg.overlap:  # another speaker talks at the same time; the words are this speaker's
            line += f"  :violet-badge[⇄ with {plain(', '.join(result.speaker_name(s) for s in seg.overlap))}]"
        text.markdown(line)
        edit.button(
            "✎", key=f"task_edit_{i}", help="Correct the text or the speaker", on_click=open_editor, args=(i,),
            type="tertiary",
        )  # fmt: skip
        if st.session_state.get(EDITING_KEY) == i:
            render_segment_editor(task_id, i, machine, result, edits, repo)
