"""Where uploads live, behind one small interface: a local (or mounted) folder, or a bucket.

An upload is stored under ``fastaudio-<uuid>/<safe name>`` and addressed by that relative *key*. The database
stores the key, never an absolute path or URL, so a worker on another machine finds the file under
its own root. Code that needs the bytes as a file (FFmpeg wants a path) asks for
``open_local(key)``: a folder storage hands out the file itself, a remote one downloads it into a
private temporary folder and removes it afterwards. Nothing assumes that the process that stored a
file shares a disk with the process that reads it.

``open_storage(settings)`` picks the implementation: ``STORAGE_URL`` empty (``DATA_DIR/uploads``) or
a plain path is a ``LocalStorage``; any other fsspec URL (``s3://bucket/prefix``) is an
``FsspecStorage`` (``services/storage/remote.py``).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from services.errors import StorageError

if TYPE_CHECKING:
    from services.config import Settings

__all__ = ["LocalStorage", "Storage", "StorageError", "StoredFile", "new_key", "open_storage", "safe_name"]

_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)
MAX_NAME_LENGTH = 120
WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
"""Names Windows will not create a file under, whatever the extension (a share may be mounted there)."""
COPY_CHUNK = 1024 * 1024


def safe_name(filename: str) -> str:
    """A file name that is safe to store: no folders, no control characters, no leading dots.

    Unicode letters are kept (an analyst's "Besprechung_Müller.m4a" stays readable); anything that
    could climb out of the upload folder (``../``, absolute paths, NUL bytes) is removed.
    """
    name = unicodedata.normalize("NFC", filename or "")
    name = name.replace("\x00", "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        return "recording"
    if name.split(".")[0].upper() in WINDOWS_RESERVED:
        name = "_" + name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name[:MAX_NAME_LENGTH]
    return f"{stem[: MAX_NAME_LENGTH - len(ext) - 1]}.{ext[:16]}"


FOLDER_PREFIX = "fastaudio-"
_OUR_FOLDER = re.compile(re.escape(FOLDER_PREFIX) + r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_key(filename: str) -> str:
    """A fresh key for an upload: ``fastaudio-<uuid>/<safe name>``.

    The prefix marks the folder as FastAudio's: housekeeping deletes only folders named like this, so
    a ``STORAGE_URL`` or ``DATA_DIR`` that other programs share is never emptied of their files.
    """
    return f"{FOLDER_PREFIX}{uuid.uuid4()}/{safe_name(filename)}"


def is_upload_folder(name: str) -> bool:
    """Whether ``name`` is a folder ``new_key`` made (``fastaudio-`` and a UUID), i.e. FastAudio wrote it."""
    return _OUR_FOLDER.fullmatch(name) is not None


def check_key(key: str) -> str:
    """``key`` if it is one of ours (``<folder>/<name>``, no ``..``); raises ``StorageError`` otherwise."""
    parts = (key or "").split("/")
    if len(parts) != 2 or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
        raise StorageError(f"Refusing a storage key outside the upload folder: {key!r}.")
    return key


def write_stream(data: bytes | BinaryIO, out: BinaryIO) -> int:
    """Copy ``data`` into ``out`` in 1 MiB chunks (never the whole upload in memory); returns bytes written."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        out.write(data)
        return len(data)
    written = 0
    while chunk := data.read(COPY_CHUNK):
        out.write(chunk)
        written += len(chunk)
    return written


@dataclass(frozen=True)
class StoredFile:
    """What ``save`` stored: the key to put in the database and the size in bytes."""

    key: str
    size_bytes: int


class Storage(Protocol):
    """What FastAudio needs from an upload store. Every method may raise ``StorageError``."""

    location: str
    """Where the files are, for people (the System page, logs): a folder or a URL."""

    def save(self, filename: str, data: bytes | BinaryIO) -> StoredFile:
        """Store an upload under a fresh key (streamed, not read into memory) and return it."""
        ...

    def open_local(self, key: str) -> AbstractContextManager[Path]:
        """A local file with the stored bytes for the duration of the ``with`` block.

        The file keeps the upload's name (error messages quote it). Remote stores download into a
        private temporary folder that is removed when the block ends.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove a stored upload (a missing one is fine)."""
        ...

    def folders(self) -> Iterator[tuple[str, float]]:
        """``(folder name, last modified as a Unix time)`` of every upload folder (housekeeping)."""
        ...

    def delete_folder(self, name: str) -> None:
        """Remove one upload folder and what is in it."""
        ...


class LocalStorage:
    """Uploads in a folder: ``DATA_DIR/uploads`` on one machine, or a volume every machine mounts."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def save(self, filename: str, data: bytes | BinaryIO) -> StoredFile:
        """Store an upload under a fresh folder and return its key."""
        key = new_key(filename)
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as out:
                write_stream(data, out)
        except OSError as exc:
            raise StorageError(f"Could not store the upload: {exc.strerror or exc}.") from exc
        return StoredFile(key=key, size_bytes=path.stat().st_size)

    def path(self, key: str) -> Path:
        """The local path of a key; refuses keys that would leave the storage root."""
        path = (self.root / check_key(key)).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageError(f"Refusing a storage key outside the upload folder: {key!r}.")
        return path

    @contextmanager
    def open_local(self, key: str) -> Iterator[Path]:
        """The stored file itself (no copy)."""
        path = self.path(key)
        if not path.is_file():
            raise StorageError(f"The stored file {path.name} is missing from {self.location}.")
        yield path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove a stored file and its folder (missing files are fine)."""
        self.delete_folder(check_key(key).split("/", 1)[0])

    def folders(self) -> Iterator[tuple[str, float]]:
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if folder.is_dir():
                    yield folder.name, folder.stat().st_mtime

    def delete_folder(self, name: str) -> None:
        folder = self.path(f"{name}/-").parent
        shutil.rmtree(folder, ignore_errors=True)


def open_storage(settings: Settings) -> Storage:
    """The storage ``settings`` ask for: ``STORAGE_URL`` if set, else ``DATA_DIR/uploads``.

    A plain path or ``file://`` URL is a folder (``LocalStorage``); anything else (``s3://...``,
    ``gcs://...``) goes through fsspec, with the ``S3_*`` settings for S3-compatible servers.
    """
    url = settings.storage_url.strip()
    if not url:
        return LocalStorage(settings.uploads_dir)
    if "://" not in url or url.startswith("file://"):
        return LocalStorage(Path(url.removeprefix("file://")).expanduser().resolve())

    from services.storage.remote import FsspecStorage, s3_options

    return FsspecStorage(url, s3_options(settings) if url.startswith(("s3://", "s3a://")) else {})
