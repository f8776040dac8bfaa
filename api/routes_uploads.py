"""POST /analyze and POST /api/recordings/vad: accept a recording, answer at once with its task.

Both go through ``services.jobs.submissions.submit``, exactly like the Analyze page: the same storage,
the same task table, the same rule that a file we cannot analyse still gets a task, ``failed``
with the reason. The HTTP status tells a script what happened without parsing the message:

* 202: queued (also when the queue is briefly unreachable: the row stays queued and is re-sent).
* 415 (not audio, no audio track, empty), 413 (over MAX_UPLOAD_MB), 422 (over
  MAX_DURATION_MINUTES): the task was created and failed at once. The body is the same as for
  202, with ``status: "failed"``, the ``task_id`` and the reason in ``detail``; the task stays in
  the history like any other failed task.
* 422 for contradicting speaker options, a speaker name over the limit, or a ``callback_url`` that is
  refused (``services.jobs.callback_url``); no task: nothing was wrong with the file.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator, Field

from api.deps import app_context
from api.errors import error_responses, status_for
from api.params import whole_number
from api.schemas import ErrorOut, SubmissionOut
from services.analysis.options import SPEAKER_LIMIT, AnalysisOptions, check_language_for_model
from services.jobs.callback_url import check_callback_url
from services.jobs.submissions import ANALYZE, VAD_RECORDING, submit
from services.results.names import MAX_FIELD_LENGTH, MAX_NAME_LENGTH, MAX_NAMES, Names, parse_speaker_names
from services.runtime.context import AppContext

router = APIRouter(tags=["uploads"])

Upload = Annotated[
    UploadFile, File(description="the recording: wav, flac, mp3, m4a, ogg, opus, webm, or a video with sound")
]


def _unset(value: Any) -> Any:
    # A form cannot carry null: an empty field (an HTML number input left blank) or "null" means "not set".
    return None if isinstance(value, str) and value.strip().lower() in ("", "null") else whole_number(value)


CallbackUrl = Annotated[
    str | None,
    Form(
        max_length=2048,
        description="http(s) URL to POST the task's status JSON to when it ends (completed, failed or "
        "cancelled); signed with WEBHOOK_SECRET when set. Only hosts in WEBHOOK_ALLOWED_HOSTS when set; "
        "addresses inside this network only when listed there. A refused URL is a 422.",
    ),
]
SpeakerCount = Annotated[Annotated[int, Field(ge=1, le=SPEAKER_LIMIT)] | None, BeforeValidator(_unset), Form()]
Language = Annotated[
    str | None,
    Form(
        max_length=40,
        description="the language spoken: a Whisper code (`en`, `de`, `fr`, ...) or its English name; "
        "empty or `auto` to detect it (per stretch of speech: a recording may switch language). "
        "Another language than English needs WHISPER_MODEL_SIZE=base; an unknown one is a 422.",
    ),
]

# A failed-at-upload task answers with its SubmissionOut; a request refused before that with an ErrorOut.
RESPONSES: dict[int | str, dict[str, object]] = {
    202: {"description": "Queued: poll `poll_url` until `status` is `completed` or `failed`"},
    **error_responses(400, 401, 411, 503),
    413: {
        "model": SubmissionOut | ErrorOut,
        "description": "Larger than MAX_UPLOAD_MB (a failed task when the file was received)",
    },
    415: {
        "model": SubmissionOut,
        "description": "Not an audio file we can read: the task was created and failed at once",
    },
    422: {
        "model": SubmissionOut | ErrorOut,
        "description": "Longer than MAX_DURATION_MINUTES (a failed task), or invalid parameters",
    },
}


def speaker_options(
    num_speakers: SpeakerCount = None,
    min_speakers: SpeakerCount = None,
    max_speakers: SpeakerCount = None,
    language: Language = None,
) -> AnalysisOptions:
    """The speaker and language options of the form (all optional); contradicting or unknown ones are a 422."""
    return AnalysisOptions(
        num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers, language=language
    )


def speaker_names(
    speaker_names: Annotated[
        str | None,
        Form(
            max_length=MAX_FIELD_LENGTH,
            description="names in order of first appearance, comma-separated (`Alice, Bob`): the first speaker "
            "heard gets the first name; names beyond the speakers found are ignored, speakers without one keep "
            f"SPEAKER_xx; at most {MAX_NAMES} names of {MAX_NAME_LENGTH} characters",
        ),
    ] = None,
) -> Names:
    """The optional "Speaker names" field; a name over the length limit is a 422."""
    return parse_speaker_names(speaker_names)


def _submit(
    request: Request,
    ctx: AppContext,
    file: UploadFile,
    options: AnalysisOptions,
    kind: str,
    callback_url: str | None,
    names: Names = (),
) -> JSONResponse:
    check_language_for_model(options.language, ctx.settings.whisper_model_size)  # InvalidOptions: 422, no task
    if callback_url:
        check_callback_url(callback_url, ctx.settings)  # InvalidCallbackUrl: 422 before any task exists
    submission = submit(
        filename=file.filename or "recording",
        data=file.file,  # spooled to disk by the multipart parser; streamed on to the storage in chunks
        options=options,
        repo=ctx.repo,
        storage=ctx.storage,
        settings=ctx.settings,
        enqueue=ctx.queue.enqueuer(kind),
        kind=kind,
        speaker_names=names,
    )
    task = submission.task
    if callback_url:
        ctx.webhooks.register(task.id, callback_url)  # posted once the task ends (api.webhooks)
    body = SubmissionOut(
        status="failed" if submission.error else "queued",
        task_id=task.id,
        recording_id=task.recording.id,
        filename=task.recording.filename,
        message=submission.message,
        poll_url=f"{request.scope.get('root_path', '')}/api/tasks/{task.id}",
        detail=str(submission.error) if submission.error else None,
    )
    status = status_for(submission.error) if submission.error else 202
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


@router.post("/analyze", status_code=202, response_model=SubmissionOut, responses=RESPONSES)
def analyze(
    request: Request,
    file: Upload,
    options: AnalysisOptions = Depends(speaker_options),
    names: Names = Depends(speaker_names),
    ctx: AppContext = Depends(app_context),
    callback_url: CallbackUrl = None,
) -> JSONResponse:
    """Upload a recording for transcription and speaker diarization; returns its task at once."""
    return _submit(request, ctx, file, options, ANALYZE, callback_url, names)


@router.post("/api/recordings/vad", status_code=202, response_model=SubmissionOut, responses=RESPONSES)
def vad_recording(
    request: Request,
    file: Upload,
    options: AnalysisOptions = Depends(speaker_options),
    names: Names = Depends(speaker_names),
    ctx: AppContext = Depends(app_context),
    callback_url: CallbackUrl = None,
) -> JSONResponse:
    """Upload a browser or microphone recording: leading and trailing silence and pauses of 2 s or more
    are cut (Silero VAD) before the same analysis. Times in the result refer to the original recording."""
    return _submit(request, ctx, file, options, VAD_RECORDING, callback_url, names)
