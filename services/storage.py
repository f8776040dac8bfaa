"""Where uploads live: ``DATA_DIR/uploads/<uuid>/<safe name>``, addressed by a relative key.

The database stores the key, never an absolute path, so a worker on another machine that mounts
the same storage finds the file under its own root.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from services.errors import FastAudioError

_UNSAFE = re.compile(r"[^\w.\- ()\[\]]+", re.UNICODE)
MAX_NAME_LENGTH = 120
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
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name[:MAX_NAME_LENGTH]
    return f"{stem[: MAX_NAME_LENGTH - len(ext) - 1]}.{ext[:16]}"


@dataclass(frozen=True)
class StoredFile:
    key: str
    size_bytes: int


class StorageError(FastAudioError):
    """The storage could not be written or read."""

    retryable = True


class LocalStorage:
    """Uploads on a local (or shared, mounted) folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def save(self, filename: str, data: bytes | BinaryIO) -> StoredFile:
        """Store an upload under a fresh folder and return its key."""
        key = f"{uuid.uuid4()}/{safe_name(filename)}"
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as out:
                if isinstance(data, (bytes, bytearray, memoryview)):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, COPY_CHUNK)
        except OSError as exc:
            raise StorageError(f"Could not store the upload: {exc.strerror or exc}.") from exc
        return StoredFile(key=key, size_bytes=path.stat().st_size)

    def path(self, key: str) -> Path:
        """The local path of a key; refuses keys that would leave the storage root."""
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise StorageError(f"Refusing a storage key outside the upload folder: {key!r}.")
        return path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove a stored file and its folder (missing files are fine)."""
        self.delete_folder(key.split("/", 1)[0])

    def folders(self) -> Iterator[tuple[str, float]]:
        """``(folder name, modification time)`` of every upload folder."""
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if folder.is_dir():
                    yield folder.name, folder.stat().st_mtime

    def delete_folder(self, name: str) -> None:
        folder = self.path(f"{name}/-").parent
        if folder != self.root.resolve():
            shutil.rmtree(folder, ignore_errors=True)
