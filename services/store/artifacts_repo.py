"""Artifacts in the database (``task_artifacts``): named blobs a task's analysis left for re-runs.

They live in the database rather than beside the upload so that every worker, on any machine,
reads them the same way as the task row. See ``services.analysis.artifacts`` for what is stored.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from services.store.db import session_scope
from services.store.models import TaskArtifact, utcnow


class ArtifactRepo:
    """Reads and writes the artifacts of tasks."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, task_id: str) -> dict[str, bytes]:
        """Every artifact of ``task_id`` by name (empty when there are none)."""
        with session_scope(self.engine) as session:
            rows = session.execute(select(TaskArtifact.name, TaskArtifact.data).where(TaskArtifact.task_id == task_id))
            return {name: bytes(data) for name, data in rows}

    def names(self, task_id: str) -> set[str]:
        """Which artifacts ``task_id`` has (without reading them)."""
        with session_scope(self.engine) as session:
            return set(session.scalars(select(TaskArtifact.name).where(TaskArtifact.task_id == task_id)))

    def replace_in(self, session: Session, task_id: str, files: dict[str, bytes]) -> None:
        """Within ``session``'s transaction: make ``files`` the task's artifacts (older ones removed)."""
        session.execute(delete(TaskArtifact).where(TaskArtifact.task_id == task_id))
        now = utcnow()
        session.add_all(
            TaskArtifact(task_id=task_id, name=name, data=data, created_at=now) for name, data in files.items()
        )
