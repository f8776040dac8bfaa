"""Analyze: upload a recording, choose speaker options, submit, and land on its task page."""

import streamlit as st

from services.context import get_context
from services.errors import InvalidOptions
from services.pipeline import AnalysisOptions
from services.submissions import submit
from worker.celery_app import enqueue

AUDIO_TYPES = ["wav", "flac", "mp3", "m4a", "aac", "ogg", "oga", "opus", "webm", "mp4", "mov", "mkv", "wma", "aif", "aiff"]

ctx = get_context()
st.title("Analyze a recording")
st.caption("Upload an interview, meeting or call. You get the transcript split by speaker and a timeline.")

upload = st.file_uploader(
    "Recording",
    type=AUDIO_TYPES,
    key="analyze_upload",
    help=f"Up to {ctx.settings.max_upload_mb} MB and {ctx.settings.max_duration_minutes} minutes.",
)

mode = st.radio(
    "Speakers",
    ["Detect automatically", "I know how many", "Between…"],
    horizontal=True,
    key="analyze_speaker_mode",
)
options_input: dict[str, int] = {}
if mode == "I know how many":
    options_input["num_speakers"] = st.number_input("Number of speakers", 1, 20, 2, key="analyze_num_speakers")
elif mode == "Between…":
    low, high = st.columns(2)
    options_input["min_speakers"] = low.number_input("At least", 1, 20, 1, key="analyze_min_speakers")
    options_input["max_speakers"] = high.number_input("At most", 1, 20, 4, key="analyze_max_speakers")

if st.button("Analyze", type="primary", disabled=upload is None, key="analyze_submit"):
    try:
        options = AnalysisOptions(**options_input)
    except InvalidOptions as exc:
        st.error(str(exc))
    else:
        submission = submit(
            filename=upload.name,
            data=upload,
            options=options,
            repo=ctx.repo,
            storage=ctx.storage,
            settings=ctx.settings,
            enqueue=enqueue,
        )
        st.switch_page("pages/task.py", query_params={"task": submission.task.id})
