"""Diarization of the reference recordings with the real models."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from services.analysis.diarization.diarize import SpeechEmbeddings, assign_turns, diarize, embed_speech
from services.analysis.options import SpeakerOptions
from services.schema import SpeakerTurn
from tests.helpers import decode_reference as decode


def speakers(turns: list[SpeakerTurn]) -> set[str]:
    return {t.speaker for t in turns}


def check_well_formed(turns: list[SpeakerTurn], duration: float) -> None:
    assert turns == sorted(turns, key=lambda t: (t.start, t.end, t.speaker))
    first_seen: list[str] = []
    for turn in turns:
        assert 0.0 <= turn.start < turn.end <= duration + 1e-6
        assert isinstance(turn.start, float) and isinstance(turn.end, float)
        if turn.speaker not in first_seen:
            first_seen.append(turn.speaker)
    assert first_seen == [f"SPEAKER_{i:02d}" for i in range(len(first_seen))]
    for name in first_seen:
        own = [t for t in turns if t.speaker == name]
        for a, b in itertools.pairwise(own):
            assert a.end <= b.start + 1e-9, f"{name} overlaps itself: {a} {b}"


def test_sample_has_two_speakers_and_low_error(data_dir, sample_embeddings):
    from bench.der import score

    turns = assign_turns(sample_embeddings)
    check_well_formed(turns, 30.0)
    assert speakers(turns) == {"SPEAKER_00", "SPEAKER_01"}
    der = score(data_dir / "sample.rttm", "sample", turns, uem=(0.0, 30.0))
    assert der < 0.30  # 0.20 measured; a broken clustering gives > 0.45


def test_recluster_with_given_count_is_fast_and_needs_no_audio(sample_embeddings, tmp_path):
    path = tmp_path / "sample.npz"
    sample_embeddings.to_npz(path)
    loaded = SpeechEmbeddings.from_npz(path)
    assert loaded.speech == sample_embeddings.speech
    np.testing.assert_array_equal(loaded.vectors, sample_embeddings.vectors)
    start = time.perf_counter()
    turns = assign_turns(loaded, SpeakerOptions(num_speakers=3))
    assert time.perf_counter() - start < 2.0
    assert len(speakers(turns)) == 3
    check_well_formed(turns, 30.0)


def test_jfk_is_one_speaker(data_dir):
    turns = diarize(decode("jfk.flac"))
    assert speakers(turns) == {"SPEAKER_00"}
    assert sum(t.duration for t in turns) > 6.0  # about 8 s of speech in 11 s


def test_stereo_downmix_has_two_speakers(data_dir):
    turns = diarize(decode("stereo_diarization.wav"))
    assert len(speakers(turns)) == 2


def test_stereo_channels_give_two_overlapping_speakers(data_dir):
    import soundfile as sf

    from services.analysis.channels import channels_are_distinct, diarize_channels

    stereo, _ = sf.read(str(data_dir / "stereo_diarization.wav"), dtype="float32")
    assert channels_are_distinct(stereo.T)
    turns = diarize_channels(stereo.T)
    assert len(speakers(turns)) == 2
    check_well_formed(turns, 5.0)
    a, b = [t for t in turns if t.speaker == "SPEAKER_00"], [t for t in turns if t.speaker == "SPEAKER_01"]
    overlap = sum(max(0.0, min(x.end, y.end) - max(x.start, y.start)) for x in a for y in b)
    assert overlap > 1.5  # both talk from about 0.3 s to 2.6 s


def test_stitched_three_speakers(data_dir):
    from bench.der import score_turns
    from bench.synth import stitched_three

    stitched = stitched_three(data_dir)
    turns = diarize(stitched.audio)
    assert len(speakers(turns)) == 3
    assert score_turns(stitched.turns, turns, stitched.audio.size / 16000) < 0.40


def test_noise_only_gives_no_turns(data_dir):
    assert diarize(decode("empty.wav")) == []


@pytest.mark.parametrize("seconds", [0.0, 0.1, 0.25])
def test_tiny_audio_gives_no_turns(seconds):
    audio = np.random.default_rng(0).standard_normal(int(seconds * 16000)).astype(np.float32) * 0.01
    assert diarize(audio) == []


def test_stereo_array_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match=r"services\.analysis\.channels"):
        diarize(np.zeros((16000, 2), dtype=np.float32))


def test_progress_is_reported_and_monotonic(data_dir):
    seen: list[float] = []
    embed_speech(decode("jfk.flac"), on_progress=seen.append)
    assert len(seen) >= 3
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and seen[0] >= 0.0


def test_input_audio_is_not_modified(data_dir):
    audio = decode("jfk.flac")
    before = audio.copy()
    diarize(audio)
    np.testing.assert_array_equal(audio, before)
