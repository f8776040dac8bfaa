"""Plotly figures of a result: the speaker timeline, talk time and per-speaker statistics."""

from __future__ import annotations

import html
import textwrap
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from services.analysis.turns import overlap_spans
from services.results.exports import short_clock
from services.results.stats import ConversationStats
from services.schema import AnalysisResult

OVERLAP_ROW = "Overlap"
OVERLAP_COLOR = "#D62728"
PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC")


def speaker_colors(result: AnalysisResult) -> dict[str, str]:
    """A stable color per speaker id, in order of first appearance."""
    return {s.id: PALETTE[i % len(PALETTE)] for i, s in enumerate(result.speakers)}


def label(text: str) -> str:
    """Typed text for a Plotly label, hover or axis: Plotly renders ``<a href>``, ``<b>``... as HTML."""
    return html.escape(text, quote=False)


def _hover(text: str) -> str:
    return "<br>".join(label(line) for line in textwrap.wrap(text, 60)[:6]) or "(no words)"


TURN_BAR, SEGMENT_BAR, OVERLAP_BAR = 0.8, 0.45, 0.6
"""Bar thicknesses (share of a row): turns behind, the segments with words in front, overlaps between."""
TURN_OPACITY = 0.3
FIGURE_BASE_PX, ROW_PX = 140, 48
"""The timeline's height: room for the axis and range slider, plus one row per speaker."""
STATS_BASE_PX, STATS_ROW_PX = 120, 40
"""The statistics figure's height: its titles, plus one row per speaker."""


def _bars(name: str, row: str, spans: list[tuple[float, float]], width: float, hover: str, **trace: Any) -> go.Bar:
    """Horizontal bars in ``row`` for ``(start, end)`` spans; ``customdata[0]`` is each bar's start."""
    trace.setdefault("customdata", [[start, short_clock(start), short_clock(end)] for start, end in spans])
    return go.Bar(
        name=name,
        y=[row] * len(spans),
        x=[end - start for start, end in spans],
        base=[start for start, _ in spans],
        width=width,
        orientation="h",
        hovertemplate=hover,
        **trace,
    )


def timeline_figure(result: AnalysisResult) -> go.Figure:
    """One row per speaker: their speaker turns (light) and transcript segments (solid; hover shows
    the words), and an "Overlap" row where two or more speakers talk at once. Zoom by dragging,
    pan with the range slider below.

    Every bar's ``customdata[0]`` is its start in seconds, so a click (a selected point) tells
    where to play from (``moment_of``).
    """
    colors = speaker_colors(result)
    fig = go.Figure()
    rows = [label(s.name) for s in result.speakers]
    for speaker in result.speakers:
        row = label(speaker.name)
        turns = [(t.start, t.end) for t in result.turns if t.speaker == speaker.id]
        marker = dict(color=colors[speaker.id], opacity=TURN_OPACITY)
        hover = "<b>%{y}</b> speaking %{customdata[1]}–%{customdata[2]}<extra></extra>"
        fig.add_trace(_bars(f"{row} (speaking)", row, turns, TURN_BAR, hover, marker=marker))
        segs = [s for s in result.segments if s.speaker == speaker.id]
        data = [[s.start, short_clock(s.start), short_clock(s.end), _hover(s.text)] for s in segs]
        hover = "<b>%{y}</b> %{customdata[1]}–%{customdata[2]}<br>%{customdata[3]}<extra></extra>"
        spans = [(s.start, s.end) for s in segs]
        fig.add_trace(_bars(row, row, spans, SEGMENT_BAR, hover, marker_color=colors[speaker.id], customdata=data))
    overlaps = overlap_spans(result.turns)
    if overlaps:
        rows.append(OVERLAP_ROW)
        hover = "Overlapping speech %{customdata[1]}–%{customdata[2]}<extra></extra>"
        fig.add_trace(_bars(OVERLAP_ROW, OVERLAP_ROW, overlaps, OVERLAP_BAR, hover, marker_color=OVERLAP_COLOR))
    fig.update_layout(
        barmode="overlay",
        height=FIGURE_BASE_PX + ROW_PX * max(1, len(rows)),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="time (s)", range=[0, max(result.duration, 1.0)], rangeslider=dict(visible=True)),
        yaxis=dict(autorange="reversed", title=None, categoryorder="array", categoryarray=rows, fixedrange=True),
        showlegend=False,
        title=dict(text="Who spoke when", x=0, font=dict(size=14)),
        clickmode="event+select",
        dragmode="zoom",
    )
    return fig


def moment_of(points: list[dict[str, Any]]) -> float | None:
    """The start (seconds) of the first clicked bar of ``timeline_figure``, from a selection's points."""
    for point in points:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], (int, float)):
            return float(data[0])
    return None


def stats_figure(stats: ConversationStats, colors: dict[str, str]) -> go.Figure:
    """Share of talk time, turns and interruptions per speaker, side by side."""
    names = [label(s.name) for s in stats.speakers]
    marker = [colors.get(s.speaker_id, "#888") for s in stats.speakers]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Share of talk time (%)", "Turns", "Interruptions made"))
    for col, values, fmt in (
        (1, [100 * s.share for s in stats.speakers], "%{x:.1f} %"),
        (2, [s.turns for s in stats.speakers], "%{x} turns"),
        (3, [s.interruptions for s in stats.speakers], "%{x} interruptions"),
    ):
        fig.add_trace(
            go.Bar(
                x=values, y=names, orientation="h", marker_color=marker, hovertemplate=f"%{{y}}: {fmt}<extra></extra>"
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_yaxes(showticklabels=False, col=2)
    fig.update_yaxes(showticklabels=False, col=3)
    fig.update_xaxes(rangemode="tozero")
    if not any(s.interruptions for s in stats.speakers):
        # An empty panel would get an axis from -1 to 1; say what it means instead.
        fig.update_xaxes(range=[0, 1], dtick=1, row=1, col=3)
        fig.add_annotation(text="none", showarrow=False, x=0.5, y=0.5, xref="x3 domain", yref="y3 domain")
    fig.update_layout(
        height=STATS_BASE_PX + STATS_ROW_PX * max(1, len(names)),
        margin=dict(l=10, r=10, t=40, b=10),
        showlegend=False,
    )
    return fig
