"""What the System page asks of the queue: is the broker up, how deep is the queue, who is working."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from worker.celery_app import app, settings


@dataclass(frozen=True)
class QueueHealth:
    broker_ok: bool
    depth: int | None
    workers: tuple[str, ...]
    error: str = ""


def queue_health(timeout: float = 1.0) -> QueueHealth:
    """Broker reachability, messages waiting in our queue, and the workers that answer a ping."""
    try:
        client = redis.Redis.from_url(settings.celery_broker_url, socket_connect_timeout=timeout, socket_timeout=timeout)
        depth = int(client.llen(settings.celery_queue))
        client.close()
    except (redis.RedisError, OSError) as exc:
        return QueueHealth(broker_ok=False, depth=None, workers=(), error=str(exc))
    replies = app.control.ping(timeout=timeout) or []
    workers = tuple(sorted(name for reply in replies for name in reply))
    return QueueHealth(broker_ok=True, depth=depth, workers=workers)
