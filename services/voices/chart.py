"""A voice across recordings, as a Plotly figure: talk time and share per recording over time.

Each point carries its task id (``customdata[0]``), so a click on it opens that recording's page
(``task_of``). Typed text (file names) goes through ``label``: Plotly renders tags in hover text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots


@dataclass(frozen=True)
class VoicePoint:
    """One recording of a voice."""

    heard_at: datetime
    talk_seconds: float
    share: float
    filename: str
    task_id: str | None


def label(text: str) -> str:
    """Typed text for a Plotly hover: escaped, so ``<a href>`` or ``<b>`` in a file name stays text."""
    return html.escape(text, quote=False)


def voice_figure(points: Sequence[VoicePoint], name: str) -> go.Figure:
    """Talk time (bars, minutes) and share of the recording's talk (line, %) per recording, by date."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    ordered = sorted(points, key=lambda p: p.heard_at)
    x = [p.heard_at for p in ordered]
    custom = [[p.task_id or "", label(p.filename)] for p in ordered]
    hover = "%{customdata[1]}<br>%{x|%Y-%m-%d %H:%M}<br>"
    fig.add_trace(
        go.Bar(
            x=x,
            y=[p.talk_seconds / 60 for p in ordered],
            name="talk time (min)",
            customdata=custom,
            hovertemplate=hover + "talks %{y:.1f} min<extra></extra>",
            marker_color="#4C78A8",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[100 * p.share for p in ordered],
            name="share of the talk (%)",
            mode="lines+markers",
            customdata=custom,
            hovertemplate=hover + "%{y:.0f} % of the talk<extra></extra>",
            marker={"size": 11, "color": "#F58518"},
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="minutes", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="% of the talk", secondary_y=True, range=[0, 100])
    fig.update_layout(
        title=label(f"{name} across recordings (click a point to open it)"),
        height=360,
        margin={"l": 40, "r": 40, "t": 50, "b": 30},
        legend={"orientation": "h", "y": -0.15},
        clickmode="event+select",
    )
    return fig


def task_of(points: list[dict[str, Any]]) -> str | None:
    """The task id of the first clicked point of ``voice_figure`` (None: none, or its task was deleted)."""
    for point in points:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], str) and data[0]:
            return data[0]
    return None
