"""The follow-along player of the task page: a small Streamlit component around an ``<audio>`` element.

While the recording plays, the segment being spoken is highlighted in a transcript pane and kept in
view, and a compact timeline shows the playhead; speed from half to twice; Space plays or pauses and ←/→ skip
5 s (anywhere on the page but in a field or on a button). Clicking a line or the timeline seeks.
``st.audio`` cannot report its time, hence the component: ``ui/components/follow_along/`` (a
hand-written page and script, no build step, nothing fetched from elsewhere). The Plotly timeline
below stays as it is, for exploring.

The page tells the component where to play from with a *seek* number that grows each time a
person chooses a moment (▶ beside a segment, a bar of the Plotly timeline): other reruns (a
rename, a correction) leave it alone, so playback goes on undisturbed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
import streamlit.components.v1 as components
from streamlit import runtime

from services.results.follow_along import follow_along_data
from services.schema import AnalysisResult

FOLDER = Path(__file__).resolve().parent / "components" / "follow_along"
KEY = "task_follow_along"
SEEK_KEY = "task_seek"
"""How many times a person chose a moment in this session: a new number makes the player seek."""


def request_seek() -> None:
    """Make the player seek to the page's moment at the next run (called with ``ui.player.play_from``)."""
    st.session_state[SEEK_KEY] = int(st.session_state.get(SEEK_KEY, 0)) + 1


def media_url(data: bytes, mime: str, task_id: str) -> str:
    """A URL of Streamlit's own media endpoint for ``data`` (what ``st.audio`` serves bytes from,
    with range requests); the component turns it into an address under the app's base path.

    Each run registers the file again under the same coordinates, so Streamlit keeps it while the
    page shows it and drops it after (as it does for ``st.audio``).
    """
    if not runtime.exists():  # a script run outside a server (tests of the page): nothing to serve
        return ""
    return runtime.get_instance().media_file_mgr.add(data, mime, f"follow_along:{task_id}")


def render_follow_along(
    task_id: str, source: str, result: AnalysisResult, moment: float | None, autoplay: bool
) -> None:
    """The player for ``task_id``'s recording at ``source`` (a URL), seeking to ``moment`` when one was chosen.

    Args:
        task_id: the task; a new one (another page) loads a new recording.
        source: an absolute URL (the API's signed link) or a path of Streamlit's media endpoint.
        result: the result as shown (corrections applied): the transcript pane and timeline.
        moment: seconds from ``?t=`` or a ▶, or None.
        autoplay: play after seeking (a person chose the moment; a link alone does not start playing).
    """
    args: dict[str, Any] = {
        "task": task_id,
        "src": source,
        "data": follow_along_data(result),
        "start": moment,
        "seek": int(st.session_state.get(SEEK_KEY, 0)),
        "autoplay": autoplay,
    }
    component = components.declare_component("follow_along", path=str(FOLDER))  # per run: registered at runtime
    component(**args, key=KEY, default=None)
