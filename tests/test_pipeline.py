"""The whole analysis in-process on the reference audio, with the real bundled models."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import analyze_file
from tests.helpers import normalize

JFK = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


@pytest.fixture(scope="module")
def jfk_result(data: Path, transcriber):  # type: ignore[no-untyped-def]
    calls: list[tuple[str, float]] = []
    result = analyze_file(data / "jfk.flac", transcriber, on_progress=lambda s, f: calls.append((s, f)))
    return result, calls


def test_jfk_sentence_exactly_one_speaker(jfk_result) -> None:  # type: ignore[no-untyped-def]
    result, _ = jfk_result
    assert normalize(result.text) == JFK
    assert [s.id for s in result.speakers] == ["SPEAKER_00"]
    assert all(seg.speaker == "SPEAKER_00" for seg in result.segments)
    assert result.language == "en" and result.model == "tiny.en" and result.engine == "faster-whisper"
    words = [w for seg in result.segments for w in seg.words]
    assert len(words) == len(JFK.split())
    assert all(0 <= w.start <= w.end <= 11.0 for w in words)
    assert result.speakers[0].talk_time > 8.0


def test_progress_walks_through_the_stages_in_order(jfk_result) -> None:  # type: ignore[no-untyped-def]
    _, calls = jfk_result
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    stages = list(dict.fromkeys(s for s, _ in calls))
    assert stages == ["decode", "vad", "transcribe", "diarize", "cluster", "merge"]


def test_timings_cover_every_stage(jfk_result) -> None:  # type: ignore[no-untyped-def]
    result, _ = jfk_result
    assert set(result.timings) == {"decode", "vad", "transcribe", "diarize", "cluster", "merge"}
    assert all(v >= 0 for v in result.timings.values())


def test_sample_call_has_two_speakers(data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    result = analyze_file(data / "sample.wav", transcriber)
    assert len(result.speakers) == 2
    assert {s.speaker for s in result.segments} == {"SPEAKER_00", "SPEAKER_01"}
    assert "new jersey" in normalize(result.text)


def test_told_speaker_count_is_honoured(data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    result = analyze_file(data / "sample.wav", transcriber, AnalysisOptions(num_speakers=3))
    assert len(result.speakers) == 3


def test_noise_only_completes_empty(data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    result = analyze_file(data / "empty.wav", transcriber)
    assert result.segments == () and result.speakers == () and result.text == ""
    assert result.duration == pytest.approx(1.0)
