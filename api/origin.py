"""Who may talk to the API from where: the ``Host`` it is addressed by, and cross-site browser writes.

- **Trusted hosts.** A request whose ``Host`` is not localhost, 127.0.0.1, ::1 or one of
  ``PUBLIC_HOSTS`` is refused (400). A web page on another site cannot then reach the API through a
  DNS name it re-points at 127.0.0.1 (DNS rebinding): its requests carry its own host name.
- **No cross-site writes without a token.** With no ``API_TOKEN``, a ``POST``/``PUT``/``PATCH``/``DELETE``
  that a browser marks as coming from another site (``Sec-Fetch-Site: cross-site``/``same-site``, or an
  ``Origin`` whose host is not trusted) is refused (403): another website cannot make a visitor's
  browser upload to, or delete from, a FastAPI on localhost. Clients that are not browsers (curl,
  scripts, the CLI) send neither header and are not affected. With a token, a browser cannot send it
  cross-site without the API allowing CORS, which it does not.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.config import Settings

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def trusted_hosts(settings: Settings) -> frozenset[str]:
    """localhost names, ``API_HOST`` when it names one host, and every ``PUBLIC_HOSTS`` entry (lower case)."""
    extra = {h.strip().lower() for h in settings.public_hosts.split(",") if h.strip()}
    if settings.api_host not in ("0.0.0.0", "::", ""):
        extra.add(settings.api_host.lower())
    return LOCAL_HOSTS | extra


def host_name(host: str) -> str:
    """``Host``/``Origin`` authority without the port: ``[::1]:8000`` -> ``::1``, ``a.org:443`` -> ``a.org``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed(host: str, trusted: frozenset[str]) -> bool:
    name = host_name(host)
    return "*" in trusted or name in trusted or any(t.startswith("*.") and name.endswith(t[1:]) for t in trusted)


def refusal(method: str, headers: Headers, settings: Settings) -> tuple[int, str] | None:
    trusted = trusted_hosts(settings)
    host = headers.get("host", "")
    if not allowed(host, trusted):
        return 400, f"This API does not answer to the host name {host_name(host)!r}; add it to PUBLIC_HOSTS."
    if method in UNSAFE_METHODS and not settings.api_token:
        site = headers.get("sec-fetch-site", "").lower()
        origin = headers.get("origin")
        foreign_origin = origin is not None and (origin == "null" or not allowed(urlsplit(origin).netloc, trusted))
        if site in ("cross-site", "same-site") or foreign_origin:
            return (
                403,
                "Requests from other websites cannot change anything here. "
                "Set API_TOKEN to use the API from a browser.",
            )
    return None


class HostAndOriginGate:
    """ASGI middleware applying ``refusal`` to every HTTP request."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = refusal(scope["method"], Headers(scope=scope), self.settings)
            if refused is not None:
                await JSONResponse({"detail": refused[1]}, status_code=refused[0])(scope, receive, send)
                return
        await self.app(scope, receive, send)
