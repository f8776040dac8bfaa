"""Both storages behind the one interface: a folder, and an S3 bucket on a real S3-compatible server."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

from services.analysis.options import AnalysisOptions
from services.config import Settings
from services.errors import StorageError
from services.jobs.submissions import submit
from services.storage.files import LocalStorage, Storage, open_storage
from services.storage.remote import FsspecStorage, s3_options
from tests.s3 import S3Server, s3_server


@pytest.fixture(scope="module")
def s3():  # type: ignore[no-untyped-def]
    with s3_server() as server:
        yield server


def _s3_settings(s3: S3Server, **extra: object) -> Settings:
    env = {k.lower(): v for k, v in s3.environment.items()}
    return Settings(**env, **extra)  # type: ignore[arg-type]


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path: Path, s3: S3Server) -> Storage:  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalStorage(tmp_path / "uploads")
    remote = open_storage(_s3_settings(s3))
    assert isinstance(remote, FsspecStorage)
    remote.temp_dir = tmp_path / "worker-tmp"
    remote.temp_dir.mkdir()
    return remote


def test_save_streams_and_open_local_gives_the_same_bytes_under_the_upload_name(storage: Storage, data: Path) -> None:
    original = (data / "jfk.flac").read_bytes()
    with open(data / "jfk.flac", "rb") as f:
        stored = storage.save("../../Besprechung Müller.flac", f)
    assert stored.size_bytes == len(original)
    assert stored.key.endswith("/Besprechung Müller.flac") and ".." not in stored.key
    assert storage.exists(stored.key)
    with storage.open_local(stored.key) as local:
        assert local.name == "Besprechung Müller.flac"  # error messages quote the user's file name
        assert local.read_bytes() == original
    storage.delete(stored.key)
    assert not storage.exists(stored.key)
    storage.delete(stored.key)  # deleting twice is fine


def test_remote_copies_are_removed_after_use_even_on_error(s3: S3Server, tmp_path: Path) -> None:
    remote = FsspecStorage(_s3_settings(s3).storage_url, s3_options(_s3_settings(s3)), temp_dir=tmp_path)
    stored = remote.save("a.wav", b"RIFF....")
    with pytest.raises(RuntimeError), remote.open_local(stored.key) as local:
        assert local.is_file() and tmp_path in local.parents
        raise RuntimeError("the analysis crashed")
    assert list(tmp_path.iterdir()) == []
    assert any(key.endswith("/a.wav") for key in s3.object_keys())


def test_missing_files_and_foreign_keys_are_storage_errors(storage: Storage) -> None:
    with pytest.raises(StorageError, match="missing"), storage.open_local("0000/gone.wav"):
        pass
    for key in ("../../etc/passwd", "/etc/passwd", "a/../../b", "just-a-name", ""):
        with pytest.raises(StorageError, match="outside the upload folder"):
            storage.exists(key)


def test_an_unreachable_bucket_is_a_storage_error_with_the_location(tmp_path: Path) -> None:
    from services.runtime.broker import free_port

    settings = Settings(storage_url="s3://nowhere/x", s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
                        s3_access_key_id="k", s3_secret_access_key="s", data_dir=tmp_path)  # fmt: skip
    # s3fs and botocore retry a refused connection several times with backoff; once is enough here.
    remote = FsspecStorage(
        settings.storage_url, {**s3_options(settings), "retries": 1, "config_kwargs": {"retries": {"max_attempts": 1}}}
    )
    with pytest.raises(StorageError, match="s3://nowhere/x"):
        remote.save("a.wav", b"data")


def test_open_storage_follows_storage_url(tmp_path: Path) -> None:
    assert isinstance(open_storage(Settings(data_dir=tmp_path)), LocalStorage)
    assert open_storage(Settings(data_dir=tmp_path)).root == tmp_path.resolve() / "uploads"
    shared = open_storage(Settings(data_dir=tmp_path, storage_url=f"file://{tmp_path}/shared"))
    assert isinstance(shared, LocalStorage) and shared.root == tmp_path / "shared"
    assert open_storage(Settings(data_dir=tmp_path, storage_url=str(tmp_path / "mnt"))).root == tmp_path / "mnt"


def test_submit_through_s3_stores_the_object_and_drops_unusable_ones(ctx, s3: S3Server, data: Path) -> None:  # type: ignore[no-untyped-def]
    remote = open_storage(_s3_settings(s3))
    sent: list[str] = []
    good = submit(filename="jfk.flac", data=io.BytesIO((data / "jfk.flac").read_bytes()), options=AnalysisOptions(),
                  repo=ctx.repo, storage=remote, settings=ctx.settings, enqueue=sent.append)  # fmt: skip
    assert good.enqueued and sent == [good.task.id]
    assert good.task.recording.duration == pytest.approx(11.0)
    assert f"uploads/{good.task.recording.stored_path}" in s3.object_keys()

    before = set(s3.object_keys())
    bad = submit(filename="minutes.wav", data=b"not audio at all" * 100, options=AnalysisOptions(),
                 repo=ctx.repo, storage=remote, settings=ctx.settings, enqueue=sent.append)  # fmt: skip
    assert bad.task.status == "failed" and bad.task.error.startswith("minutes.wav is not an audio file")
    assert set(s3.object_keys()) == before  # the unusable upload was removed from the bucket
    assert not list(Path(tempfile.gettempdir()).glob("fastaudio-*/minutes.wav"))


class _Reads(io.BytesIO):
    """A stream that remembers the largest read asked of it."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        self.largest = max(self.largest, len(self.getbuffer()) if size is None or size < 0 else size)
        return super().read(size)


def test_uploads_are_copied_in_chunks_never_read_whole(storage: Storage) -> None:
    upload = _Reads(b"\0" * (12 * 1024 * 1024))  # 12 MiB; s3fs sends it as a multipart upload
    stored = storage.save("big.wav", upload)
    assert stored.size_bytes == 12 * 1024 * 1024
    assert upload.largest == 1024 * 1024
    with storage.open_local(stored.key) as local:
        assert local.stat().st_size == stored.size_bytes
