"""Completion callbacks: when a task submitted with a ``callback_url`` ends, POST its status JSON there.

The status JSON is exactly what ``GET /api/tasks/{id}`` answers; the caller builds it
(``payload_for``), so this module needs no web framework. With WEBHOOK_SECRET set each post is signed:

* ``X-FastAudio-Timestamp``: Unix seconds when the post was made;
* ``X-FastAudio-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with WEBHOOK_SECRET, of
  ``<timestamp>.<raw body>``. The timestamp is inside the signature, so a receiver that checks the
  signature and refuses timestamps older than a few minutes cannot be fed an old post again.

A post that fails (no connection, a timeout, an answer other than 2xx) is tried again after
WEBHOOK_RETRY_SECONDS, doubling each time up to an hour, WEBHOOK_MAX_ATTEMPTS times in all; the
attempts and the last error stay in ``webhook_deliveries``. Posting happens in the API process
(``services.runtime.webhook_sender``), never in a worker.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.config import Settings
from services.errors import InvalidCallbackUrl
from services.jobs.callback_url import connection, parse_callback_url, resolve
from services.store.models import utcnow
from services.store.webhooks_repo import DeliveryView, WebhookRepo

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-FastAudio-Signature"
TIMESTAMP_HEADER = "X-FastAudio-Timestamp"
EVENT_HEADER = "X-FastAudio-Event"
MAX_BACKOFF_S = 3600.0
ERROR_LIMIT = 500
"""Characters of an error (a receiver's answer included) kept in ``last_error``."""

PayloadFor = Callable[[str], bytes | None]
"""The status JSON of a task (as ``GET /api/tasks/{id}`` answers), or None when the task is gone."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>`` keyed with ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(secret: str, timestamp: str, body: bytes, header: str, *, max_age_s: float = 300.0) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (a replay is refused)."""
    try:
        age = abs(time.time() - float(timestamp))
    except ValueError:
        return False
    return age <= max_age_s and hmac.compare_digest(signature(secret, timestamp, body), header)


def headers_for(body: bytes, status: str, settings: Settings, *, now: float | None = None) -> dict[str, str]:
    """The request headers of one post: JSON, the event, and (with WEBHOOK_SECRET) timestamp and signature."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "FastAudio-Webhook/1",
        EVENT_HEADER: f"task.{status}",
    }
    if settings.webhook_secret:
        timestamp = str(int(time.time() if now is None else now))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = signature(settings.webhook_secret, timestamp, body)
    return headers


def backoff(attempts: int, settings: Settings) -> float:
    """Seconds to wait after the ``attempts``-th failed post: WEBHOOK_RETRY_SECONDS, doubling, at most an hour."""
    return min(MAX_BACKOFF_S, settings.webhook_retry_seconds * 2 ** max(0, attempts - 1))


def post(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> str | None:
    """POST once to the address the URL's rules allow now; None on a 2xx answer, else what went wrong."""
    try:
        target = parse_callback_url(url, settings)
        address = resolve(target)
    except InvalidCallbackUrl as exc:
        return str(exc)
    conn = connection(target, address, settings.webhook_timeout_seconds)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        answer = conn.getresponse()
        text = answer.read(ERROR_LIMIT).decode("utf-8", "replace")
        if 200 <= answer.status < 300:
            return None
        return f"HTTP {answer.status} {answer.reason}: {text}".strip()[:ERROR_LIMIT]
    except (OSError, ValueError) as exc:  # refused, reset, timeout, TLS, a malformed answer
        return f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
    finally:
        conn.close()


@dataclass(frozen=True)
class DeliveryOutcome:
    task_id: str
    delivered: bool
    error: str | None = None


def deliver_one(
    delivery: DeliveryView, claim: str, repo: WebhookRepo, payload_for: PayloadFor, settings: Settings
) -> DeliveryOutcome | None:
    """Post one claimed delivery and record the outcome; None when there was nothing to post."""
    body = payload_for(delivery.task_id)
    if body is None:  # deleted meanwhile: its delivery row went with it
        return None
    if delivery.task_status not in ("completed", "failed", "cancelled"):  # requeued meanwhile: wait for its end
        repo.record(delivery.task_id, claim, counted=False)
        return None
    error = post(delivery.url, body, headers_for(body, delivery.task_status, settings), settings)
    if error is None:
        repo.record(delivery.task_id, claim, delivered_status=delivery.task_status)
        return DeliveryOutcome(delivery.task_id, delivered=True)
    attempts = delivery.attempts + 1
    retry_at = utcnow() + timedelta(seconds=backoff(attempts, settings))
    final = attempts >= settings.webhook_max_attempts
    repo.record(delivery.task_id, claim, error=error, next_attempt_at=None if final else retry_at)
    log.warning(
        "callback for task %s failed (attempt %d of %d%s): %s",
        delivery.task_id, attempts, settings.webhook_max_attempts, ", giving up" if final else "", error,
    )  # fmt: skip
    return DeliveryOutcome(delivery.task_id, delivered=False, error=error)


def deliver_due(
    repo: WebhookRepo, payload_for: PayloadFor, settings: Settings, *, now: datetime | None = None
) -> list[DeliveryOutcome]:
    """One pass: claim each ended task whose callback is due and post it. Returns what was posted."""
    now = now or utcnow()
    lease = timedelta(seconds=2 * settings.webhook_timeout_seconds + 30)
    outcomes = []
    for task_id in repo.due(now):
        claim = str(uuid.uuid4())
        delivery = repo.claim(task_id, claim, utcnow() + lease, now)
        if delivery is None:
            continue  # another API process has it
        outcome = deliver_one(delivery, claim, repo, payload_for, settings)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes
