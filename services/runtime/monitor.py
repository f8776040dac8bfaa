"""What the System page and the reaper ask of the broker: health, depth, workers, message ids.

Reads Redis directly (kombu's layout) and pings workers through a Celery app; see ``services.runtime.queue``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from services.config import Settings

if TYPE_CHECKING:
    from celery import Celery

# kombu's Redis transport keeps one list per priority step: "<queue>", "<queue>\x06\x163", ...
PRIORITY_SEP = "\x06\x16"
UNACKED_KEY = "unacked"


@dataclass(frozen=True)
class QueueHealth:
    broker_ok: bool
    depth: int | None
    workers: tuple[str, ...]
    error: str = ""


def _client(settings: Settings, timeout: float) -> redis.Redis:
    url = settings.celery_broker_url
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def _queue_keys(settings: Settings, client: redis.Redis) -> list[str]:
    queue = settings.celery_queue
    return [queue] + [k.decode() for k in client.scan_iter(match=f"{queue}{PRIORITY_SEP}*", count=100)]


def broker_reachable(settings: Settings, timeout: float = 0.5) -> bool:
    try:
        client = _client(settings, timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def queue_health(settings: Settings, celery: Celery, timeout: float = 1.0) -> QueueHealth:
    """Broker reachability, messages waiting in our queue, and the workers that answer a ping."""
    try:
        client = _client(settings, timeout)
        depth = sum(int(client.llen(key)) for key in _queue_keys(settings, client))
        client.close()
    except (redis.RedisError, OSError) as exc:
        return QueueHealth(broker_ok=False, depth=None, workers=(), error=str(exc))
    replies = celery.control.ping(timeout=timeout) or []
    workers = tuple(sorted(name for reply in replies for name in reply))
    return QueueHealth(broker_ok=True, depth=depth, workers=workers)


def task_ids_in_broker(settings: Settings, timeout: float = 2.0) -> set[str] | None:
    """Ids of the task rows whose messages wait in our queue or are delivered but unacknowledged.

    ``enqueue`` sends each message with the row's id as its Celery id, so the id is in its headers.
    None when the broker cannot be read.
    """
    try:
        client = _client(settings, timeout)
        ids: set[str] = set()
        for key in _queue_keys(settings, client):
            for raw in client.lrange(key, 0, -1):
                ids.add(_message_id(json.loads(raw)))
        for raw in client.hvals(UNACKED_KEY):
            ids.add(_message_id(json.loads(raw)[0]))
        client.close()
    except (redis.RedisError, OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    ids.discard("")
    return ids


def _message_id(message: dict[str, Any]) -> str:
    return str(message.get("headers", {}).get("id", ""))
