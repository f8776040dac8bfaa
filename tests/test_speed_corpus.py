"""The speed benchmark's corpus makes what its docstring says: length, voices, level, band, noise, silences."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from bench.conditions import FAR_LEVEL_DB, speech_rms
from bench.speed_corpus import KINDS, NOISY_SNR_DB, READ_TEXTS, SpeedRecording, build, read_pass
from bench.synth import voice_pools, with_speed_variants
from services.schema import SAMPLE_RATE

MINUTES = 5.0


@pytest.fixture(scope="module")
def corpus() -> dict[str, SpeedRecording]:
    return {kind: build(kind, MINUTES) for kind in KINDS}


def _db(value: float) -> float:
    return 20 * np.log10(value + 1e-12)


def _outside_turns(recording: SpeedRecording, margin: float = 0.05) -> np.ndarray:
    """The samples where nobody speaks (with a margin for the reverberation and MP3 tails)."""
    quiet = np.ones(recording.audio.size, bool)
    for turn in recording.turns:
        quiet[int((turn.start - margin) * SAMPLE_RATE) : int((turn.end + margin) * SAMPLE_RATE)] = False
    return recording.audio[quiet]


def _speech_share(recording: SpeedRecording) -> float:
    return 1 - _outside_turns(recording, margin=0).size / recording.audio.size


@pytest.mark.parametrize("kind", KINDS)
def test_every_recording_is_as_long_as_asked_and_plays(corpus: dict[str, SpeedRecording], kind: str) -> None:
    audio = corpus[kind].audio
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert audio.size == int(MINUTES * 60 * SAMPLE_RATE)
    assert np.isfinite(audio).all() and np.abs(audio).max() <= 1.0
    assert all(0 <= t.start < t.end <= corpus[kind].seconds for t in corpus[kind].turns)


def test_the_kinds_differ_the_way_they_say(corpus: dict[str, SpeedRecording]) -> None:
    read, talk = corpus["read"], corpus["conversation"]
    assert read.voices >= 6 and _speech_share(read) > 0.85
    assert np.median([t.end - t.start for t in read.turns]) > 2 * np.median([t.end - t.start for t in talk.turns])

    assert talk.voices == 4
    overlapping = sum(b.start < a.end for a, b in zip(talk.turns, talk.turns[1:], strict=False))
    assert overlapping >= 0.1 * len(talk.turns)


def test_far_field_is_quiet_and_phone_is_narrow(corpus: dict[str, SpeedRecording]) -> None:
    assert abs(_db(speech_rms(corpus["far"].audio)) - FAR_LEVEL_DB) < 1.0
    assert _db(speech_rms(corpus["conversation"].audio)) > FAR_LEVEL_DB + 15

    spectrum = np.abs(np.fft.rfft(corpus["phone"].audio)) ** 2
    hz = np.fft.rfftfreq(corpus["phone"].audio.size, 1 / SAMPLE_RATE)
    assert spectrum[hz > 3700].sum() < 0.01 * spectrum.sum()
    assert corpus["phone"].voices == 2


def test_noise_sits_at_the_stated_level_below_the_speech(corpus: dict[str, SpeedRecording]) -> None:
    noisy = corpus["noisy"]
    noise_rms = float(np.sqrt(np.mean(_outside_turns(noisy) ** 2)))
    assert _db(speech_rms(noisy.audio)) - _db(noise_rms) == pytest.approx(NOISY_SNR_DB, abs=2.0)
    clean = corpus["conversation"]
    assert _db(float(np.sqrt(np.mean(_outside_turns(clean) ** 2)))) < -60  # the others are not noisy


def test_silences_are_long_and_take_about_half_the_recording(corpus: dict[str, SpeedRecording]) -> None:
    quiet = corpus["silences"]
    gaps = [b.start - a.end for a, b in zip(quiet.turns, quiet.turns[1:], strict=False)]
    assert sum(g >= 20 for g in gaps) >= 3
    assert 0.35 < 1 - _speech_share(quiet) < 0.7
    assert _db(float(np.sqrt(np.mean(_outside_turns(quiet) ** 2)))) < -65


def test_read_speech_never_repeats_a_sentence_within_one_whisper_window(corpus: dict[str, SpeedRecording]) -> None:
    pools = with_speed_variants(voice_pools())
    order = read_pass(pools, seed=0)
    every = sorted((text, i) for text in READ_TEXTS for i in range(len(pools[text])))
    assert sorted((turn.text, i) for turn in order for i in turn.pieces) == every  # each sentence once a pass
    assert all(a.text != b.text for a, b in pairwise([*order, order[0]]))  # readers alternate, across passes too

    turns = corpus["read"].turns
    assert [t.speaker.split("@")[0] for t in turns] == [order[n % len(order)].text for n in range(len(turns))]
    passes = [turns[n : n + len(order)] for n in range(0, len(turns) - len(order), len(order))]
    assert min(p[-1].end - p[0].start for p in passes) > 30.0  # a sentence comes back a whole window later
    assert {t.speaker for t in passes[0]} != {t.speaker for t in passes[1]}  # and in another voice
