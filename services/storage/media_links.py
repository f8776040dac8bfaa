"""Signed, short-lived links to a recording, so the browser's player streams it from the API.

The pages cannot hand a browser a file without reading it whole into the web process (``st.audio``
with bytes); the API can serve it from disk with HTTP range requests (``FileResponse``). The pages
sign ``/api/tasks/<id>/audio?expires=...&signature=...`` with ``MEDIA_URL_SECRET``, which the API
checks instead of the bearer token (an ``<audio>`` element cannot send one): a link opens one
recording, for ``LINK_LIFETIME_S``, and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

LINK_LIFETIME_S = 6 * 3600
"""Long enough for a working session on one task page (a new page view signs a fresh link)."""


def signature(task_id: str, expires: int, secret: str) -> str:
    message = f"audio\n{task_id}\n{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def audio_link(api_url: str, task_id: str, secret: str, *, now: float | None = None) -> str:
    """The player's URL of ``task_id``'s recording on the API at ``api_url``."""
    expires = int((now if now is not None else time.time()) + LINK_LIFETIME_S)
    query = urlencode({"expires": expires, "signature": signature(task_id, expires, secret)})
    return f"{api_url.rstrip('/')}/api/tasks/{task_id}/audio?{query}"


def link_valid(task_id: str, expires: int, given: str, secret: str, *, now: float | None = None) -> bool:
    """Whether ``given`` signs ``task_id`` until ``expires`` and that moment has not passed."""
    if not secret or expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(given, signature(task_id, expires, secret))
