"""The voice library over HTTP (``services.store.voices_repo``): list, rename, merge, remove a recording, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import app_context
from api.errors import error_responses
from api.routes_tasks import TaskId
from services.errors import VoiceLibraryOff
from services.results.edits import MAX_NAME_LENGTH
from services.runtime.context import AppContext
from services.store.voice_library import VoiceSummary

router = APIRouter(prefix="/api/voices", tags=["voices"])

NAME_PATTERN = r"[^\s\x1c-\x1f]"
"""A name has a character that is not a space (Python's ``str.split`` also splits at \\x1c-\\x1f)."""
VoiceId = Annotated[str, Path(max_length=36, description="a voice id from GET /api/voices")]


class VoiceOut(BaseModel):
    voice_id: str
    name: str
    recordings: int = Field(description="recordings the voice was confirmed in")
    talk_seconds: float = Field(description="seconds the person talks in those recordings, together")
    last_heard: datetime | None = Field(description="when the latest of those recordings was made")

    @classmethod
    def of(cls, v: VoiceSummary) -> VoiceOut:
        return cls(
            voice_id=v.voice_id,
            name=v.name,
            recordings=v.recordings,
            talk_seconds=round(v.talk_seconds, 3),
            last_heard=v.last_heard,
        )


class VoicePageOut(BaseModel):
    items: list[VoiceOut]
    total: int


class AppearanceOut(BaseModel):
    task_id: str | None = Field(description="null when the task has been deleted since")
    speaker_id: str
    filename: str
    talk_seconds: float
    share: float = Field(description="the person's part of the recording's talk time, 0..1")
    heard_at: datetime


class VoiceDetailOut(VoiceOut):
    appearances: list[AppearanceOut] = Field(description="the recordings, oldest first")


class RenameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN, description="the new name (spaces are tidied; not blank)"
    )


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: str = Field(max_length=36, description="the voice that stays; this one is deleted")


def _on(ctx: AppContext) -> AppContext:
    if not ctx.voices.enabled:
        raise VoiceLibraryOff("The voice library is switched off (VOICE_LIBRARY=false).")
    return ctx


@router.get("", response_model=VoicePageOut, responses=error_responses(400, 401, 409))
def list_voices(ctx: AppContext = Depends(app_context)) -> VoicePageOut:
    """Every voice of the library, most recently heard first."""
    items = [VoiceOut.of(v) for v in _on(ctx).voices.list_voices()]
    return VoicePageOut(items=items, total=len(items))


@router.get("/{voice_id}", response_model=VoiceDetailOut, responses=error_responses(400, 401, 404, 409, 422))
def get_voice(voice_id: VoiceId, ctx: AppContext = Depends(app_context)) -> VoiceDetailOut:
    """One voice with the recordings it was confirmed in."""
    return _detail(_on(ctx), voice_id)


@router.patch("/{voice_id}", response_model=VoiceDetailOut, responses=error_responses(400, 401, 404, 409, 422))
def rename_voice(voice_id: VoiceId, body: RenameIn, ctx: AppContext = Depends(app_context)) -> VoiceDetailOut:
    """Rename a voice (names already given to speakers stay as they are)."""
    _on(ctx).voices.rename(voice_id, body.name)
    return _detail(ctx, voice_id)


@router.post("/{voice_id}/merge", response_model=VoiceDetailOut, responses=error_responses(400, 401, 404, 409, 422))
def merge_voice(voice_id: VoiceId, body: MergeIn, ctx: AppContext = Depends(app_context)) -> VoiceDetailOut:
    """This voice is the same person as ``into``: its recordings move there and it is deleted."""
    _on(ctx).voices.merge(voice_id, body.into)
    return _detail(ctx, body.into)


@router.delete(
    "/{voice_id}/recordings/{task_id}",
    response_model=VoiceDetailOut,
    responses=error_responses(400, 401, 404, 409, 422),
)
def remove_recording(voice_id: VoiceId, task_id: TaskId, ctx: AppContext = Depends(app_context)) -> VoiceDetailOut:
    """Take one recording out of a voice: what it taught the voice is deleted."""
    _on(ctx).voices.remove_recording(voice_id, task_id)
    return _detail(ctx, voice_id)


@router.delete("/{voice_id}", status_code=204, responses=error_responses(400, 401, 404, 409, 422))
def delete_voice(voice_id: VoiceId, ctx: AppContext = Depends(app_context)) -> Response:
    """Delete a voice: its embeddings are deleted from the database, not hidden. Speakers keep their names."""
    _on(ctx).voices.delete(voice_id)
    return Response(status_code=204)


def _detail(ctx: AppContext, voice_id: str) -> VoiceDetailOut:
    voice = ctx.voices.require(voice_id)
    appearances = [
        AppearanceOut(
            task_id=a.task_id,
            speaker_id=a.speaker_id,
            filename=a.filename,
            talk_seconds=round(a.talk_seconds, 3),
            share=round(a.share, 4),
            heard_at=a.heard_at,
        )
        for a in ctx.voices.appearances(voice_id)
    ]
    return VoiceDetailOut(**VoiceOut.of(voice).model_dump(), appearances=appearances)
