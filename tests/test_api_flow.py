"""The HTTP API end to end: a real uvicorn server, the session's real worker, polled like the seed's curl flow.

curl -F file=@sample.wav http://127.0.0.1:8000/analyze          -> {"status": "queued", "task_id": ...}
curl http://127.0.0.1:8000/api/tasks/<task_id>                   -> ... until "completed"
"""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from services.analysis.audio import decode
from services.runtime.context import AppContext
from services.schema import SAMPLE_RATE
from tests.helpers import api_client, child_env, normalize
from tests.media import encode_audio, resample

JFK = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


@pytest.fixture(scope="module")
def api(environment: dict[str, str], worker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The API in its own uvicorn process, on the session's database, storage and queue."""
    with api_client(child_env(**environment), tmp_path_factory.mktemp("api") / "api.log", timeout=30) as (client, _):
        yield client


def _poll(client: httpx.Client, poll_url: str, timeout: float = 300) -> tuple[dict, list[tuple[str, int]]]:  # type: ignore[type-arg]
    """GET the task until it is final; returns it and every (status, progress) seen on the way."""
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(poll_url)
        assert answer.status_code == 200, answer.text
        task = answer.json()
        if not seen or seen[-1] != (task["status"], task["progress"]):
            seen.append((task["status"], task["progress"]))
        if task["status"] in ("completed", "failed"):
            return task, seen
        time.sleep(0.2)
    raise AssertionError(f"not final after {timeout} s: {seen}")


def test_upload_poll_export_delete(api: httpx.Client, ctx: AppContext, data: Path) -> None:
    with open(data / "sample.wav", "rb") as f:
        answer = api.post("/analyze", files={"file": ("sample.wav", f, "audio/wav")}, data={"max_speakers": "3"})
    assert answer.status_code == 202, answer.text
    submitted = answer.json()
    # The reply reads the row after queueing: an idle worker may already have claimed it.
    assert submitted["status"] in ("queued", "processing") and submitted["filename"] == "sample.wav"
    assert submitted["message"] == "Queued for analysis."
    assert submitted["poll_url"] == f"/api/tasks/{submitted['task_id']}"

    task, seen = _poll(api, submitted["poll_url"])
    assert task["status"] == "completed", task["error"]
    assert [s for s, _ in seen][-1] == "completed" and "processing" in [s for s, _ in seen]
    progress = [p for s, p in seen if s == "processing"]
    assert progress == sorted(progress)
    assert (task["task_id"], task["recording_id"], task["kind"]) == (
        submitted["task_id"],
        submitted["recording_id"],
        "analyze",
    )
    assert task["progress"] == 100 and task["started_at"] <= task["completed_at"]
    result = task["result"]
    assert [s["id"] for s in result["speakers"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert result["segments"] and {s["speaker"] for s in result["segments"]} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(seg["words"] for seg in result["segments"])
    assert "new jersey" in normalize(result["text"])
    assert result["duration"] == pytest.approx(30.0, abs=0.1)

    # exports
    srt = api.get(f"/api/tasks/{task['task_id']}/export", params={"format": "srt"})
    assert srt.status_code == 200 and srt.headers["content-type"] == "application/x-subrip; charset=utf-8"
    assert 'filename="sample.srt"' in srt.headers["content-disposition"]
    assert re.match(r"1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\nSPEAKER_0[01]: ", srt.text)
    rttm = api.get(f"/api/tasks/{task['task_id']}/export", params={"format": "rttm"}).text
    assert {line.split()[7] for line in rttm.splitlines()} == {"SPEAKER_00", "SPEAKER_01"}
    assert api.get(f"/api/tasks/{task['task_id']}/export", params={"format": "json"}).json()["text"] == result["text"]
    assert api.get(f"/api/tasks/{task['task_id']}/export", params={"format": "vtt"}).text.startswith("WEBVTT")
    assert api.get(f"/api/tasks/{task['task_id']}/export", params={"format": "csv"}).text.startswith(
        "start,end,speaker,text"
    )
    assert "New Jersey" in api.get(f"/api/tasks/{task['task_id']}/export").text  # txt by default

    # the list shows it; the pages read the same row
    listed = api.get("/api/tasks", params={"status": "completed", "limit": 200}).json()
    assert task["task_id"] in {t["task_id"] for t in listed["items"]}
    assert ctx.repo.require(task["task_id"]).num_speakers == 2

    # delete: rows and stored file
    key = ctx.repo.require(task["task_id"]).recording.stored_path
    assert ctx.storage.exists(key)
    assert api.delete(f"/api/tasks/{task['task_id']}").status_code == 204
    assert api.get(submitted["poll_url"]).status_code == 404
    assert not ctx.storage.exists(key)


def _browser_recording(path: Path, data: Path) -> Path:
    """A webm/opus 'microphone' recording: 3 s of room noise, JFK, a 5 s pause, JFK again, 2 s of noise."""
    speech = decode(data / "jfk.flac")
    noise = np.random.default_rng(7).normal(0, 0.002, SAMPLE_RATE * 5).astype(np.float32)
    audio = np.concatenate([noise[: 3 * SAMPLE_RATE], speech, noise, speech, noise[: 2 * SAMPLE_RATE]])
    return encode_audio(path, resample(audio, SAMPLE_RATE, 48000), 48000, "libopus", fmt="webm")


def test_vad_recording_is_trimmed_and_timed_on_the_original(api: httpx.Client, data: Path, tmp_path: Path) -> None:
    recording = _browser_recording(tmp_path / "recording.webm", data)
    original = len(decode(recording)) / SAMPLE_RATE  # about 3 + 11 + 5 + 11 + 2 = 32 s
    with open(recording, "rb") as f:
        answer = api.post(
            "/api/recordings/vad", files={"file": ("recording.webm", f, "audio/webm")}, data={"num_speakers": "1"}
        )
    assert answer.status_code == 202, answer.text
    task, _ = _poll(api, answer.json()["poll_url"])
    assert task["status"] == "completed", task["error"]
    assert task["kind"] == "vad_recording"
    result = task["result"]
    assert result["duration"] == pytest.approx(original, abs=0.05)
    assert "trim" in result["timings"]
    # Both passages survive the trim. (Over noisy opus, tiny.en hears "ask" or "asked", "americans
    # ask" or "american asks", and temperature fallback on a doubtful window samples, so either may
    # come: check the words it always gets.)
    text = normalize(result["text"])
    assert text.count("fellow american") == 2 and text.count("what you can do for your country") == 2, text

    # Times refer to the original recording: the first words come after the 3 s of lead-in, the
    # second "And so" after the first speech (3 + 11 s) and the 5 s pause, not right after the cut.
    words = [w for seg in result["segments"] for w in seg["words"]]
    starts = [w["start"] for w in words if normalize(w["word"]) == "and"]
    assert words[0]["start"] >= 2.5
    second_and_so = [t for t in starts if t > 14.0]
    assert second_and_so and second_and_so[0] >= 18.5, starts
    assert words[-1]["end"] <= original - 1.5
    assert all(a["start"] <= b["start"] for a, b in itertools.pairwise(words))
    # talk time counts speech, not the removed pause
    assert result["speakers"][0]["talk_time"] < 27.0
