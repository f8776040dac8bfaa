"""Unsure words on the task page: a toggle, and the transcript's text with those words highlighted.

Which words are unsure, and why the threshold is what it is: ``services.results.confidence``. The text
stays plain: every piece goes through ``ui.format.plain``, and only the highlight around a word is markup.
"""

from __future__ import annotations

import streamlit as st

from services.results.confidence import UNSURE_BELOW, pieces, unsure_count
from services.schema import AnalysisResult, Segment
from ui.format import plain

TOGGLE_KEY = "task_mark_unsure"


def render_unsure_toggle(result: AnalysisResult) -> bool:
    """The "Mark unsure words" toggle (on by default); False, and no toggle, when no word is unsure."""
    count = unsure_count(result)
    if not count:
        return False
    return st.toggle(
        f"Mark unsure words ({count})",
        value=True,
        key=TOGGLE_KEY,
        help=f"Highlights the words the recogniser gave a probability below {UNSURE_BELOW:.0%}: check them "
        "against the recording. Text you corrected carries no marks.",
    )


def segment_markdown(segment: Segment, mark: bool) -> str:
    """The segment's text as Markdown that shows it literally, its unsure words highlighted when ``mark``."""
    parts = pieces(segment) if mark else ()
    if not any(p.unsure for p in parts):
        return plain(segment.text)
    return "".join(f":orange-background[{plain(p.text)}]" if p.unsure else plain(p.text) for p in parts)
