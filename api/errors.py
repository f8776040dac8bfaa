"""FastAudio's own errors as HTTP answers: a status that fits, and the message as ``detail``."""

from __future__ import annotations

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from services.errors import (
    FastAudioError,
    InvalidEdit,
    InvalidOptions,
    ModelNotAvailable,
    RecordingTooLong,
    RerunNotPossible,
    StorageError,
    TaskNotFinished,
    TaskNotFound,
    UnsupportedAudio,
    UploadTooLarge,
    VoiceLibraryOff,
    VoiceNotFound,
)

# First match wins (EmptyAudio is an UnsupportedAudio). Anything else a person caused: 400.
STATUS_FOR_ERROR: tuple[tuple[type[FastAudioError], int], ...] = (
    (TaskNotFound, 404),
    (VoiceNotFound, 404),
    (VoiceLibraryOff, 409),
    (TaskNotFinished, 409),
    (RerunNotPossible, 409),
    (UploadTooLarge, 413),
    (UnsupportedAudio, 415),
    (RecordingTooLong, 422),
    (InvalidOptions, 422),
    (InvalidEdit, 422),
    (StorageError, 503),
    (ModelNotAvailable, 503),
)


def status_for(error: FastAudioError) -> int:
    """The HTTP status for one of our errors."""
    return next((status for kind, status in STATUS_FOR_ERROR if isinstance(error, kind)), 400)


async def fastaudio_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FastAudioError)
    return JSONResponse({"detail": str(exc)}, status_code=status_for(exc))


async def validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """422 with a readable ``detail`` ("num_speakers: Input should be greater than or equal to 1")
    and FastAPI's usual list under ``errors``."""
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return JSONResponse({"detail": "; ".join(parts) or "Invalid request.", "errors": errors}, status_code=422)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own answer, except that a 405 lists every method the path supports in ``Allow``.

    (Starlette stops at the first route whose path matches, so GET and DELETE on one path would
    otherwise answer ``Allow: GET``.)
    """
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        methods = {
            method
            for route in request.app.router.routes
            if route.matches(request.scope)[0] != Match.NONE
            for method in getattr(route, "methods", None) or ()
        }
        return JSONResponse({"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(sorted(methods))})
    return await http_exception_handler(request, exc)


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` for the error statuses a route can answer with (body: ``ErrorOut``)."""
    from api.schemas import ErrorOut

    descriptions = {
        400: "Bad request",
        401: "Missing or wrong bearer token (only when API_TOKEN is set)",
        403: "Refused: a wrong or expired signed link, or a write from another website without API_TOKEN",
        404: "No such task (or voice)",
        409: "The task has no result yet (or the voice library is switched off)",
        411: "Uploads need a Content-Length",
        413: "The upload is larger than MAX_UPLOAD_MB",
        415: "Not an audio file we can read",
        422: "Invalid parameters",
        503: "Storage or model unavailable",
    }
    return {status: {"model": ErrorOut, "description": descriptions[status]} for status in statuses}
