"""Plotly figures of a result: the speaker timeline and talk time."""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

from services.exports import short_clock
from services.schema import AnalysisResult

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC")


def speaker_colors(result: AnalysisResult) -> dict[str, str]:
    """A stable color per speaker id, in order of first appearance."""
    return {s.id: PALETTE[i % len(PALETTE)] for i, s in enumerate(result.speakers)}


def _hover(text: str) -> str:
    return "<br>".join(textwrap.wrap(text, 60)[:6]) or "(no words)"


def timeline_figure(result: AnalysisResult) -> go.Figure:
    """One row per speaker, one bar per transcript segment; hover shows the words."""
    colors = speaker_colors(result)
    fig = go.Figure()
    for speaker in result.speakers:
        segs = [s for s in result.segments if s.speaker == speaker.id]
        fig.add_trace(
            go.Bar(
                name=speaker.name,
                y=[speaker.name] * len(segs),
                x=[s.end - s.start for s in segs],
                base=[s.start for s in segs],
                orientation="h",
                marker_color=colors[speaker.id],
                customdata=[[short_clock(s.start), short_clock(s.end), _hover(s.text)] for s in segs],
                hovertemplate="<b>%{y}</b> %{customdata[0]}–%{customdata[1]}<br>%{customdata[2]}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="overlay",
        height=120 + 48 * max(1, len(result.speakers)),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="time (s)", range=[0, max(result.duration, 1.0)], rangeslider=dict(visible=True)),
        yaxis=dict(autorange="reversed", title=None),
        showlegend=False,
        title=dict(text="Who spoke when", x=0, font=dict(size=14)),
    )
    return fig


def talk_time_figure(result: AnalysisResult) -> go.Figure:
    """Talk time per speaker, longest first."""
    colors = speaker_colors(result)
    speakers = sorted(result.speakers, key=lambda s: s.talk_time, reverse=True)
    fig = go.Figure(
        go.Bar(
            x=[s.talk_time for s in speakers],
            y=[s.name for s in speakers],
            orientation="h",
            marker_color=[colors[s.id] for s in speakers],
            text=[short_clock(s.talk_time) for s in speakers],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f} s<extra></extra>",
        )
    )
    fig.update_layout(
        height=100 + 40 * max(1, len(speakers)),
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="seconds"),
        yaxis=dict(autorange="reversed"),
        title=dict(text="Talk time", x=0, font=dict(size=14)),
    )
    return fig
