"""The callback delivery loop: a daemon thread in each API process (``api.main`` starts it).

Every WEBHOOK_POLL_SECONDS it runs one ``services.jobs.webhooks.deliver_due`` pass. The database
holds the state and the leases, so any number of API processes may run it, a restart loses
nothing, and the workers never wait on a receiver.
"""

from __future__ import annotations

import logging
import threading

from services.jobs.webhooks import PayloadFor, deliver_due
from services.runtime.context import AppContext

log = logging.getLogger(__name__)


class WebhookSender:
    """Posts due callbacks until ``stop``."""

    def __init__(self, ctx: AppContext, payload_for: PayloadFor) -> None:
        self._ctx = ctx
        self._payload_for = payload_for
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        settings = self._ctx.settings
        while not self._stop.is_set():
            try:
                deliver_due(self._ctx.webhooks, self._payload_for, settings)
            except Exception:  # a database hiccup must not end the loop; the next pass tries again
                log.exception("callback delivery pass failed")
            self._stop.wait(settings.webhook_poll_seconds)
