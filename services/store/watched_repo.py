"""``watched_files``: every file content the watch folder submitted, by SHA-256.

The content hash is the file's identity: a renamed or moved file has the same hash, so it is
never analysed again, and the row's primary key makes a second watcher's insert of the same content
fail instead of submitting it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from services.store.db import session_scope
from services.store.models import WatchedFile, utcnow

SUBMITTING = "submitting"
"""Claimed by a watcher that is storing and queueing it now."""
SUBMITTED = "submitted"
"""Its task is queued or running; the exports are written when it ends."""
EXPORTED = "exported"
"""Done: the exports were written beside the file."""
FAILED = "failed"
"""Done without exports: the file was refused or the analysis failed or was cancelled (``detail`` says why)."""


@dataclass(frozen=True)
class WatchedView:
    sha256: str
    task_id: str | None
    path: str
    state: str
    detail: str | None


def _view(row: WatchedFile) -> WatchedView:
    return WatchedView(row.sha256, row.task_id, row.path, row.state, row.detail)


class WatchedRepo:
    """Reads and writes ``watched_files``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, sha256: str) -> WatchedView | None:
        with session_scope(self.engine) as session:
            row = session.get(WatchedFile, sha256)
            return _view(row) if row is not None else None

    def claim(self, sha256: str, path: str) -> bool:
        """Record a new content as being submitted; False when it is already known (here or by another watcher)."""
        now = utcnow()
        try:
            with session_scope(self.engine) as session:
                session.add(WatchedFile(sha256=sha256, path=path, state=SUBMITTING, created_at=now, updated_at=now))
        except IntegrityError:
            return False
        return True

    def update(
        self,
        sha256: str,
        *,
        state: str | None = None,
        task_id: str | None = None,
        path: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Change the given fields of one row (the others stay)."""
        with session_scope(self.engine) as session:
            row = session.get(WatchedFile, sha256)
            if row is None:
                return
            if state is not None:
                row.state = state
            if task_id is not None:
                row.task_id = task_id
            if path is not None:
                row.path = path
            if detail is not None:
                row.detail = detail
            row.updated_at = utcnow()

    def forget(self, sha256: str) -> None:
        """Drop a claim whose submission could not even start (the file vanished while it was read)."""
        with session_scope(self.engine) as session:
            row = session.get(WatchedFile, sha256)
            if row is not None and row.state == SUBMITTING:
                session.delete(row)

    def in_state(self, state: str, limit: int = 200) -> list[WatchedView]:
        with session_scope(self.engine) as session:
            rows = session.scalars(select(WatchedFile).where(WatchedFile.state == state).limit(limit))
            return [_view(row) for row in rows]
