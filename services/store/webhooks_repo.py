"""``webhook_deliveries``: which ended tasks still owe their submitter a callback, claimed under a lease.

Every API process runs the same delivery loop (``services.runtime.webhook_sender``); the database
decides who posts what. ``claim`` is one conditional UPDATE (the lease must have run out), so two
processes never post the same end at once, and a process that dies mid-post leaves a lease that
simply runs out. Everything survives a restart: the rows are the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, or_, select, update

from services.store.db import session_scope
from services.store.models import FINAL_STATUSES, ProcessingTask, WebhookDelivery, utcnow
from services.store.task_views import aware


@dataclass(frozen=True)
class DeliveryView:
    """A snapshot of one delivery row (and its task's status when it was read)."""

    task_id: str
    url: str
    attempts: int
    next_attempt_at: datetime | None
    done_at: datetime | None
    delivered_status: str | None
    last_error: str | None
    task_status: str

    @classmethod
    def of(cls, row: WebhookDelivery, task_status: str) -> DeliveryView:
        return cls(
            task_id=row.task_id,
            url=row.url,
            attempts=row.attempts,
            next_attempt_at=aware(row.next_attempt_at),
            done_at=aware(row.done_at),
            delivered_status=row.delivered_status,
            last_error=row.last_error,
            task_status=task_status,
        )


class WebhookRepo:
    """Reads and writes ``webhook_deliveries``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, task_id: str, url: str) -> None:
        """Post ``task_id``'s status to ``url`` when it ends (replaces an earlier URL)."""
        with session_scope(self.engine) as session:
            row = session.get(WebhookDelivery, task_id)
            if row is None:
                session.add(WebhookDelivery(task_id=task_id, url=url, attempts=0, created_at=utcnow()))
            else:
                row.url = url

    def get(self, task_id: str) -> DeliveryView | None:
        with session_scope(self.engine) as session:
            row = session.get(WebhookDelivery, task_id)
            task = session.get(ProcessingTask, task_id)
            return DeliveryView.of(row, task.status) if row is not None and task is not None else None

    def due(self, now: datetime, limit: int = 20) -> list[str]:
        """Tasks that ended since their last delivery (or never delivered), whose next try is now and unclaimed."""
        d, t = WebhookDelivery, ProcessingTask
        statement = (
            select(d.task_id)
            .join(t, t.id == d.task_id)
            .where(
                t.status.in_(FINAL_STATUSES),
                t.completed_at.is_not(None),
                or_(d.done_at.is_(None), t.completed_at > d.done_at),
                or_(d.next_attempt_at.is_(None), d.next_attempt_at <= now),
                or_(d.claimed_until.is_(None), d.claimed_until < now),
            )
            .order_by(t.completed_at)
            .limit(limit)
        )
        with session_scope(self.engine) as session:
            return list(session.scalars(statement))

    def claim(self, task_id: str, claim: str, until: datetime, now: datetime) -> DeliveryView | None:
        """Take the row for one post until ``until``; None when another process holds it.

        A row whose previous end was already delivered (or given up) starts a fresh count of attempts:
        the task ran again and ended again.
        """
        d = WebhookDelivery
        with session_scope(self.engine) as session:
            statement = (
                update(d)
                .where(d.task_id == task_id, or_(d.claimed_until.is_(None), d.claimed_until < now))
                .values(claimed_until=until, claim=claim)
            )
            if not cast(CursorResult[Any], session.execute(statement)).rowcount:
                return None
            row = session.get(d, task_id)
            task = session.get(ProcessingTask, task_id)
            if row is None or task is None:
                return None
            if row.done_at is not None:
                row.attempts, row.done_at, row.next_attempt_at, row.last_error = 0, None, None, None
            return DeliveryView.of(row, task.status)

    def record(
        self,
        task_id: str,
        claim: str,
        *,
        delivered_status: str | None = None,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        counted: bool = True,
    ) -> None:
        """The outcome of one post, and the lease given back (only by the process that holds it).

        Args:
            delivered_status: the receiver accepted the status; the delivery is done.
            error: why the post failed; with ``next_attempt_at`` None the delivery is given up.
            counted: False for a post that was not made (the task changed meanwhile).
        """
        d = WebhookDelivery
        values: dict[str, Any] = {"claimed_until": None, "claim": None}
        if counted:
            values["attempts"] = d.attempts + 1
        if delivered_status is not None:
            values.update(done_at=utcnow(), delivered_status=delivered_status, next_attempt_at=None, last_error=None)
        elif error is not None:
            values.update(last_error=error, next_attempt_at=next_attempt_at)
            if next_attempt_at is None:
                values["done_at"] = utcnow()
        with session_scope(self.engine) as session:
            session.execute(update(d).where(d.task_id == task_id, d.claim == claim).values(**values))
