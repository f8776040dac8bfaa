"""Uploads in a bucket (S3, MinIO, Ceph, GCS...) through fsspec, for workers that share no disk.

The web process streams each upload into ``<STORAGE_URL>/fastaudio-<uuid>/<safe name>``; a worker downloads
the object into a private temporary folder to decode it (FFmpeg wants a file it can seek in) and
removes the folder when the analysis ends, whatever the outcome.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import fsspec

from services.config import Settings
from services.errors import StorageError
from services.storage.files import StoredFile, check_key, new_key, write_stream

# s3fs writes in parts of this size (the S3 multipart minimum is 5 MiB), so an upload never sits
# in memory whole.
BLOCK_SIZE = 8 * 1024 * 1024


def s3_options(settings: Settings) -> dict[str, Any]:
    """s3fs options from the ``S3_*`` settings (empty ones are left to s3fs's own defaults)."""
    options: dict[str, Any] = {
        # Another process writes and deletes objects: never answer from a cached listing.
        "use_listings_cache": False,
        "skip_instance_cache": True,
    }
    if settings.s3_endpoint_url:
        options["endpoint_url"] = settings.s3_endpoint_url
    if settings.s3_access_key_id:
        options["key"] = settings.s3_access_key_id
    if settings.s3_secret_access_key:
        options["secret"] = settings.s3_secret_access_key
    if settings.s3_region:
        options["client_kwargs"] = {"region_name": settings.s3_region}
    return options


class FsspecStorage:
    """Uploads under an fsspec URL such as ``s3://bucket/prefix``."""

    def __init__(self, url: str, options: dict[str, Any] | None = None, *, temp_dir: Path | None = None) -> None:
        self.location = url.rstrip("/")
        self.temp_dir = temp_dir
        try:
            self.fs, root = fsspec.core.url_to_fs(self.location, **(options or {}))
        except (ImportError, ValueError) as exc:
            raise StorageError(f"STORAGE_URL={url} cannot be opened: {exc}") from exc
        self.root = root.rstrip("/")

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}"

    def _fail(self, action: str, exc: Exception) -> StorageError:
        return StorageError(f"Could not {action} {self.location}: {type(exc).__name__}: {exc}")

    def save(self, filename: str, data: bytes | BinaryIO) -> StoredFile:
        """Stream an upload into the bucket under a fresh key."""
        key = new_key(filename)
        remote = self._path(key)
        try:
            with self.fs.open(remote, "wb", block_size=BLOCK_SIZE) as out:
                size = write_stream(data, out)
        except Exception as exc:  # s3fs, botocore and aiohttp raise many types for "it did not work"
            raise self._fail("store the upload in", exc) from exc
        return StoredFile(key=key, size_bytes=size)

    @contextmanager
    def open_local(self, key: str) -> Iterator[Path]:
        """Download ``key`` into a private temporary folder; the folder is removed afterwards."""
        remote = self._path(key)
        folder = Path(tempfile.mkdtemp(prefix="fastaudio-", dir=self.temp_dir))
        try:
            local = folder / key.rsplit("/", 1)[-1]
            try:
                self.fs.get_file(remote, str(local))
            except FileNotFoundError as exc:
                raise StorageError(f"The stored file {local.name} is missing from {self.location}.") from exc
            except Exception as exc:
                raise self._fail("download from", exc) from exc
            yield local
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def exists(self, key: str) -> bool:
        remote = self._path(key)
        try:
            return bool(self.fs.isfile(remote))
        except Exception as exc:
            raise self._fail("read", exc) from exc

    def delete(self, key: str) -> None:
        """Remove the upload's folder (its one object); a missing one is fine."""
        self.delete_folder(check_key(key).split("/", 1)[0])

    def folders(self) -> Iterator[tuple[str, float]]:
        """``(folder, newest modification time)`` of every upload folder in the bucket."""
        newest: dict[str, float] = {}
        try:
            for path, info in self.fs.find(self.root, detail=True).items():
                folder = path[len(self.root) :].strip("/").split("/", 1)[0]
                modified = info.get("LastModified") or info.get("mtime") or 0
                stamp = modified.timestamp() if hasattr(modified, "timestamp") else float(modified)
                newest[folder] = max(newest.get(folder, 0.0), stamp)
        except FileNotFoundError:
            return iter(())
        except Exception as exc:
            raise self._fail("list", exc) from exc
        return iter(newest.items())

    def delete_folder(self, name: str) -> None:
        if not name or "/" in name or name in (".", ".."):
            raise StorageError(f"Refusing to delete {name!r} from {self.location}.")
        try:
            self.fs.rm(f"{self.root}/{name}", recursive=True)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise self._fail("delete from", exc) from exc
