"""Every kind of bad input a user can cause, through the real queue and worker.

Each case ends as stated (``failed`` with a clear message, or ``completed`` with what is truly
there), the worker stays up, and the next good job still completes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.analysis.audio import decode
from tests.cluster import Cluster
from tests.hostile_media import crafted_wav, many_channel_wav
from tests.media import encode_audio, encode_video_only, resample

CLIP_S = 4


@pytest.fixture(scope="module")
def speech(data: Path) -> np.ndarray:
    return decode(data / "jfk.flac")[: CLIP_S * 16000]


def _corpus(folder: Path, data: Path, speech: np.ndarray) -> dict[str, tuple[Path, str, str]]:
    """name -> (file, expected status, text the error or transcript must contain)."""
    folder.mkdir()
    (folder / "zero.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("Action items: send the report by Friday.\n" * 40)
    (folder / "cut.mp3").write_bytes((data / "multilingual.mp3").read_bytes()[:100_000])
    wav = lambda name, audio, rate=16000, codec="pcm_s16le", channels=1: encode_audio(  # noqa: E731
        folder / name, audio, rate, codec, channels=channels, fmt="wav"
    )
    return {
        "0-byte file": (folder / "zero.wav", "failed", "zero.wav is empty (0 bytes)"),
        "text renamed .wav": (folder / "notes.wav", "failed", "notes.wav is not an audio file we can read"),
        "truncated mp3": (folder / "cut.mp3", "completed", "permission is hereby granted"),
        "video without audio": (encode_video_only(folder / "screen.mp4"), "failed", "screen.mp4 has no audio track"),
        "0.1 s of audio": (wav("blip.wav", speech[:1600]), "completed", ""),
        "1 hour of silence": (
            encode_audio(folder / "silence.flac", np.zeros(3600 * 16000, np.float32), 16000, "flac", fmt="flac"),
            "completed",
            "",
        ),
        "8 kHz phone audio": (wav("phone.wav", resample(speech, 16000, 8000), 8000), "completed", "fellow americans"),
        "48 kHz 6 channels": (
            wav("surround.wav", resample(speech, 16000, 48000), 48000, channels=6),
            "completed",
            "fellow americans",
        ),
        "float WAV": (wav("float.wav", speech, codec="pcm_f32le"), "completed", "fellow americans"),
        "64 channels, no layout": (
            many_channel_wav(folder / "array.wav", [speech] * 64),
            "completed",
            "fellow americans",
        ),
        "clipped audio": (wav("loud.wav", np.clip(speech * 12, -1, 1)), "completed", "americans"),
        "WAV header with no channels": (
            crafted_wav(folder / "none.wav", channels=0),
            "failed",
            "none.wav could not be decoded (its header states no audio channels)",
        ),
    }


def test_bad_input_corpus(cluster: Cluster, data: Path, speech: np.ndarray, tmp_path: Path, figures: list[str]) -> None:
    worker = cluster.start_worker()
    corpus = _corpus(tmp_path / "corpus", data, speech)
    submitted = {name: cluster.submit(path).task.id for name, (path, _, _) in corpus.items()}
    states = cluster.wait_final(list(submitted.values()), 600)

    outcomes = []
    for name, (_, expected, needle) in corpus.items():
        task = cluster.ctx.repo.require(submitted[name])
        shown = task.error if task.status == "failed" else (task.result or {}).get("text", "")
        outcomes.append(f"{name}: {task.status}")
        assert task.status == expected, f"{name}: {task.status} {task.error}"
        assert needle.lower() in (shown or "").lower(), f"{name}: {shown!r}"
        if expected == "completed" and not needle:
            assert task.result["segments"] == [] and task.result["speakers"] == []
    assert worker.poll() is None
    good = cluster.submit(data / "jfk.flac").task.id
    assert cluster.wait_final([good], 120)[good] == "completed"
    figures.append("Bad-input corpus: " + "; ".join(outcomes) + "; next job completed")
    assert sum(s == "failed" for s in states.values()) == 4


def test_limits_and_hostile_file_names(cluster: Cluster, data: Path, speech: np.ndarray, tmp_path: Path) -> None:
    cluster.start_worker()
    clip = encode_audio(tmp_path / "clip.wav", speech, 16000, "pcm_s16le", fmt="wav")

    cluster.settings = cluster.settings.model_copy(update={"max_upload_mb": 0})
    too_big = cluster.submit(clip).task
    assert too_big.status == "failed" and "MAX_UPLOAD_MB" in too_big.error
    cluster.settings = cluster.settings.model_copy(update={"max_upload_mb": 500, "max_duration_minutes": 0})
    too_long = cluster.submit(clip).task
    assert too_long.status == "failed" and "MAX_DURATION_MINUTES" in too_long.error
    cluster.settings = cluster.settings.model_copy(update={"max_duration_minutes": 240})

    names = {
        "../../etc/cron.d/evil.wav": "evil.wav",
        "/var/tmp/absolute.wav": "absolute.wav",
        "nul\x00byte.wav": "nulbyte.wav",
        "会議 Müller (final).wav": "会議 Müller (final).wav",
    }
    ids = {cluster.submit(clip, name=name).task.id: safe for name, safe in names.items()}
    states = cluster.wait_final(list(ids), 300)
    assert set(states.values()) == {"completed"}, states
    for task_id, safe in ids.items():
        task = cluster.ctx.repo.require(task_id)
        assert task.recording.filename == safe
        stored = cluster.ctx.storage.path(task.recording.stored_path)
        assert cluster.ctx.storage.root.resolve() in stored.parents and stored.name == safe
