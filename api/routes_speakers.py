"""A task's speakers over HTTP: name one (and remember the voice), answer a voice suggestion, split one that is
really several people (``services.results.split``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import app_context
from api.errors import error_responses
from api.routes_tasks import TaskId
from api.schemas import TaskOut
from services.analysis.options import MAX_PARTS
from services.errors import TaskNotFound
from services.jobs.voice_naming import confirm_voice, name_speaker, reject_voice
from services.results.edits import MAX_NAME_LENGTH
from services.runtime.context import AppContext

router = APIRouter(prefix="/api/tasks", tags=["speakers"])

SpeakerId = Annotated[str, Path(max_length=64, description="a speaker id of the task's result, e.g. SPEAKER_00")]


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is refused, not ignored

    into: int = Field(default=2, ge=2, le=MAX_PARTS, strict=True, description="how many people this speaker really is")


class SplitOut(BaseModel):
    message: str = Field(description="what happened, for a person")
    parts: list[str] = Field(description="the speaker ids the speaker became, largest talk time first")
    dropped_corrections: int = Field(description="segment corrections that no longer apply (their segment was cut up)")
    task: TaskOut = Field(description="the task with its new result and the corrections that still apply")


@router.post(
    "/{task_id}/speakers/{speaker_id}/split",
    response_model=SplitOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def split(
    task_id: TaskId,
    speaker_id: SpeakerId,
    body: Annotated[SplitIn | None, Body()] = None,
    ctx: AppContext = Depends(app_context),
) -> SplitOut:
    """Split a speaker (as ``edited_result`` shows it, merges included) into ``into`` people.

    Only that speaker's stored voice embeddings are clustered again: nothing is transcribed again, and
    other speakers, their names and the corrections of segments the split leaves unchanged are kept.
    The answer comes at once (no queue): the split takes milliseconds.
    """
    if "\x00" in task_id:
        raise TaskNotFound(f"There is no task {task_id!r}.")
    from services.jobs.split_task import split_task  # SciPy: loaded by the first split, not by the API's import

    done = split_task(
        task_id,
        speaker_id,
        (body or SplitIn()).into,
        repo=ctx.repo,
        artifacts=ctx.artifacts,
        edits=ctx.edits,
        voices=ctx.voices,
    )
    task = ctx.repo.require(task_id)
    return SplitOut(
        message=done.message,
        parts=list(done.split.parts),
        dropped_corrections=done.split.dropped,
        task=TaskOut.full(task, ctx),
    )


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(max_length=MAX_NAME_LENGTH, description="the speaker's name; empty or null removes it")
    remember: bool = Field(
        default=True, description="also remember the voice (make or strengthen a voice of the library by this name)"
    )


class NamedOut(BaseModel):
    message: str = Field(description="what happened, for a person")
    name: str | None = Field(description="the name stored (tidied); null when the speaker has none now")
    voice_id: str | None = Field(description="the voice the speaker now is, when it was remembered")
    task: TaskOut


@router.put(
    "/{task_id}/speakers/{speaker_id}",
    response_model=NamedOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def name_a_speaker(
    task_id: TaskId, speaker_id: SpeakerId, body: NameIn, ctx: AppContext = Depends(app_context)
) -> NamedOut:
    """Name a speaker of a completed task; with ``remember`` (the default) the voice library learns the voice,
    so later recordings of this person are suggested the name."""
    done = name_speaker(
        task_id, speaker_id, body.name, remember=body.remember, repo=ctx.repo, edits=ctx.edits, voices=ctx.voices
    )
    return NamedOut(message=done.message, name=done.name, voice_id=done.voice_id, task=_task(ctx, task_id))


@router.post(
    "/{task_id}/speakers/{speaker_id}/voice/confirm",
    response_model=NamedOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def confirm(task_id: TaskId, speaker_id: SpeakerId, ctx: AppContext = Depends(app_context)) -> NamedOut:
    """The suggested voice is right: its name becomes the speaker's and the voice learns from this recording."""
    done = confirm_voice(task_id, speaker_id, repo=ctx.repo, edits=ctx.edits, voices=ctx.voices)
    return NamedOut(message=done.message, name=done.name, voice_id=done.voice_id, task=_task(ctx, task_id))


class RejectedOut(BaseModel):
    message: str
    task: TaskOut


@router.post(
    "/{task_id}/speakers/{speaker_id}/voice/reject",
    response_model=RejectedOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def reject(task_id: TaskId, speaker_id: SpeakerId, ctx: AppContext = Depends(app_context)) -> RejectedOut:
    """The suggested voice is wrong: it is not suggested for this speaker of this task again."""
    link = reject_voice(task_id, speaker_id, repo=ctx.repo, edits=ctx.edits, voices=ctx.voices)
    return RejectedOut(message=f"{speaker_id} is not {link.name}.", task=_task(ctx, task_id))


def _task(ctx: AppContext, task_id: str) -> TaskOut:
    return TaskOut.full(ctx.repo.require(task_id), ctx)
