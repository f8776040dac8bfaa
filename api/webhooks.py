"""The API's part in completion callbacks: the status JSON they carry, and the delivery loop's life.

The loop itself (``services.runtime.webhook_sender``) runs in this process, beside the routes, so
the body a receiver gets is built by the same model as ``GET /api/tasks/{id}``.
"""

from __future__ import annotations

from collections.abc import Callable

from api.schemas import TaskOut
from services.runtime.context import AppContext
from services.runtime.webhook_sender import WebhookSender


def status_json(ctx: AppContext) -> Callable[[str], bytes | None]:
    """A task's status JSON, exactly as ``GET /api/tasks/{id}`` answers it (None when the task is gone)."""

    def payload(task_id: str) -> bytes | None:
        task = ctx.repo.get(task_id)
        if task is None:
            return None
        return TaskOut.full(task, ctx).model_dump_json().encode()

    return payload


def start_sender(ctx: AppContext) -> WebhookSender:
    """Start posting the callbacks of ended tasks (stop it when the app shuts down)."""
    sender = WebhookSender(ctx, status_json(ctx))
    sender.start()
    return sender
