"""Engine, sessions and migrations for the task database (SQLite by default, any SQLAlchemy URL).

SQLite runs in WAL mode with a busy timeout so pages can read while a worker writes; write
transactions are kept short by the repository. Forked worker processes must call
``dispose_after_fork`` so they never share a connection inherited from their parent.

Every process (pages, API, each worker) migrates on start, often at the same moment. On PostgreSQL
the upgrade runs inside one transaction that first takes an advisory lock, so the processes take
turns and all but the first find nothing to do; on SQLite a migration that collides with another
one is retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite write waits for another writer before failing with "database is locked"."""
MIGRATION_LOCK_ID = 0x46415544  # "FAUD": the advisory lock key every FastAudio process migrates under
SQLITE_MIGRATION_ATTEMPTS = 5


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``; for SQLite, makes the parent folder and sets WAL and a busy timeout."""
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """One engine per URL per process."""
    if url not in _ENGINES:
        _ENGINES[url] = create_db_engine(url, busy_timeout_s)
    return _ENGINES[url]


def dispose_after_fork() -> None:
    """Drop pooled connections inherited from a parent process without closing the parent's."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A short transaction: commit on success, roll back on error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (safe to call from every process at once).

    PostgreSQL: the upgrade and ``pg_advisory_xact_lock`` share one transaction, so concurrent
    callers wait for the first and then see the schema at head. SQLite: a collision (``database is
    locked``, or a table another process created a moment earlier) is retried with a short backoff.
    """
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        _migrate_locked(url)
        return
    for attempt in range(1, SQLITE_MIGRATION_ATTEMPTS + 1):
        try:
            command.upgrade(alembic_config(url), "head")
            return
        except OperationalError:
            if backend != "sqlite" or attempt == SQLITE_MIGRATION_ATTEMPTS:
                raise
            log.info("migration collided with another process (attempt %d); retrying", attempt)
            time.sleep(0.2 * attempt)


def _migrate_locked(url: str) -> None:
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            config = alembic_config(url)
            config.attributes["connection"] = connection  # env.py migrates on this locked connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
