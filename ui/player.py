"""The recording player of the task page, and the moment it plays from.

The moment lives in the URL (``?task=ID&t=12.3``), so a link from a search result or a shared
link opens the task at that moment. Choosing a segment (its ▶ button) or clicking a bar of the
timeline writes the moment into the URL and starts the player there. The player is the
follow-along component (``ui.follow_along``): the segment being spoken is highlighted as it plays.
"""

from __future__ import annotations

import math
import mimetypes
from collections.abc import Sequence

import streamlit as st

from services.config import Settings
from services.results.exports import short_clock
from services.schema import AnalysisResult, Segment
from services.storage.files import LocalStorage, Storage
from services.storage.media_links import audio_link
from ui.follow_along import media_url, render_follow_along, request_seek

AUTOPLAY_KEY = "task_autoplay"
PENDING_KEY = "task_play_at"


def moment_from_url() -> float | None:
    """``?t=`` as seconds (None when absent or not a number)."""
    raw = st.query_params.get("t")
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def play_from(seconds: float) -> None:
    """Callback: play the recording from ``seconds``; ``current_moment`` puts it into the URL."""
    st.session_state[PENDING_KEY] = max(0.0, seconds)
    st.session_state[AUTOPLAY_KEY] = True
    request_seek()


def current_moment() -> float | None:
    """The moment to play from: one just chosen (written into the URL now), else ``?t=``.

    Query parameters set inside a callback do not reach the browser's address bar, so the
    callback leaves the moment in the session and the page body writes it here.
    """
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending is not None:
        st.query_params["t"] = f"{pending:.2f}".rstrip("0").rstrip(".")
    return moment_from_url()


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


def player_source(task_id: str, stored_path: str, storage: Storage, settings: Settings, mime: str) -> str:
    """Where the player streams the recording from: a signed link to the API, which streams the file
    from disk with range requests (the web process holds none of it), when the API's address and a
    link secret are set and the recording is on this disk (``make run`` sets both); otherwise
    Streamlit's own media endpoint with the recording's bytes (no API process needed)."""
    if settings.public_api_url and settings.media_url_secret and isinstance(storage, LocalStorage):
        return audio_link(settings.public_api_url, task_id, settings.media_url_secret)
    return media_url(_audio_bytes(stored_path, storage), mime, task_id)


def render_player(
    task_id: str,
    stored_path: str | None,
    filename: str,
    storage: Storage,
    settings: Settings,
    moment: float | None,
    result: AnalysisResult,
) -> None:
    """The follow-along player, at ``moment``; says so when the recording is no longer stored."""
    if not stored_path or not storage.exists(stored_path):
        st.caption("The recording is no longer stored, so it cannot be played.")
        return
    mime = mimetypes.guess_type(filename)[0] or "audio/wav"
    autoplay = bool(st.session_state.get(AUTOPLAY_KEY))  # only after a person chose a moment
    source = player_source(task_id, stored_path, storage, settings, mime)
    render_follow_along(task_id, source, result, moment, autoplay)
    if moment is not None:
        st.caption(f"Playing from {short_clock(moment)}. Choose ▶ beside a segment, or click the timeline, to jump.")
    else:
        st.caption("Choose ▶ beside a segment, or click a bar of the timeline, to play from there.")


def scroll_to(key: str) -> None:
    """Scroll the browser to the element with widget key ``key`` once it is on the page.

    (No ``<`` in the script: the HTML sanitizer drops a script whose text looks like a tag.)
    """
    selector = f".st-key-{key}"
    st.html(
        "<script>(function(){let n=0;const go=()=>{const el=document.querySelector('" + selector + "');"
        "if(el){el.scrollIntoView({block:'center',behavior:'smooth'});}else if(40>n++){setTimeout(go,150);}};go();})();"
        "</script>",
        unsafe_allow_javascript=True,
    )
