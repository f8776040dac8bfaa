"""The objects every edge (page, task, CLI) needs, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from services.config import Settings, get_settings
from services.runtime.queue import JobQueue
from services.storage.files import Storage, open_storage
from services.store.artifacts_repo import ArtifactRepo
from services.store.db import get_engine, migrate
from services.store.edits_repo import EditsRepo
from services.store.tasks_repo import TaskRepo
from services.store.voices_repo import VoiceRepo
from services.store.watched_repo import WatchedRepo
from services.store.webhooks_repo import WebhookRepo


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    repo: TaskRepo
    storage: Storage
    edits: EditsRepo
    """Analysts' corrections (speaker names, merges, corrected segments)."""
    artifacts: ArtifactRepo
    """What analyses left for re-runs (transcripts, voice embeddings)."""
    queue: JobQueue
    """Sends task rows to the workers; builds its Celery app on the first send."""
    webhooks: WebhookRepo
    """Completion callbacks still owed (``callback_url``)."""
    watched: WatchedRepo
    """The watch folder's files, by content hash."""
    voices: VoiceRepo
    """The voice library (``voices.enabled`` is VOICE_LIBRARY)."""


def build_context(settings: Settings, *, run_migrations: bool = True) -> AppContext:
    """Connect to the database (migrating it to the newest schema) and open the upload storage."""
    if run_migrations:
        migrate(settings.database_url)
    engine = get_engine(settings.database_url, settings.database_busy_timeout_seconds)
    return AppContext(
        settings=settings,
        repo=TaskRepo(engine),
        storage=open_storage(settings),
        edits=EditsRepo(engine),
        artifacts=ArtifactRepo(engine),
        queue=JobQueue(settings),
        webhooks=WebhookRepo(engine),
        watched=WatchedRepo(engine),
        voices=VoiceRepo(engine, enabled=settings.voice_library, auto_name=settings.voice_auto_name),
    )


@lru_cache(maxsize=1)
def get_context() -> AppContext:
    """The process-wide context (tests call ``get_context.cache_clear()`` with ``get_settings``'s)."""
    return build_context(get_settings())
