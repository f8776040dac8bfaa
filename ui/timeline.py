"""The speaker timeline of the task page: clicking a bar plays the recording from there."""

from __future__ import annotations

import streamlit as st

from services.results.charts import moment_of, timeline_figure
from services.schema import AnalysisResult
from ui.player import play_from

TIMELINE_KEY = "task_timeline"


def render_timeline(result: AnalysisResult) -> None:
    st.plotly_chart(
        timeline_figure(result),
        key=TIMELINE_KEY,
        width="stretch",
        on_select=_clicked,
        selection_mode="points",
    )


def _clicked() -> None:
    state = st.session_state.get(TIMELINE_KEY)
    if isinstance(state, dict):
        points = state.get("selection", {}).get("points", [])
    else:
        points = state.selection.points if state is not None else []
    moment = moment_of(list(points or []))
    if moment is not None:
        play_from(moment)
