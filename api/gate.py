"""Checks made before a single byte of the body is read, and a count of the bytes that do arrive.

FastAPI parses a multipart body before any route dependency runs, so these rules live in a small
ASGI middleware: an unauthenticated client, or an upload that announces more than MAX_UPLOAD_MB,
is answered at once instead of being spooled to disk first. A header is only a claim, so the
middleware also counts the body's bytes as they arrive and answers 413 the moment they pass the
limit, whatever was announced; a request that announces its length twice over (``Content-Length``
and ``Transfer-Encoding``, the classic request-smuggling framing) is refused with 400. (An upload
within the limit whose file is still over MAX_UPLOAD_MB is failed by ``services.jobs.submissions.submit``,
as a task.)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    signed = method == "GET" and path.startswith("/api/tasks/") and path.endswith("/audio")  # checked by its route
    if (
        settings.api_token
        and path not in PUBLIC_PATHS
        and not signed
        and not token_matches(headers.get("authorization"), settings.api_token)
    ):
        return Refusal(
            401,
            "This API needs a bearer token: send 'Authorization: Bearer <API_TOKEN>'.",
            {"WWW-Authenticate": "Bearer"},
        )
    if "content-length" in headers and "transfer-encoding" in headers:
        return Refusal(400, "Send either Content-Length or Transfer-Encoding, not both.")
    if method not in ("POST", "PUT", "PATCH"):
        return None
    length = headers.get("content-length")
    if length is None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return Refusal(411, "Send the upload with a Content-Length header (curl -F and browsers do).")
        return None
    if not length.isdigit():
        return Refusal(400, f"Content-Length {length!r} is not a number of bytes.")
    if int(length) > body_limit(settings):
        return Refusal(
            413,
            f"The upload is {int(length) / 1024 / 1024:.0f} MB; "
            f"the limit is {settings.max_upload_mb} MB (MAX_UPLOAD_MB).",
        )
    return None


def body_limit(settings: Settings) -> int:
    """The most body bytes a request may send: MAX_UPLOAD_MB and the multipart framing around it."""
    return settings.max_upload_bytes + MULTIPART_SLACK


def too_large(settings: Settings) -> Refusal:
    return Refusal(413, f"The upload is larger than the limit of {settings.max_upload_mb} MB (MAX_UPLOAD_MB).")


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
                await _answer(refused, scope, receive, send)
                return
            await _Counted(self.app, body_limit(self.settings), too_large(self.settings))(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _answer(refused: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": refused.detail}, status_code=refused.status, headers=refused.headers)
    await response(scope, receive, send)


class _Counted:
    """One request whose body is counted as it is read: past ``limit`` bytes the client gets
    ``refused`` at once, the app reads a disconnect (so it stops), and nothing the app sends after
    that goes out."""

    def __init__(self, app: ASGIApp, limit: int, refused: Refusal) -> None:
        self.app, self.limit, self.refused = app, limit, refused
        self.received = 0
        self.answered = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            if self.answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    if not self.started:
                        self.answered = True
                        await _answer(
                            Refusal(self.refused.status, self.refused.detail, {"Connection": "close"}),
                            scope,
                            receive,
                            send,
                        )
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.answered:
                return  # the 413 has gone out; the app's own answer to the disconnect is dropped
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not self.answered:
                raise  # else: the app failed on the disconnect it was given; the client has its 413
