"""The FastAPI app: ``uvicorn api.main:app`` (``make run`` starts it on API_HOST:API_PORT).

Handlers are thin: they call the same services as the pages (``services.jobs.submissions``,
``services.store.tasks_repo``, ``services.results.exports``, ``services.jobs.deletion``) over the same task table. Our
errors become 4xx answers with a readable ``detail`` (``api.errors``); the token and the upload
size are checked before a body is read (``api.gate``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Security
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import routes_health, routes_speakers, routes_tasks, routes_uploads, routes_voices
from api.deps import bearer
from api.errors import fastaudio_error_handler, http_error_handler, validation_error_handler
from api.gate import RequestGate
from api.origin import HostAndOriginGate
from api.webhooks import start_sender
from services.config import get_settings
from services.errors import FastAudioError
from services.runtime.context import AppContext, get_context

DESCRIPTION = """\
Upload a recording, poll its task, read who said what and when.

1. `POST /analyze` (multipart `file`, optional `num_speakers` / `min_speakers` / `max_speakers`)
   answers at once with a `task_id` and a `poll_url`.
2. `GET /api/tasks/{task_id}` until `status` is `completed` (the `result` is filled in) or `failed`
   (`error` says why).
3. `GET /api/tasks/{task_id}/export?format=srt` for subtitles, RTTM, CSV, Markdown, DOCX, ... with the
   speaker names and corrections analysts made on the task page (`&original=true` for the machine's).

Instead of polling, give `POST /analyze` a `callback_url`: the status JSON of step 2 is POSTed there when
the task ends, signed (`X-FastAudio-Signature`) when WEBHOOK_SECRET is set.

When API_TOKEN is set, every call except `/health` and these docs needs `Authorization: Bearer <token>`.
"""


def create_app(context: AppContext | None = None) -> FastAPI:
    """The API over ``context`` (default: the process's own, built from the settings on first use)."""
    settings = context.settings if context else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.context is None:
            app.state.context = await run_in_threadpool(get_context)  # migrates the database at start
        sender = start_sender(app.state.context)  # posts completion callbacks (callback_url)
        try:
            yield
        finally:
            await run_in_threadpool(sender.stop)

    app = FastAPI(title="FastAudio API", version="1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.context = context
    app.add_middleware(RequestGate, settings=settings)
    app.add_middleware(HostAndOriginGate, settings=settings)  # added last: runs first
    app.add_exception_handler(FastAudioError, fastaudio_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    secured = [Security(bearer)] if settings.api_token else []  # documents the token; the gate enforces it
    app.include_router(routes_uploads.router, dependencies=secured)
    app.include_router(routes_tasks.router, dependencies=secured)
    app.include_router(routes_speakers.router, dependencies=secured)
    app.include_router(routes_voices.router, dependencies=secured)
    app.include_router(routes_health.router)
    return app


app = create_app()
