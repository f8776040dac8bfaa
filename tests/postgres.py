"""A private PostgreSQL database per test module: created on the server at ``TEST_POSTGRES_URL``, dropped after.

Only a database named ``fastaudio_test_<random>`` is ever created or dropped; nothing else on the
server is touched.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import make_url

# The server's maintenance connection (trust auth on the test machine).
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)


def postgres_available() -> bool:
    try:
        with _admin():
            return True
    except Exception:
        return False


@contextmanager
def temporary_database() -> Iterator[str]:
    """A fresh, empty database; yields its SQLAlchemy URL (psycopg 3 driver)."""
    if not postgres_available():
        pytest.skip(f"no PostgreSQL answers at {ADMIN_URL} (set TEST_POSTGRES_URL)")
    name = f"fastaudio_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        from services.store.db import _ENGINES

        for key in [k for k in _ENGINES if name in k]:
            _ENGINES.pop(key).dispose()
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
