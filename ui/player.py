"""The recording player of the task page, and the moment it plays from.

The moment lives in the URL (``?task=ID&t=12.3``), so a link from a search result or a shared
link opens the task at that moment. Choosing a segment (its ▶ button) or clicking a bar of the
timeline writes the moment into the URL and starts the player there.
"""

from __future__ import annotations

import math
import mimetypes
from typing import Sequence

import streamlit as st

from services.exports import short_clock
from services.schema import Segment
from services.storage import Storage

AUTOPLAY_KEY = "task_autoplay"


def moment_from_url() -> float | None:
    """``?t=`` as seconds (None when absent or not a number)."""
    raw = st.query_params.get("t")
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def play_from(seconds: float) -> None:
    """Callback: play the recording from ``seconds`` (and keep the moment in the URL)."""
    st.query_params["t"] = f"{max(0.0, seconds):.2f}".rstrip("0").rstrip(".")
    st.session_state[AUTOPLAY_KEY] = True


def segment_at(segments: Sequence[Segment], seconds: float | None) -> int | None:
    """The index of the segment spoken at ``seconds``, else of the next one, else of the last one."""
    if seconds is None or not segments:
        return None
    for i, segment in enumerate(segments):
        if seconds <= segment.end:
            return i
    return len(segments) - 1


@st.cache_data(max_entries=2, show_spinner=False)
def _audio_bytes(key: str, _storage: Storage) -> bytes:
    # Read now: a remote storage's local copy is gone after the block.
    with _storage.open_local(key) as local:
        return local.read_bytes()


def render_player(stored_path: str | None, filename: str, storage: Storage, moment: float | None) -> None:
    """The audio player, started at ``moment``; says so when the recording is no longer stored."""
    if not stored_path or not storage.exists(stored_path):
        st.caption("The recording is no longer stored, so it cannot be played.")
        return
    mime = mimetypes.guess_type(filename)[0] or "audio/wav"
    start = int(moment or 0)
    # A new start_time is a new element: the player re-renders and seeks there.
    st.audio(_audio_bytes(stored_path, storage), format=mime, start_time=start, autoplay=bool(st.session_state.get(AUTOPLAY_KEY)))
    if moment is not None:
        st.caption(f"Playing from {short_clock(moment)}. Choose ▶ beside a segment, or click the timeline, to jump.")
    else:
        st.caption("Choose ▶ beside a segment, or click a bar of the timeline, to play from there.")


def scroll_to(key: str) -> None:
    """Scroll the browser to the element with widget key ``key`` once it is on the page."""
    selector = f".st-key-{key}"
    st.html(
        "<script>(function(){let n=0;const go=()=>{const el=document.querySelector('" + selector + "');"
        "if(el){el.scrollIntoView({block:'center',behavior:'smooth'});}else if(n++<40){setTimeout(go,150);}};go();})();"
        "</script>",
        unsafe_allow_javascript=True,
    )
