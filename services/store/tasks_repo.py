"""``TaskRepo``: the task table's reads and writes together, for callers that need both.

The job runner claims a task, reads it back and finishes it; housekeeping lists old tasks and deletes
them; tests set up and inspect tasks. Code that only reads can be written against ``TaskQueries``
(listing, filters, search, queue statistics); the state machine itself is ``TaskLifecycle``.
"""

from __future__ import annotations

from services.store.task_lifecycle import TaskLifecycle
from services.store.task_queries import TaskQueries


class TaskRepo(TaskLifecycle, TaskQueries):
    """The task life cycle (``TaskLifecycle``) and the queries over it (``TaskQueries``) on one engine."""
