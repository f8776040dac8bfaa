"""Telephone prints: the band-limiting, the sampled windows, their storage and the prints made of them."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from services.analysis.artifacts import Artifacts
from services.analysis.audio import decode
from services.analysis.diarization.diarize import SpeechEmbeddings, embed_speech
from services.analysis.diarization.embedder import ResemblyzerEmbedder
from services.analysis.diarization.phone_windows import PHONE_WINDOWS, phone_rows, with_phone_windows
from services.analysis.phone_band import NARROWBAND_DROP_DB, band_drop_db, is_narrowband, phone_band
from services.schema import SAMPLE_RATE, AnalysisResult, Speaker, SpeakerTurn, Transcript
from services.voices.matching import PHONE_MARGIN, Library, match_speakers
from services.voices.prints import MIN_WINDOWS, SpeakerPrint, combined, speaker_prints, unit
from tests.media import telephone_copy


def _band_energy(audio: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / SAMPLE_RATE)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def test_phone_band_keeps_the_voice_band_and_drops_the_rest() -> None:
    noise = np.random.default_rng(0).standard_normal(SAMPLE_RATE * 2).astype(np.float32) * 0.1
    before = noise.copy()
    phone = phone_band(noise)
    assert phone.dtype == np.float32 and phone.shape == noise.shape
    np.testing.assert_array_equal(noise, before)  # the input is not changed
    kept = _band_energy(phone, 500, 3000) / _band_energy(noise, 500, 3000)
    above = _band_energy(phone, 4500, 8000) / _band_energy(noise, 4500, 8000)
    below = _band_energy(phone, 0, 100) / _band_energy(noise, 0, 100)
    assert kept > 0.7 and above < 1e-3 and below < 0.05
    assert phone_band(np.zeros(0, np.float32)).size == 0


def test_phone_rows_take_every_window_of_a_short_recording_and_a_spread_of_a_long_one() -> None:
    short = np.array([[0.4 * i, 0.4 * i + 1.6] for i in range(20)])
    assert phone_rows(short).tolist() == list(range(20))
    long = np.array([[0.4 * i, 0.4 * i + 1.6] for i in range(5000)])
    rows = phone_rows(long)
    assert rows.size == PHONE_WINDOWS and rows[0] == 0 and rows[-1] == 4999
    gaps = np.diff(rows)
    assert gaps.min() >= 4 and gaps.max() - gaps.min() <= 1  # evenly spread, none overlapping
    assert phone_rows(long, limit=0).size == 0 and phone_rows(np.zeros((0, 2))).size == 0


@pytest.fixture(scope="module")
def jfk_embeddings(data: Path) -> SpeechEmbeddings:
    audio = decode(data / "jfk.flac")
    embedder = ResemblyzerEmbedder()
    return with_phone_windows(embed_speech(audio, embedder=embedder), audio, embedder)


def test_the_sampled_windows_are_embedded_from_their_telephone_copy(jfk_embeddings: SpeechEmbeddings) -> None:
    emb = jfk_embeddings
    assert emb.phone_rows.tolist() == list(range(len(emb.windows)))  # 11 s of speech: every window
    assert emb.phone_vectors.shape == emb.vectors.shape
    np.testing.assert_allclose(np.linalg.norm(emb.phone_vectors, axis=1), 1.0, atol=1e-4)
    # the same windows heard through a telephone: alike, not the same
    similarity = np.sum(emb.vectors * emb.phone_vectors, axis=1)
    assert 0.3 < float(np.median(similarity)) < 0.99


def test_artifacts_keep_the_telephone_windows_and_older_ones_load_without(jfk_embeddings: SpeechEmbeddings) -> None:
    files = Artifacts(Transcript("en", (), jfk_embeddings.duration), jfk_embeddings).to_files()
    loaded = Artifacts.from_files(files).embeddings
    assert loaded is not None
    np.testing.assert_array_equal(loaded.phone_rows, jfk_embeddings.phone_rows)
    np.testing.assert_allclose(loaded.phone_vectors, jfk_embeddings.phone_vectors)
    assert loaded.narrowband == jfk_embeddings.narrowband
    flipped = Artifacts.from_files(
        Artifacts(Transcript("en", (), 1.0), replace(jfk_embeddings, narrowband=True)).to_files()
    )
    assert flipped.embeddings is not None and flipped.embeddings.narrowband

    old = io.BytesIO()  # what an analysis stored before telephone windows existed
    e = jfk_embeddings
    np.savez(old, speech=np.asarray(e.speech), windows=e.windows, vectors=e.vectors, duration=np.float64(e.duration))
    before = Artifacts.from_files({**files, "embeddings.npz": old.getvalue()}).embeddings
    assert before is not None and before.phone_rows.size == 0 and len(before.vectors) == len(e.vectors)
    assert not before.narrowband


def _result(turns: list[tuple[str, float, float]], duration: float) -> AnalysisResult:
    speakers = sorted({s for s, _, _ in turns})
    talk = {s: sum(b - a for who, a, b in turns if who == s) for s in speakers}
    return AnalysisResult(
        duration=duration,
        language="en",
        model="test",
        speakers=tuple(Speaker(s, s, talk[s]) for s in speakers),
        segments=(),
        turns=tuple(SpeakerTurn(a, b, s) for s, a, b in turns),
    )


def test_a_speaker_gets_a_telephone_print_from_the_sampled_windows_inside_their_turns() -> None:
    rng = np.random.default_rng(1)
    windows = np.array([[0.4 * i, 0.4 * i + 1.6] for i in range(60)])  # 0..25.2 s
    vectors = np.vstack([unit(v) for v in rng.standard_normal((60, 8))])
    phone = np.vstack([unit(v) for v in rng.standard_normal((60, 8))])
    result = _result([("A", 0.0, 12.0), ("B", 12.0, 22.8), ("C", 22.8, 25.2)], 25.2)
    rows = np.arange(0, 60, 5)  # every fifth window: A gets 6, B 5, C 1
    prints = {p.speaker_id: p for p in speaker_prints(result, windows, vectors, rows, phone[rows])}
    a = prints["A"]
    inside_a = [i for i in rows if windows[i, 1] <= 12.0 + 0.8]
    np.testing.assert_allclose(a.phone, unit(np.mean(phone[inside_a], axis=0)), atol=1e-6)
    assert prints["B"].phone is not None and prints["C"].phone is None  # C: fewer than MIN_WINDOWS sampled
    assert sum(1 for i in rows if windows[i, 0] >= 22.8 - 0.8) < MIN_WINDOWS
    assert all(p.phone is None for p in speaker_prints(result, windows, vectors))  # none sampled: none


def test_merged_speakers_average_the_telephone_prints_they_have() -> None:
    x, y = unit(np.array([1.0, 0.0])), unit(np.array([0.0, 1.0]))
    prints = [SpeakerPrint("A", x, 30.0, 10, phone=x), SpeakerPrint("B", y, 10.0, 5, phone=None)]
    merged = combined(prints, lambda s: "A")["A"]
    np.testing.assert_allclose(merged.phone, x)  # B had none: A's alone
    both = combined([prints[0], SpeakerPrint("B", y, 10.0, 5, phone=y)], lambda s: "A")["A"]
    np.testing.assert_allclose(both.phone, unit(np.array([0.75, 0.25])), atol=1e-6)


def test_a_telephone_copy_is_narrowband_and_the_room_recording_is_not(data: Path, tmp_path: Path) -> None:
    room = decode(data / "dev01.wav")
    call = decode(telephone_copy(data / "dev01.wav", tmp_path / "call.wav"))
    assert band_drop_db(room) < 10 < NARROWBAND_DROP_DB < band_drop_db(call)
    assert not is_narrowband(room) and is_narrowband(call) and not is_narrowband(np.zeros(10, np.float32))


def test_only_a_narrowband_recording_is_compared_in_the_telephone_band() -> None:
    a, b, c = (unit(np.eye(4)[i]) for i in range(3))
    library = Library.of([("alice", "Alice", a, b)])  # plain print a, telephone-band print b
    room = SpeakerPrint("S0", c, 30.0, 10, phone=b)
    call = replace(room, narrowband=True)
    assert library.scores([room])[0, 0] == pytest.approx(0.0)  # c . a: a room recording compares plain prints
    assert library.scores([call])[0, 0] == pytest.approx(1.0 - PHONE_MARGIN)  # b . b: a call meets it in the band
    assert [m.name for m in match_speakers([room, replace(call, speaker_id="S1")], library)] == ["Alice"]
    assert Library.of([("bob", "Bob", a, None)]).scores([call])[0, 0] == pytest.approx(0.0)  # no band print kept
