"""What route handlers receive: the process's ``AppContext``, and the bearer scheme for the docs."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPBearer

from services.runtime.context import AppContext, get_context

bearer = HTTPBearer(
    auto_error=False,
    description="Only when API_TOKEN is set: 'Authorization: Bearer <API_TOKEN>' (checked by api.gate).",
)
"""Documents the token in the OpenAPI schema (the Authorize button in /docs); api.gate enforces it."""


def app_context(request: Request) -> AppContext:
    """The context the app was created with, else the process-wide one (database migrated on first use)."""
    return request.app.state.context or get_context()
