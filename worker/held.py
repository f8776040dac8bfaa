"""Messages a worker holds, and recovering those that no live worker holds.

Celery's Redis transport keeps a delivered message that is not yet acknowledged in the ``unacked``
hash (and its delivery time in ``unacked_index``), keyed by delivery tag, without saying which
worker took it. Redis gives it back only after the visibility timeout, which must outlast the
longest job (``LONGEST_JOB_S`` + 1 h: five hours), so a worker that died between fetching a
message and claiming its task row left that task ``queued`` for five hours, and the reaper could
not re-send it because the broker still "held" it.

Here every worker says what it holds: ``HeldMessages``, a step of the worker's consumer, writes the
delivery tags of its unacknowledged messages to ``fastaudio:held:<queue>:<worker>`` every
``HEARTBEAT_INTERVAL_SECONDS``, with an expiry of ``STALE_AFTER_SECONDS``. A dead worker's key
expires with it. ``recover_orphans`` (the reaper) puts back in the queue each unacknowledged
message of our queue that was delivered more than ``STALE_AFTER_SECONDS`` ago and that no live
worker's key names: at most about a minute and a reaper interval after the worker died.

Running the task twice at once is prevented by the task table, not by this module: the claim of
the row is atomic and a live worker's heartbeat keeps its claim (``services.jobs``). A message put
back while its holder is in fact alive (its key could not be written) is delivered once more and
skipped by the claim.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import redis
from celery import Celery, bootsteps

from services.config import get_settings

log = logging.getLogger(__name__)

HELD_PREFIX = "fastaudio:held"


def held_key(queue: str, worker: str) -> str:
    return f"{HELD_PREFIX}:{queue}:{worker}"


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
"""Brokers this applies to: kombu's Redis transport (another broker keeps its own books)."""


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _is_redis(url: str | None) -> bool:
    return bool(url) and str(url).startswith(REDIS_SCHEMES)


class HeldMessages(bootsteps.StartStopStep):
    """Publishes this worker's unacknowledged delivery tags while its consumer runs."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, c: Any, **kwargs: Any) -> None:
        super().__init__(c, **kwargs)
        self._timer: Any = None
        self._client: redis.Redis | None = None

    def start(self, c: Any) -> None:
        if not _is_redis(c.app.conf.broker_url):
            return
        settings = get_settings()
        self._client = _client(c.app.conf.broker_url)
        # the pid too: two workers started with the same --hostname must not overwrite each other's list
        self._key = held_key(c.app.conf.task_default_queue, f"{c.hostname}:{os.getpid()}")
        self._expire = max(settings.stale_after_seconds, 3 * settings.heartbeat_interval_seconds)
        self.publish(c)
        self._timer = c.timer.call_repeatedly(settings.heartbeat_interval_seconds, self.publish, (c,), priority=10)

    def publish(self, c: Any) -> None:
        consumer = getattr(c, "task_consumer", None)
        channel = getattr(consumer, "channel", None)
        qos = getattr(channel, "qos", None)
        tags = [str(tag) for tag in list(getattr(qos, "_delivered", {}) or {})]  # kombu's delivered, not acked
        try:
            assert self._client is not None
            self._client.set(self._key, json.dumps(tags), ex=max(1, round(self._expire)))
        except Exception:  # never let this stop the consumer; the claim keeps a re-delivery harmless
            log.warning("could not publish the messages this worker holds", exc_info=True)

    def stop(self, c: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # The key is left to expire: kombu gives a stopping worker's unacknowledged messages back itself.

    shutdown = stop


def held_tags(client: redis.Redis, queue: str) -> set[str]:
    """Delivery tags that live workers of ``queue`` say they hold."""
    tags: set[str] = set()
    for key in client.scan_iter(match=f"{HELD_PREFIX}:{queue}:*", count=100):
        raw = client.get(key)
        if raw:
            tags.update(str(tag) for tag in json.loads(raw))
    return tags


def orphaned_tags(
    client: redis.Redis, queue: str, older_than_s: float, *, unacked: str = "unacked", index: str = "unacked_index"
) -> list[str]:
    """Unacknowledged messages of ``queue`` delivered over ``older_than_s`` ago that no live worker holds.

    The unacknowledged set is read before the workers' keys: a tag a worker acknowledges in between
    is then simply no longer there to restore.
    """
    scored = client.zrangebyscore(index, "-inf", time.time() - older_than_s)
    candidates = [t.decode() if isinstance(t, bytes) else str(t) for t in scored]
    ours = []
    for tag in candidates:
        raw = client.hget(unacked, tag)
        if raw is None:
            continue
        try:
            _message, _exchange, routing_key = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if routing_key == queue:
            ours.append(tag)
    if not ours:
        return []
    held = held_tags(client, queue)
    return [tag for tag in ours if tag not in held]


def recover_orphans(app: Celery, older_than_s: float) -> int:
    """Put back in the queue the messages of our queue that no live worker holds; how many."""
    if not _is_redis(app.conf.broker_url):
        return 0
    queue = app.conf.task_default_queue
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        client = _client(app.conf.broker_url)
        try:
            orphans = orphaned_tags(
                client, queue, older_than_s, unacked=channel.unacked_key, index=channel.unacked_index_key
            )
            for tag in orphans:
                # kombu's own restore, as after a visibility timeout: one transaction that watches
                # the hash (a message its holder acknowledges meanwhile is not put back), and the
                # message goes to the end the workers take from next.
                channel.qos.restore_by_tag(tag)
        finally:
            client.close()
    if orphans:
        log.warning("put %d message(s) back in the queue: their worker is gone", len(orphans))
    return len(orphans)
