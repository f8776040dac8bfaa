"""Checks made before a single byte of the body is read: the bearer token and the upload size.

FastAPI parses a multipart body before any route dependency runs, so these rules live in a small
ASGI middleware: an unauthenticated client, or an upload that announces more than MAX_UPLOAD_MB,
is answered at once instead of being spooled to disk first. (An upload within the announced size
whose file is still over the limit is failed by ``services.jobs.submissions.submit``, as a task.)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.config import Settings

PUBLIC_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Reachable without the token: the health check, and the API's own description (no data in them)."""

MULTIPART_SLACK = 64 * 1024
"""Bytes of multipart framing and form fields allowed on top of MAX_UPLOAD_MB."""


@dataclass(frozen=True)
class Refusal:
    status: int
    detail: str
    headers: dict[str, str] | None = None


def token_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>`` (compared in constant time)."""
    scheme, _, credentials = (authorization or "").partition(" ")
    raw = credentials.strip().encode("latin-1", "replace")  # Starlette decodes header bytes as latin-1
    return scheme.lower() == "bearer" and secrets.compare_digest(raw, token.encode())


def refusal(method: str, path: str, headers: Headers, settings: Settings) -> Refusal | None:
    """Why a request must be refused before its body is read; None when it may go on."""
    if (
        settings.api_token
        and path not in PUBLIC_PATHS
        and not token_matches(headers.get("authorization"), settings.api_token)
    ):
        return Refusal(
            401,
            "This API needs a bearer token: send 'Authorization: Bearer <API_TOKEN>'.",
            {"WWW-Authenticate": "Bearer"},
        )
    if method not in ("POST", "PUT", "PATCH"):
        return None
    length = headers.get("content-length")
    if length is None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Refusal(411, "Send the upload with a Content-Length header (curl -F and browsers do).")
        return None
    if not length.isdigit():
        return Refusal(400, f"Content-Length {length!r} is not a number of bytes.")
    if int(length) > settings.max_upload_bytes + MULTIPART_SLACK:
        return Refusal(
            413,
            f"The upload is {int(length) / 1024 / 1024:.0f} MB; the limit is {settings.max_upload_mb} MB (MAX_UPLOAD_MB).",
        )
    return None


class RequestGate:
    """ASGI middleware applying ``refusal`` to every HTTP request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            path = scope["path"][len(root) :] if root and scope["path"].startswith(root) else scope["path"]
            refused = refusal(scope["method"], path, Headers(scope=scope), self.settings)
            if refused is not None:
                response = JSONResponse({"detail": refused.detail}, status_code=refused.status, headers=refused.headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
