"""The watch folder: real files in a temporary folder, the real database and storage; end to end the
session's real worker analyses a dropped file and its SRT appears beside it.

The scans are driven by the test with a clock of its own (``WatchFolder.clock``), so "stable for
WATCH_STABLE_SECONDS" is decided by the test's steps, not by how fast this machine is.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import delete

from services.errors import InvalidOptions
from services.jobs.watch_folder import file_sha256, options_for, parse_formats
from services.runtime.context import AppContext
from services.runtime.watcher import watch_folder
from services.store.db import session_scope
from services.store.models import WatchedFile
from services.store.watched_repo import EXPORTED
from tests.helpers import ROOT, child_env, wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _folder(ctx: AppContext, path: Path, *, enqueue=None, formats: str = "srt,txt"):  # type: ignore[no-untyped-def]
    """A WatchFolder over ``path``; ``enqueue`` None sends to the session's real queue."""
    settings = ctx.settings.model_copy(
        update={"watch_dir": path, "watch_formats": formats, "watch_stable_seconds": 3.0}
    )
    watch = watch_folder(replace(ctx, settings=settings))
    clock = Clock()
    watch.clock = clock
    if enqueue is not None:
        watch.enqueue = enqueue
    return watch, clock


@pytest.fixture(autouse=True)
def no_watched_files(ctx: AppContext) -> None:
    """Each test starts with no file known: several tests drop the same reference audio into one session database."""
    with session_scope(ctx.watched.engine) as session:
        session.execute(delete(WatchedFile))


def test_a_partially_written_file_is_read_only_once_complete(ctx: AppContext, data: Path, tmp_path: Path) -> None:
    sent: list[str] = []
    watch, clock = _folder(ctx, tmp_path / "in", enqueue=sent.append)
    audio = (data / "sample.wav").read_bytes()
    target = watch.folder / "growing.wav"
    (watch.folder / ".growing2.wav").write_bytes(audio)  # hidden: a copy tool's temporary name
    (watch.folder / "other.wav.part").write_bytes(audio)
    with target.open("wb") as out:
        for start in range(0, len(audio), len(audio) // 4):
            clock.now += 10  # long after WATCH_STABLE_SECONDS, but the file has changed meanwhile
            out.write(audio[start : start + len(audio) // 4])
            out.flush()
            watch.poll()
    assert sent == []  # the last poll saw the complete file for the first time
    clock.now += 3
    watch.poll()
    assert len(sent) == 1
    task = ctx.repo.require(sent[0])
    assert task.recording.filename == "growing.wav" and task.recording.size_bytes == len(audio)
    assert task.status in ("queued", "processing") and task.options == {}
    for _ in range(3):
        clock.now += 10
        watch.poll()
    assert len(sent) == 1  # the same file is submitted once, hidden and partial names never


def test_options_come_from_the_sidecar_then_the_folder_file(tmp_path: Path) -> None:
    audio = tmp_path / "call.wav"
    assert options_for(audio).to_dict() == {}
    (tmp_path / "fastaudio.json").write_text('{"max_speakers": 4}')
    assert options_for(audio).to_dict() == {"max_speakers": 4}
    (tmp_path / "call.wav.json").write_text('{"num_speakers": 2}')
    assert options_for(audio).to_dict() == {"num_speakers": 2}
    for text, message in (
        ("{not json", "not readable JSON"),
        ('{"speakers": 2}', "only these keys"),
        ('{"min_speakers": 3, "max_speakers": 2}', "above the maximum"),
    ):
        (tmp_path / "call.wav.json").write_text(text)
        with pytest.raises(InvalidOptions, match=message):
            options_for(audio)
    assert parse_formats(" SRT, txt,srt ") == ("srt", "txt")
    with pytest.raises(InvalidOptions, match="WATCH_FORMATS"):
        parse_formats("srt,pdf")


def test_a_file_with_a_bad_sidecar_waits_until_it_is_fixed(ctx: AppContext, data: Path, tmp_path: Path) -> None:
    sent: list[str] = []
    watch, clock = _folder(ctx, tmp_path / "in", enqueue=sent.append)
    shutil.copy(data / "empty.wav", watch.folder / "quiet.wav")
    (watch.folder / "quiet.wav.json").write_text('{"num_speakers": 0}')
    for _ in range(3):
        watch.poll()
        clock.now += 5
    assert sent == []
    (watch.folder / "quiet.wav.json").write_text('{"num_speakers": 1}')
    watch.poll()
    assert len(sent) == 1 and ctx.repo.require(sent[0]).options == {"num_speakers": 1}


def test_a_dropped_file_gets_its_srt_and_a_renamed_one_is_not_analysed_again(
    ctx: AppContext, worker, data: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    watch, clock = _folder(ctx, tmp_path / "in")
    (watch.folder / "talks").mkdir()
    source = watch.folder / "talks" / "jfk.flac"
    shutil.copy(data / "jfk.flac", source)
    (watch.folder / "talks" / "jfk.flac.json").write_text(json.dumps({"num_speakers": 1}))

    sha, tasks_before = file_sha256(source), ctx.repo.count()
    srt, copy = watch.folder / "talks" / "jfk.srt", watch.folder / "copy.flac"
    deadline = time.monotonic() + 300
    while not srt.exists() and time.monotonic() < deadline:
        watch.poll()
        clock.now += 5
        if not copy.exists() and ctx.watched.get(sha):
            shutil.copy(source, copy)  # a copy of a file already submitted (its task may still run)
        time.sleep(0.5)
    assert srt.exists(), "no SRT within 300 s"
    for _ in range(3):
        watch.poll()
        clock.now += 5
    assert (watch.folder / "copy.srt").read_text() == srt.read_text()
    assert ctx.repo.count() == tasks_before + 1  # one task for the file and its copy
    row = ctx.watched.get(sha)
    assert row and row.task_id and row.state == EXPORTED and row.detail == "jfk.srt, jfk.txt"
    task_id = row.task_id
    task = ctx.repo.require(task_id)
    assert task.recording.filename == "jfk.flac"
    assert task.status == "completed" and task.options == {"num_speakers": 1}
    assert "-->" in srt.read_text() and "ask not" in srt.read_text().lower()
    assert "ask not" in (watch.folder / "talks" / "jfk.txt").read_text().lower()

    source.rename(watch.folder / "speech.flac")  # renamed and moved up a folder
    for _ in range(4):
        watch.poll()
        clock.now += 5
    assert ctx.repo.count() == tasks_before + 1  # not analysed again
    assert (watch.folder / "speech.srt").read_text() == srt.read_text()  # from the stored result
    row = ctx.watched.get(sha)
    assert row and row.task_id == task_id and row.path == str(watch.folder / "speech.flac")


def test_a_file_that_disappears_before_it_is_read_is_skipped(ctx: AppContext, data: Path, tmp_path: Path) -> None:
    sent: list[str] = []
    watch, clock = _folder(ctx, tmp_path / "in", enqueue=sent.append)
    shutil.copy(data / "sample.wav", watch.folder / "brief.wav")
    watch.poll()
    (watch.folder / "brief.wav").unlink()
    clock.now += 10
    watch.poll()
    assert sent == [] and ctx.watched.in_state("submitting") == []


def test_the_watcher_process_exports_and_stops_on_sigterm(
    environment: dict[str, str], worker, ctx: AppContext, data: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    tasks_before = ctx.repo.count()
    folder = tmp_path / "drop"
    env = child_env(
        **environment, WATCH_DIR=str(folder), WATCH_FORMATS="vtt", WATCH_STABLE_SECONDS="0.5",
        WATCH_INTERVAL_SECONDS="0.3",
    )  # fmt: skip
    log = tmp_path / "watcher.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.watcher"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: b"watching" in log.read_bytes(), 60, message="watcher start")
        shutil.copy(data / "jfk.flac", folder / "speech.flac")
        wait_for(lambda: (folder / "speech.vtt").exists(), 300, message="speech.vtt")
        assert (folder / "speech.vtt").read_text().startswith("WEBVTT")
        assert ctx.repo.count() == tasks_before + 1
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, log.read_text()[-3000:]


def test_the_watcher_refuses_an_unknown_export_format(environment: dict[str, str], tmp_path: Path) -> None:
    env = child_env(**environment, WATCH_DIR=str(tmp_path), WATCH_FORMATS="srt,pdf")
    command = [sys.executable, "-m", "services.runtime.watcher"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "WATCH_FORMATS='srt,pdf'" in done.stderr
