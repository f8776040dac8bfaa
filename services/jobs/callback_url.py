"""Which callback URLs FastAudio posts to, and posting to the address that was checked.

A callback URL comes from whoever may upload, so it must not turn the server into a way of reaching
what only the server can reach (SSRF): the API's own port, a database, a cloud metadata service.
The rules, checked when the task is submitted and again at every post:

* ``http`` or ``https`` only, with a host, without ``user:password@``;
* with WEBHOOK_ALLOWED_HOSTS set, only hosts named there; those may have any address (a receiver on
  this machine or this network is allowed by naming it);
* any other host must resolve to public addresses only: loopback, private, link-local, multicast
  and reserved addresses are refused.

The name is resolved once per post and the connection goes to the address that passed the check
(``PinnedTarget.connection``), so a DNS answer that changes between the check and the connect (DNS
rebinding) cannot redirect it. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.config import Settings
from services.errors import InvalidCallbackUrl

MAX_URL_LENGTH = 2048


@dataclass(frozen=True)
class CallbackTarget:
    """A callback URL taken apart."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    """Path and query, as sent in the request line."""
    allowed_explicitly: bool
    """Named in WEBHOOK_ALLOWED_HOSTS: any address, private ones included, is accepted."""


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """WEBHOOK_ALLOWED_HOSTS as lower-case names (IPv6 addresses without brackets)."""
    return frozenset(h.strip().strip("[]").lower() for h in settings.webhook_allowed_hosts.split(",") if h.strip())


def parse_callback_url(url: str, settings: Settings) -> CallbackTarget:
    """Check what can be checked without the network: scheme, host, port, WEBHOOK_ALLOWED_HOSTS.

    Raises:
        InvalidCallbackUrl: with what is wrong and what to do.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidCallbackUrl(f"callback_url is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidCallbackUrl("callback_url must not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidCallbackUrl(f"callback_url is not a valid URL ({exc}).") from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidCallbackUrl("callback_url must start with http:// or https://.")
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidCallbackUrl("callback_url has no host name.")
    if parts.username is not None or parts.password is not None:
        raise InvalidCallbackUrl("callback_url must not carry a user name or password; sign with WEBHOOK_SECRET.")
    allowed = allowed_hosts(settings)
    if allowed and host not in allowed:
        raise InvalidCallbackUrl(
            f"callback_url's host {host!r} is not in WEBHOOK_ALLOWED_HOSTS; callbacks go only to the hosts "
            "listed there."
        )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if parts.scheme == "https" else 80
    return CallbackTarget(url, parts.scheme, host, port or default_port, path, allowed_explicitly=host in allowed)


def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidCallbackUrl(f"callback_url's host {host!r} cannot be resolved ({exc}).") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(address: str) -> bool:
    """A globally routable unicast address (an IPv4-mapped IPv6 address counts as its IPv4 one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(target: CallbackTarget) -> str:
    """The address to connect to: the first one, after checking that every address is public.

    Every address must pass (not only the first): a name with one public and one private address
    would otherwise reach the private one whenever the resolver's order changes.

    Raises:
        InvalidCallbackUrl: the name does not resolve, or (when not allowed explicitly) resolves
            to an address inside this machine or network.
    """
    addresses = _addresses(target.host, target.port)
    if not addresses:
        raise InvalidCallbackUrl(f"callback_url's host {target.host!r} has no address.")
    if not target.allowed_explicitly:
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise InvalidCallbackUrl(
                f"callback_url's host {target.host!r} is a loopback, private or link-local address ({private[0]}); "
                "callbacks go there only when the host is listed in WEBHOOK_ALLOWED_HOSTS."
            )
    return addresses[0]


def check_callback_url(url: str, settings: Settings) -> CallbackTarget:
    """``parse_callback_url`` and ``resolve``: what a submission checks before it creates the task."""
    target = parse_callback_url(url, settings)
    resolve(target)
    return target


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``address``, with the URL's host in the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``address``; the certificate is checked against the URL's host name (SNI too)."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def connection(target: CallbackTarget, address: str, timeout: float) -> http.client.HTTPConnection:
    """A connection to ``address`` (from ``resolve``) that speaks to ``target``'s host."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target.host, target.port, address, timeout)
    return _PinnedHTTPConnection(target.host, target.port, address, timeout)
