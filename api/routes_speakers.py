"""A task's speakers over HTTP: split one that is really several people (``services.results.split``)."""

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
        task=TaskOut.with_result(task, ctx.edits.load(task_id)),
    )
