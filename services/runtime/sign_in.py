"""Sign-in for the pages: password hashes, the users file, and a limit on failed attempts.

Users are ``name:hash`` lines (``PAGES_USERS``, or the file ``PAGES_USERS_FILE``); a hash is made by
``python -m cli hash-password``. Passwords are never stored, only a salted scrypt hash (PBKDF2-SHA256
hashes are accepted too), compared in constant time. Failed attempts are counted in Redis per user
and per client, so every web process behind a load balancer sees the same counts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from services.errors import FastAudioError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
"""scrypt cost: one of OWASP's equivalent minimum settings (N=2^14, r=8, p=5): 16 MiB, about 0.2 s of
CPU per attempt on the development VM (``hash_password`` measured with ``time.process_time``)."""
PBKDF2_MIN_ITERATIONS = 100_000
SALT_BYTES = 16
_DUMMY = "scrypt$16384$8$5$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
"""Hashed for unknown users, so that an unknown name takes as long as a wrong password."""


class SignInError(FastAudioError):
    """A users line or hash that cannot be used; says which and how to make a good one."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of ``password`` with a fresh random salt."""
    salt = salt or secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (scrypt or pbkdf2_sha256), compared in constant time."""
    try:
        scheme, *fields = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt, digest = fields
            expected = base64.b64decode(digest)
            got = hashlib.scrypt(
                password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected),
                maxmem=256 * 1024 * 1024,
            )  # fmt: skip
        elif scheme == "pbkdf2_sha256":
            iterations, salt, digest = fields
            expected = base64.b64decode(digest)
            got = hashlib.pbkdf2_hmac(
                "sha256", password.encode(), base64.b64decode(salt), int(iterations), len(expected)
            )
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def check_hash(stored: str) -> None:
    """Raise ``SignInError`` unless ``stored`` is a hash this module can verify."""
    scheme, *fields = stored.split("$")
    ok = (scheme == "scrypt" and len(fields) == 5) or (
        scheme == "pbkdf2_sha256"
        and len(fields) == 3
        and fields[0].isdigit()
        and int(fields[0]) >= PBKDF2_MIN_ITERATIONS
    )
    if not ok:
        raise SignInError(
            "A PAGES_USERS entry is not 'name:hash' with a scrypt or pbkdf2_sha256 hash "
            f"(pbkdf2 with at least {PBKDF2_MIN_ITERATIONS} iterations). "
            "Make one with: python -m cli hash-password NAME"
        )


def parse_users(text: str) -> dict[str, str]:
    """``{name: hash}`` from ``name:hash`` entries, one per line or separated by commas; ``#`` comments.

    Raises:
        SignInError: an entry is malformed.
    """
    users: dict[str, str] = {}
    for line in text.replace(",", "\n").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, stored = line.partition(":")
        if not sep or not name.strip():
            raise SignInError("A PAGES_USERS entry is not 'name:hash'. Make one with: python -m cli hash-password NAME")
        check_hash(stored.strip())
        users[name.strip()] = stored.strip()
    return users


class Counter(Protocol):
    """What the attempt limit needs from Redis (``redis.Redis`` has it)."""

    def incr(self, name: str) -> int: ...
    def expire(self, name: str, time: int) -> object: ...
    def get(self, name: str) -> bytes | str | int | None: ...
    def delete(self, *names: str) -> object: ...


@dataclass(frozen=True)
class AttemptLimit:
    """At most ``per_user`` failed sign-ins per name and ``per_client`` per client in ``window_s``."""

    counter: Counter
    per_user: int = 5
    per_client: int = 20
    window_s: int = 900
    prefix: str = "fastaudio:signin:"

    def _keys(self, user: str, client: str) -> tuple[str, str]:
        return f"{self.prefix}user:{user.lower()}", f"{self.prefix}client:{client}"

    def blocked(self, user: str, client: str) -> bool:
        user_key, client_key = self._keys(user, client)
        return (
            int(self.counter.get(user_key) or 0) >= self.per_user
            or int(self.counter.get(client_key) or 0) >= self.per_client
        )

    def failed(self, user: str, client: str) -> None:
        for key in self._keys(user, client):
            if self.counter.incr(key) == 1:
                self.counter.expire(key, self.window_s)  # the window starts at the first failure

    def succeeded(self, user: str) -> None:
        self.counter.delete(self._keys(user, "")[0])


@dataclass(frozen=True)
class Outcome:
    user: str | None
    message: str


def sign_in(name: str, password: str, client: str, users: dict[str, str], limit: AttemptLimit) -> Outcome:
    """Check ``name``/``password``; a refusal never says whether the name exists."""
    name = name.strip()
    if limit.blocked(name, client):
        minutes = limit.window_s // 60
        return Outcome(None, f"Too many failed sign-ins. Try again in up to {minutes} minutes.")
    ok = verify_password(password, users.get(name, _DUMMY)) and name in users
    if ok:
        limit.succeeded(name)
        return Outcome(name, "")
    limit.failed(name, client)
    return Outcome(None, "Wrong name or password.")


LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_local(address: str) -> bool:
    """Whether a listen address reaches only this machine (an empty address means every interface)."""
    return address in LOCAL_ADDRESSES or address.startswith("127.")


def exposure_problem(address: str, *, passwords: bool, oidc: bool, allow_open: bool, published: str = "") -> str | None:
    """Why the pages must not listen on ``address``: beyond this machine without any sign-in. None when fine.

    ``published``: in a container, the host address its port is published on; a loopback one keeps the pages
    on the host, whatever the container listens on.
    """
    if is_local(address) or (published and is_local(published)) or passwords or oidc or allow_open:
        return None
    where = f"address {address!r}" if address else "every network interface"
    return (
        f"FastAudio's pages would listen on {where} with no sign-in, so anyone who reaches the port could read, "
        "edit and delete every task. Set one of:\n"
        "  PAGES_USERS=name:hash (make the hash with: python -m cli hash-password NAME), or PAGES_USERS_FILE=path;\n"
        "  an OpenID Connect provider in .streamlit/secrets.toml [auth] (Streamlit's st.login);\n"
        "  PUBLISHED_ADDRESS=127.0.0.1 in a container whose port is published on 127.0.0.1 only;\n"
        "  ALLOW_OPEN_PAGES=true only behind a proxy that signs people in;\n"
        "or listen on localhost (--address localhost)."
    )
