"""The reaper: finds tasks the queue lost or a dead worker left behind, and sends them again.

Celery over Redis can lose a message (Redis restarted without persistence) or leave a task
``processing`` forever (a worker killed mid-job whose message was already gone). The task table
knows better: a ``queued`` row that the broker does not hold is sent again, and a ``processing``
row whose heartbeat went stale is put back to ``queued`` (or failed once it used up its attempts).
Run periodically (Celery beat) and at worker start; running two reapers at once is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.jobs.runner import CRASHED
from services.store.models import utcnow
from services.store.tasks_repo import TaskRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReapReport:
    requeued_stale: int = 0
    failed_exhausted: int = 0
    resent: int = 0
    send_errors: int = 0


def reap(
    repo: TaskRepo,
    *,
    enqueue: Callable[[str, str], None],
    in_broker: set[str] | None,
    max_attempts: int,
    stale_after_s: float,
    requeue_after_s: float,
    now: datetime | None = None,
) -> ReapReport:
    """One pass over the table.

    Args:
        enqueue: sends ``(task id, job)`` to the workers (raises when the broker is unreachable);
            the job is ``TaskView.job``: the task's kind, or ``rediarize`` for a re-run of the speakers.
        in_broker: ids of the tasks the broker holds (waiting or delivered, not yet acknowledged);
            None when the broker could not be read, which skips re-sending.
    """
    now = now or utcnow()
    stale_before = now - timedelta(seconds=stale_after_s)
    requeued = failed = 0
    for task in repo.stale_processing(stale_before):
        if task.attempts >= max_attempts:
            reason = task.error or CRASHED
            if repo.fail(task.id, f"Gave up after {task.attempts} attempts. The last one failed because {reason}."):
                failed += 1
        elif repo.requeue_stale(task.id, stale_before):
            requeued += 1
    if in_broker is None:
        return ReapReport(requeued, failed)

    resent = errors = 0
    for task in repo.queued_not_sent_since(now - timedelta(seconds=requeue_after_s)):
        if task.id in in_broker:
            continue
        try:
            enqueue(task.id, task.job)
        except Exception:
            log.warning("reaper could not send task %s; the broker may be down", task.id, exc_info=True)
            errors += 1
            break  # the broker is down: the next pass tries again
        repo.mark_enqueued(task.id)
        resent += 1
    report = ReapReport(requeued, failed, resent, errors)
    if requeued or failed or resent:
        log.info("reaper: %s", report)
    return report
