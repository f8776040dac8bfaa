"""Per-speaker statistics on the task page: a table, a chart and a CSV download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.results.charts import speaker_colors, stats_figure
from services.results.stats import COLUMNS, conversation_stats, stats_csv, stats_rows
from services.schema import AnalysisResult
from ui.format import duration_label


def render_stats(result: AnalysisResult, stem: str) -> None:
    stats = conversation_stats(result)
    cols = st.columns(3)
    cols[0].metric("Speech", duration_label(stats.speech))
    cols[1].metric("Overlapping speech", duration_label(stats.overlap))
    cols[2].metric("Silence", duration_label(max(0.0, stats.duration - stats.speech)))
    shown = [(c, label) for c, label in COLUMNS if c != "speaker_id"]  # the name says who; the CSV keeps the id
    table = pd.DataFrame(stats_rows(stats), columns=[c for c, _ in shown]).rename(columns=dict(shown))
    # Seconds, shares and rates always with one decimal, so a column reads evenly ("4.0", not "4").
    decimals = {
        label: st.column_config.NumberColumn(format="%.1f")
        for c, label in shown
        if c.endswith(("_s", "_percent", "_minute"))
    }
    st.dataframe(table, hide_index=True, key="task_stats_table", width="stretch", column_config=decimals)
    st.plotly_chart(stats_figure(stats, speaker_colors(result)), key="task_stats_chart", width="stretch")
    st.caption(
        "Share: of all talk time. Turns: how often a speaker takes the floor (another speaker starting ends a turn). "
        "Overlap: seconds talking while someone else talks. Overlaps: times a speaker starts while someone else is "
        f"talking; an interruption is such a start after which the other speaker stops within {stats.window:g} s "
        "while this one goes on."
    )
    st.download_button(
        "Statistics CSV", data=stats_csv(stats), file_name=f"{stem}-statistics.csv", mime="text/csv",
        key="task_stats_csv", on_click="ignore",
    )  # fmt: skip
