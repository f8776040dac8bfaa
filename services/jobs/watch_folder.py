"""The watch folder: audio files dropped into WATCH_DIR are analysed once each, their exports written beside them.

One ``WatchFolder.poll`` is a scan of the folder (and its sub-folders) followed by a look at the
tasks it submitted:

* **Complete files only.** A file is read once its size and modification time have stayed the same
  for WATCH_STABLE_SECONDS over at least two scans; names starting with ``.`` and ending in
  ``.part``, ``.tmp``, ``.crdownload`` or ``.partial`` (how copy tools name a file they are
  still writing) are never read.
* **Once per content.** A file is known by the SHA-256 of its bytes (``watched_files``): renamed,
  moved or copied within the folder, it is not analysed again; if it was done, its exports are
  written beside the new name. A file that disappears before or while it is read is skipped.
* **Options** come from a sidecar ``<name>.json`` (``interview.wav.json``), else ``fastaudio.json``
  in the file's folder, else the defaults: a JSON object of ``AnalysisOptions`` fields.
* **Submission** goes through ``services.jobs.submissions.submit``, so the tasks are in History
  like any upload (a file that cannot be analysed is a failed task there, with the reason).
* **Exports** (WATCH_FORMATS) are written beside the file when its task completes: ``<stem>.<ext>``
  (``interview.srt``), or ``<name>.<ext>`` (``interview.wav.srt``) when that name is taken; an existing
  file is never overwritten. They are written under a temporary name and renamed, so a program
  watching for them never reads half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

from services.analysis.options import AnalysisOptions
from services.config import Settings
from services.errors import FastAudioError, InvalidOptions
from services.jobs.submissions import ANALYZE, submit
from services.results.edits import apply_edits
from services.results.exports import FORMATS, render
from services.schema import AnalysisResult
from services.storage.files import Storage
from services.store.edits_repo import EditsRepo
from services.store.models import COMPLETED
from services.store.task_views import TaskView
from services.store.tasks_repo import TaskRepo
from services.store.watched_repo import EXPORTED, FAILED, SUBMITTED, SUBMITTING, WatchedRepo

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset(
    (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".webm", ".wma", ".aif", ".aiff",
     ".mp4", ".m4v", ".mov", ".mkv", ".avi")
)  # fmt: skip
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")
FOLDER_OPTIONS = "fastaudio.json"
"""Options for every file in its folder that has no ``<name>.json`` of its own."""
HASH_CHUNK = 1024 * 1024


def parse_formats(text: str) -> tuple[str, ...]:
    """WATCH_FORMATS (``"srt,txt"``) as format names, each one of ``services.results.exports.FORMATS``."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise InvalidOptions(f"WATCH_FORMATS={text!r}: use a comma-separated list of {', '.join(FORMATS)}.")
    return names


def candidates(folder: Path) -> Iterator[Path]:
    """Audio files under ``folder``, hidden folders and files and half-written names left out."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            lower = name.lower()
            if name.startswith(".") or lower.endswith(PARTIAL_SUFFIXES):
                continue
            if os.path.splitext(lower)[1] in AUDIO_EXTENSIONS:
                yield Path(root) / name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def options_for(path: Path) -> AnalysisOptions:
    """The sidecar's options (``<name>.json``, else the folder's ``fastaudio.json``), else the defaults.

    Raises:
        InvalidOptions: the sidecar is not a JSON object of known options, or they contradict each other.
    """
    for sidecar in (path.with_name(path.name + ".json"), path.parent / FOLDER_OPTIONS):
        if not sidecar.is_file():
            continue
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            message = f"{sidecar.name} is not readable JSON ({exc}); fix it and the file is analysed."
            raise InvalidOptions(message) from exc
        known = [f.name for f in fields(AnalysisOptions)]
        if not isinstance(data, dict) or set(data) - set(known):
            raise InvalidOptions(f"{sidecar.name} must be a JSON object with only these keys: {', '.join(known)}.")
        try:
            return AnalysisOptions.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise InvalidOptions(f"{sidecar.name}: {exc}") from exc
    return AnalysisOptions()


def export_target(source: Path, ext: str) -> Path | None:
    """Where one export of ``source`` goes: ``<stem>.<ext>``, else ``<name>.<ext>``; None when both exist."""
    for target in (source.with_suffix(f".{ext}"), source.with_name(f"{source.name}.{ext}")):
        if not target.exists():
            return target
    return None


def has_exports(source: Path, formats: tuple[str, ...]) -> bool:
    return all(
        source.with_suffix(f".{FORMATS[f].extension}").exists()
        or source.with_name(f"{source.name}.{FORMATS[f].extension}").exists()
        for f in formats
    )


def write_exports(source: Path, task: TaskView, formats: tuple[str, ...], edits: EditsRepo) -> list[Path]:
    """The completed task's exports beside ``source`` (names and corrections applied); the paths written."""
    assert task.result is not None
    result = apply_edits(AnalysisResult.from_dict(task.result), edits.load(task.id))
    written = []
    for name in formats:
        target = export_target(source, FORMATS[name].extension)
        if target is None:
            log.warning("not writing the %s export of %s: both names are taken", name, source)
            continue
        content = render(result, name, file_id=source.stem)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        partial = target.with_name(f".{target.name}.fastaudio-partial")
        partial.write_bytes(data)
        os.replace(partial, target)
        written.append(target)
    return written


@dataclass
class StabilityTracker:
    """Says when a file has stopped changing: same size and mtime for ``stable_seconds``, over two scans at least."""

    stable_seconds: float
    _seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)

    def stable(self, path: Path, stat: os.stat_result, now: float) -> bool:
        state = (stat.st_size, stat.st_mtime_ns)
        seen = self._seen.get(path)
        if seen is None or seen[:2] != state:
            self._seen[path] = (*state, now)
            return False
        return stat.st_size > 0 and now - seen[2] >= self.stable_seconds

    def keep_only(self, present: set[Path]) -> None:
        for path in set(self._seen) - present:
            del self._seen[path]


@dataclass
class WatchFolder:
    """One watch folder over the task table; ``poll`` does a scan and finishes ended tasks."""

    folder: Path
    formats: tuple[str, ...]
    tasks: TaskRepo
    watched: WatchedRepo
    edits: EditsRepo
    storage: Storage
    settings: Settings
    enqueue: Callable[[str], None]
    clock: Callable[[], float] = time.monotonic
    tracker: StabilityTracker = field(init=False)
    _handled: set[tuple[Path, int, int]] = field(default_factory=set, init=False)
    """Versions of files (path, size, mtime) with nothing more to do: not read again."""
    _hashes: dict[tuple[Path, int, int], str] = field(default_factory=dict, init=False)
    """Content hashes of the versions seen, so a file waiting for its task is not hashed at every scan."""
    _complaints: dict[Path, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.tracker = StabilityTracker(self.settings.watch_stable_seconds)
        for row in self.watched.in_state(SUBMITTING):  # a watcher stopped half-way: read those files again
            self.watched.forget(row.sha256)

    def poll(self) -> None:
        self.scan()
        self.finish_ended()

    def scan(self) -> None:
        """Submit every new, complete audio file; write exports beside known, done files that have none."""
        now, present = self.clock(), set()
        for path in candidates(self.folder):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # gone between the listing and now
            present.add(path)
            key = (path, stat.st_size, stat.st_mtime_ns)
            if key in self._handled or not self.tracker.stable(path, stat, now):
                continue
            try:
                sha = self._hashes[key] if key in self._hashes else file_sha256(path)
                self._hashes[key] = sha
                handled = self._handle(path, sha)
            except FileNotFoundError:
                continue  # disappeared while it was read: nothing to do
            if handled:
                self._handled.add(key)
        self.tracker.keep_only(present)
        self._handled = {key for key in self._handled if key[0] in present}
        self._hashes = {key: sha for key, sha in self._hashes.items() if key[0] in present}

    def _handle(self, path: Path, sha: str) -> bool:
        """Submit ``path`` if its content is new; True when nothing more is to be done for this version of it."""
        known = self.watched.get(sha)
        if known is not None:
            return self._known(path, known.sha256, known.path, known.state, known.task_id)
        try:
            options = options_for(path)
        except InvalidOptions as exc:
            if self._complaints.get(path) != str(exc):  # say it once, not at every scan
                log.warning("watch folder: %s not analysed: %s", path, exc)
                self._complaints[path] = str(exc)
            return False
        if not self.watched.claim(sha, str(path)):
            return True
        try:
            with path.open("rb") as data:
                submission = submit(
                    filename=path.name, data=data, options=options, repo=self.tasks, storage=self.storage,
                    settings=self.settings, enqueue=self.enqueue, kind=ANALYZE,
                )  # fmt: skip
        except (FileNotFoundError, FastAudioError) as exc:  # vanished, or the storage failed: try again later
            self.watched.forget(sha)
            log.warning("watch folder: %s not submitted: %s", path, exc)
            return False
        error = str(submission.error) if submission.error else None
        self.watched.update(sha, state=FAILED if error else SUBMITTED, task_id=submission.task.id, detail=error)
        log.info("watch folder: %s submitted as task %s", path, submission.task.id)
        return True

    def _known(self, path: Path, sha: str, known_path: str, state: str, task_id: str | None) -> bool:
        """A content already submitted, seen at ``path`` (itself, renamed, moved or a copy): never analysed again.

        Returns True once nothing more is to be done; a file whose task still runs is looked at again.
        """
        if state in (SUBMITTING, SUBMITTED):
            if known_path != str(path) and not Path(known_path).exists():
                self.watched.update(sha, path=str(path))  # moved while it runs: the exports follow it
            return False
        if state == EXPORTED and task_id and not has_exports(path, self.formats):
            task = self.tasks.get(task_id)
            if task is not None and task.result is not None:
                write_exports(path, task, self.formats, self.edits)
                self.watched.update(sha, path=str(path))
        return True

    def finish_ended(self) -> None:
        """Write the exports of every submitted file whose task has completed; note the ones that failed."""
        for row in self.watched.in_state(SUBMITTED):
            task = self.tasks.get(row.task_id) if row.task_id else None
            if task is None:
                self.watched.update(row.sha256, state=FAILED, detail="its task was deleted")
                continue
            if not task.is_final:
                continue
            source = Path(row.path)
            if task.status != COMPLETED or task.result is None:
                self.watched.update(row.sha256, state=FAILED, detail=task.error or task.status)
                continue
            written = write_exports(source, task, self.formats, self.edits) if source.exists() else []
            detail = ", ".join(p.name for p in written) if written else "the file was gone; no exports written"
            self.watched.update(row.sha256, state=EXPORTED, detail=detail)
            log.info("watch folder: %s done (%s)", source, detail)
