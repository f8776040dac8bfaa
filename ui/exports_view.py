"""One download button per export format, with the analyst's names and corrections applied."""

from __future__ import annotations

from functools import partial

import streamlit as st

from services.results.exports import FORMATS, render
from services.schema import AnalysisResult


def render_downloads(result: AnalysisResult, stem: str) -> None:
    """Buttons labelled with the format (``SRT``, ``DOCX``...); a file is rendered when it is clicked."""
    st.caption("Every file uses the speaker names and corrections shown on this page.")
    mark = st.checkbox(
        "Mark unsure words as [word?] in TXT, MD and DOCX",
        key="task_export_mark_unsure",
        help="The words the recogniser was unsure of (highlighted in the transcript). JSON always has each "
        "word's probability.",
    )
    cols = st.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS.values(), strict=False):
        col.download_button(
            fmt.name.upper(),
            data=partial(render, result, fmt.name, stem, mark_unsure=mark),
            file_name=f"{stem}.{fmt.extension}",
            mime=fmt.mime,
            key=f"task_download_{fmt.name}",
            help=fmt.label,
            on_click="ignore",
            width="stretch",
        )
