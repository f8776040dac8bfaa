"""The task table over HTTP: one task (progress, then the result), a page of tasks, delete, export."""

from __future__ import annotations

import mimetypes
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BeforeValidator

from api.deps import app_context
from api.errors import error_responses
from api.params import whole_number
from api.schemas import MatchOut, Status, TaskOut, TaskPageOut, TaskSummaryOut
from services.errors import TaskNotFinished, TaskNotFound
from services.jobs.deletion import delete_task
from services.results.edits import apply_edits
from services.results.exports import FORMATS, render
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from services.storage.files import LocalStorage
from services.storage.media_links import link_valid
from services.store.task_query import TaskFilter
from services.store.task_views import SearchHit, TaskView
from services.store.transcript_index import snippet_pieces

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

TaskId = Annotated[str, Path(max_length=64, description="the task_id an upload returned")]
# Built from FORMATS, so a new export format needs no edit here (and the schema lists it); mypy
# cannot follow a Literal made at run time, hence the two ignores.
ExportName = Literal[tuple(FORMATS)]  # type: ignore[valid-type]
MAX_OFFSET = 1_000_000_000


def _media_type(name: str) -> str:
    fmt = FORMATS[name]
    return fmt.mime if fmt.binary else f"{fmt.mime}; charset=utf-8"


def _task(ctx: AppContext, task_id: str) -> TaskView:
    if "\x00" in task_id:  # no id holds a NUL (PostgreSQL refuses it in a query)
        raise TaskNotFound(f"There is no task {task_id!r}.")
    return ctx.repo.require(task_id)


@router.get("", response_model=TaskPageOut, responses=error_responses(401, 422))
def list_tasks(
    limit: Annotated[int, Query(ge=1, le=200), BeforeValidator(whole_number)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET), BeforeValidator(whole_number)] = 0,
    status: Status | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=500, description='search every transcript: words (each matched as a prefix) or "an exact phrase"'
        ),
    ] = None,
    ctx: AppContext = Depends(app_context),
) -> TaskPageOut:
    """Tasks newest first, without their results; ``total`` counts every task matching ``status``.

    With ``q``, the items are the transcript segments that match (one item per segment, its task's
    fields plus ``match``), ordered by task, newest first, then by time in the recording.
    """
    if q is not None and q.strip():
        found = ctx.repo.search(q, filters=TaskFilter(statuses=(status,) if status else ()), limit=limit, offset=offset)
        items = [TaskSummaryOut.of(hit.task, match=_match(hit)) for hit in found.hits]
        return TaskPageOut(items=items, total=found.total, limit=limit, offset=offset)
    tasks = ctx.repo.list_tasks(limit=limit, offset=offset, status=status)
    return TaskPageOut(
        items=[TaskSummaryOut.of(t) for t in tasks], total=ctx.repo.count(status), limit=limit, offset=offset
    )


def _match(hit: SearchHit) -> MatchOut:
    pieces = snippet_pieces(hit.snippet)
    return MatchOut(
        start=hit.start,
        end=hit.end,
        speaker=hit.speaker,
        snippet="".join(text for text, _ in pieces),
        matched=[text for text, matched in pieces if matched],
    )


@router.get("/{task_id}", response_model=TaskOut, responses=error_responses(401, 404, 422))
def get_task(task_id: TaskId, ctx: AppContext = Depends(app_context)) -> TaskOut:
    """Status, stage and percent while the task runs; the result once ``status`` is ``completed``:
    ``result`` as the machine made it, ``edited_result`` with the analysts' names and corrections."""
    task = _task(ctx, task_id)
    return TaskOut.full(task, ctx)


@router.delete("/{task_id}", status_code=204, responses=error_responses(401, 404, 422))
def remove_task(task_id: TaskId, ctx: AppContext = Depends(app_context)) -> Response:
    """Delete the task, its recording and the stored file. A worker still running it stops writing to it."""
    _task(ctx, task_id)
    delete_task(task_id, repo=ctx.repo, storage=ctx.storage)
    return Response(status_code=204)


@router.get(
    "/{task_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The result as a file (Content-Disposition: attachment)",
            "content": {_media_type(f.name): {} for f in FORMATS.values()},
        },
        **error_responses(401, 404, 409, 422),
    },
)
def export_task(
    task_id: TaskId,
    format: Annotated[ExportName, Query(description="file format of the export")] = "txt",  # type: ignore[valid-type]
    original: Annotated[
        bool, Query(description="the machine's result, without the analysts' names and corrections")
    ] = False,
    mark_unsure: Annotated[
        bool,
        Query(
            description="txt, md and docx: write the words the recogniser was unsure of as [word?] "
            "(json always carries each word's probability)"
        ),
    ] = False,
    ctx: AppContext = Depends(app_context),
) -> Response:
    """The completed result as txt, md, srt, vtt, json, rttm, csv or docx (``services.results.exports``), with the
    speaker names and corrections made on the task page (unless ``original=true``)."""
    task = _task(ctx, task_id)
    if task.status != "completed" or task.result is None:
        reason = f": {task.error}" if task.error else "; export it once it has completed"
        raise TaskNotFinished(f"Task {task.id} is {task.status}{reason}")
    fmt = FORMATS[format]
    stem = task.recording.filename.rsplit(".", 1)[0] or "recording"
    result = AnalysisResult.from_dict(task.result)
    if not original:
        result = apply_edits(result, ctx.edits.load(task.id))
    body = render(result, fmt.name, file_id=stem, mark_unsure=mark_unsure)
    return Response(
        body,
        media_type=_media_type(fmt.name),
        headers={"Content-Disposition": attachment(f"{stem}.{fmt.extension}")},
    )


def attachment(filename: str) -> str:
    """A Content-Disposition for ``filename``: an ASCII fallback plus the UTF-8 name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_").replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/{task_id}/audio",
    response_class=FileResponse,
    responses={200: {"description": "The recording (range requests supported)"}, **error_responses(403, 404, 422)},
)
def task_audio(
    task_id: TaskId,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(max_length=128)],
    ctx: AppContext = Depends(app_context),
) -> Response:
    """The recording, streamed from disk with HTTP range requests, for the task page's player.

    Needs no bearer token but a link the pages signed with ``MEDIA_URL_SECRET``
    (``services.storage.media_links``); a wrong or expired signature is a 403.
    """
    if not link_valid(task_id, expires, signature, ctx.settings.media_url_secret):
        return JSONResponse({"detail": "This audio link is not valid (expired or not signed here)."}, status_code=403)
    task = _task(ctx, task_id)
    stored = task.recording.stored_path
    if not stored or not isinstance(ctx.storage, LocalStorage) or not ctx.storage.exists(stored):
        raise TaskNotFound(f"The recording of task {task.id} is not stored on this server's disk.")
    path = ctx.storage.path(stored)
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")
