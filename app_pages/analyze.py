"""Analyze: upload recordings (one or several) or record in the browser, choose speaker options, submit.

One recording opens its task page. Several are listed here with their live progress; their ids
live in the URL (``?batch=id,id,...``) so a reload shows the same list. A browser recording is a
``vad_recording`` task: silence is trimmed before the analysis (``services.analysis.trim``).
"""

from datetime import datetime

import streamlit as st

from services.analysis.languages import choice_label, is_english_only, language_choices
from services.analysis.options import SPEAKER_LIMIT, AnalysisOptions, check_language_for_model
from services.errors import InvalidOptions
from services.jobs.submissions import ANALYZE, VAD_RECORDING, submit
from services.results.names import MAX_FIELD_LENGTH, parse_speaker_names
from services.runtime.context import get_context
from ui.format import plain
from ui.queue_view import render_batch
from ui.sign_in import gate

AUDIO_TYPES = [
    "wav",
    "flac",
    "mp3",
    "m4a",
    "aac",
    "ogg",
    "oga",
    "opus",
    "webm",
    "mp4",
    "mov",
    "mkv",
    "wma",
    "aif",
    "aiff",
]
UPLOAD, RECORD = "Upload files", "Record in the browser"
MAX_BATCH = 50

gate()
ctx = get_context()
st.title("Analyze a recording")
st.caption(
    "Upload interviews, meetings or calls, or record one here. You get the transcript split by speaker and a timeline."
)

batch = [task_id for task_id in st.query_params.get("batch", "").split(",") if task_id][:MAX_BATCH]
if batch:
    st.subheader("Submitted recordings")
    initial = [t for t in (ctx.repo.get(task_id) for task_id in batch) if t is not None]
    running = any(not t.is_final for t in initial)

    @st.fragment(run_every=ctx.settings.poll_interval_seconds if running else None)
    def _batch() -> None:
        tasks = [t for t in (ctx.repo.get(task_id) for task_id in batch) if t is not None]
        if running and all(t.is_final for t in tasks):
            st.rerun()  # all done: render once more, then stop polling
        render_batch(tasks)

    _batch()
    st.divider()

source = st.radio("Source", [UPLOAD, RECORD], horizontal=True, key="analyze_source", label_visibility="collapsed")
if source == UPLOAD:
    files = st.file_uploader(
        "Recordings",
        type=AUDIO_TYPES,
        accept_multiple_files=True,
        key="analyze_upload",
        help=(
            f"One or several files, each up to {ctx.settings.max_upload_mb} MB "
            f"and {ctx.settings.max_duration_minutes} minutes."
        ),
    )
    inputs = [(f.name, f) for f in files or []]
else:
    recording = st.audio_input("Record in the browser", key="analyze_record")
    st.caption(
        "Silence at the start and end and long pauses are cut before the analysis; times still refer to your recording."
    )
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H-%M-%S")
    inputs = [(f"Recording {stamp}.wav", recording)] if recording is not None else []
kind = ANALYZE if source == UPLOAD else VAD_RECORDING
if len(inputs) > MAX_BATCH:
    st.warning(f"Up to {MAX_BATCH} recordings go in at a time; the first {MAX_BATCH} will be analysed.")

mode = st.radio(
    "Speakers",
    ["Detect automatically", "I know how many", "Between…"],
    horizontal=True,
    key="analyze_speaker_mode",
)
options_input: dict[str, int | str] = {}
if mode == "I know how many":
    options_input["num_speakers"] = st.number_input(
        "Number of speakers", 1, SPEAKER_LIMIT, 2, key="analyze_num_speakers"
    )
elif mode == "Between…":
    low, high = st.columns(2)
    options_input["min_speakers"] = low.number_input("At least", 1, SPEAKER_LIMIT, 1, key="analyze_min_speakers")
    options_input["max_speakers"] = high.number_input("At most", 1, SPEAKER_LIMIT, 4, key="analyze_max_speakers")

english_only = is_english_only(ctx.settings.whisper_model_size)
options_input["language"] = st.selectbox(
    "Language",
    language_choices(),
    format_func=choice_label,
    key="analyze_language",
    help="Auto detects the language of each stretch of speech, so a recording may switch language. "
    "Type to search."
    + (
        f" The configured model ({ctx.settings.whisper_model_size}) knows only English: other languages need "
        "WHISPER_MODEL_SIZE=base (README, Languages)."
        if english_only
        else ""
    ),
)

names_input = st.text_input(
    "Speaker names (optional)",
    key="analyze_speaker_names",
    max_chars=MAX_FIELD_LENGTH,
    placeholder="Alice, Bob",
    help="Comma-separated, in the order the speakers are first heard: the first voice gets the first name. "
    "Extra names are ignored; speakers without a name keep SPEAKER_xx. The same names go with every file "
    "uploaded at once; you can change them on the task page.",
)

if st.button("Analyze", type="primary", disabled=not inputs, key="analyze_submit"):
    try:
        options = AnalysisOptions(**options_input)  # type: ignore[arg-type]
        check_language_for_model(options.language, ctx.settings.whisper_model_size)
        names = parse_speaker_names(names_input)
    except InvalidOptions as exc:
        st.error(plain(exc))
    else:
        submissions = [
            submit(
                filename=name,
                data=data,
                options=options,
                repo=ctx.repo,
                storage=ctx.storage,
                settings=ctx.settings,
                enqueue=ctx.queue.enqueuer(kind),
                kind=kind,
                speaker_names=names,
            )
            for name, data in inputs[:MAX_BATCH]
        ]
        if len(submissions) == 1:
            st.switch_page("app_pages/task.py", query_params={"task": submissions[0].task.id})
        st.query_params["batch"] = ",".join(s.task.id for s in submissions)
        st.rerun()
