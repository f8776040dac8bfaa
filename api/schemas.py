"""What the API returns, as pydantic models (they are also the OpenAPI schema clients read)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.results.edits import Edits, apply_edits
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.store.task_views import TaskView
from services.store.voices_repo import VoiceLink

Status = Literal["queued", "processing", "completed", "failed", "cancelled"]


class ErrorOut(BaseModel):
    """Every error this API answers with has a ``detail`` a person can read."""

    detail: str
    errors: list[dict[str, Any]] | None = Field(default=None, description="on 422: each invalid parameter")


class SubmissionOut(BaseModel):
    """The answer to an upload: the task it created, and where to poll it."""

    status: Literal["queued", "failed"]
    task_id: str
    recording_id: str
    filename: str
    message: str = Field(description="what happens next, or why the task failed at once")
    poll_url: str = Field(description="GET this for the task's progress and result")
    detail: str | None = Field(default=None, description="on a failed upload: the reason (same as message)")


class WordOut(BaseModel):
    start: float
    end: float
    word: str
    probability: float


class SegmentOut(BaseModel):
    start: float
    end: float
    speaker: str | None
    text: str
    words: list[WordOut] = []
    edited: bool = Field(
        default=False, description="in `edited_result`: an analyst corrected this segment's text or speaker"
    )
    overlap: list[str] = Field(
        default=[], description="other speakers talking during this segment (its words are the dominant speaker's)"
    )
    language: str | None = Field(
        default=None, description="the Whisper code of the language this segment was transcribed in (`en`, `de`)"
    )


class SpeakerOut(BaseModel):
    id: str
    name: str
    talk_time: float = Field(description="seconds this speaker talks")
    voice_id: str | None = Field(
        default=None, description="the voice of the library this speaker is (confirmed) or may be (suggested)"
    )
    suggested_name: str | None = Field(
        default=None,
        description="while a voice is only suggested (not yet confirmed): its name, e.g. for 'Alice? (similar voice)'",
    )
    similarity: float | None = Field(
        default=None, description="cosine similarity of this speaker's voice with the suggested voice (0..1)"
    )


class TurnOut(BaseModel):
    start: float
    end: float
    speaker: str


class ResultOut(BaseModel):
    """The one result schema (``services.schema.AnalysisResult``): who said what, when.

    Times are seconds into the recording.
    """

    model_config = ConfigDict(extra="allow")

    duration: float
    language: str
    model: str
    speakers: list[SpeakerOut]
    segments: list[SegmentOut]
    turns: list[TurnOut] = []
    text: str
    timings: dict[str, float] = {}
    languages: list[str] = Field(default=[], description="the languages of the segments, in order of appearance")
    detected_language: str | None = Field(
        default=None,
        description="a language detection heard that the model could not transcribe (an English-only model "
        "on German speech), or 'und' (undetermined) when no multilingual model listened and the English-only "
        "model's words gave another language away; the task page shows a notice",
    )


class MatchOut(BaseModel):
    """The transcript segment a search found (``GET /api/tasks?q=...``)."""

    start: float = Field(description="seconds into the recording where the segment starts")
    end: float
    speaker: str | None
    snippet: str = Field(description="the segment's text around the match")
    matched: list[str] = Field(description="the parts of the snippet that matched, in order")


class TaskSummaryOut(BaseModel):
    """A task without its result (lists)."""

    task_id: str
    recording_id: str
    filename: str
    kind: str
    status: Status
    progress: int = Field(ge=0, le=100)
    stage: str
    error: str | None
    duration: float | None = Field(description="the recording's length in seconds, when known")
    num_speakers: int | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    match: MatchOut | None = Field(default=None, description="only when searching (q): the segment that matched")

    @classmethod
    def of(cls, task: TaskView, match: MatchOut | None = None) -> TaskSummaryOut:
        return cls(**_summary(task), match=match)


class TaskOut(TaskSummaryOut):
    """A task with its result (``null`` until it has completed)."""

    result: ResultOut | None = Field(description="the machine's result, exactly as the analysis produced it")
    edited_result: ResultOut | None = Field(
        default=None,
        description="the result as analysts corrected it on the task page: speaker names, merged speakers, "
        "corrected segments (`edited: true`); the same as `result` with names when nothing was changed. "
        "This is what the task page and the exports show.",
    )

    @classmethod
    def with_result(
        cls, task: TaskView, edits: Edits | None = None, links: dict[str, VoiceLink] | None = None
    ) -> TaskOut:
        """The task with its result, its analysts' ``edits`` and its speakers' voice ``links`` (by speaker id)."""
        result = edited = None
        if task.result is not None:
            result = ResultOut.model_validate(_with_voices(task.result, links or {}))
            edited = ResultOut.model_validate(
                _with_voices(
                    apply_edits(AnalysisResult.from_dict(task.result), edits or Edits()).to_dict(), links or {}
                )
            )
        return cls(**_summary(task), result=result, edited_result=edited)

    @classmethod
    def full(cls, task: TaskView, ctx: AppContext) -> TaskOut:
        """The task as ``GET /api/tasks/{id}`` answers it: edits and voice links read from ``ctx``."""
        if task.result is None:
            return cls.with_result(task)
        return cls.with_result(task, ctx.edits.load(task.id), ctx.voices.links(task.id) if ctx.voices.enabled else {})


def _with_voices(result: dict[str, Any], links: dict[str, VoiceLink]) -> dict[str, Any]:
    """``result`` with each linked speaker's ``voice_id``, ``suggested_name`` (while open) and ``similarity``."""
    if not links:
        return result
    speakers = []
    for speaker in result.get("speakers") or ():
        link = links.get(speaker.get("id"))
        if link is not None:
            speaker = dict(
                speaker,
                voice_id=link.voice_id,
                suggested_name=link.name if link.open else None,
                similarity=link.similarity,
            )
        speakers.append(speaker)
    return dict(result, speakers=speakers)


class TaskPageOut(BaseModel):
    items: list[TaskSummaryOut]
    total: int = Field(description="tasks matching the filter (with q: matching segments, counted up to 1001)")
    limit: int
    offset: int


def _summary(task: TaskView) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "recording_id": task.recording.id,
        "filename": task.recording.filename,
        "kind": task.kind,
        "status": task.status,
        "progress": task.progress,
        "stage": task.stage,
        "error": task.error,
        "duration": task.recording.duration,
        "num_speakers": task.num_speakers,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "completed_at": task.completed_at,
    }
