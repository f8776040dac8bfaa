"""Cutting silence from browser recordings, and mapping times back to the original recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.analysis.audio import decode
from services.analysis.trim import TimeMap, map_result, merge_spans, trim_silence
from services.schema import SAMPLE_RATE, AnalysisResult, Segment, Speaker, SpeakerTurn, Word

# Kept pieces of a 30 s original: speech at 2-6 s and 10-14 s. In the trimmed audio: 0-4 s and 4-8 s.
SPANS = [(2.0, 6.0), (10.0, 14.0)]


def test_instants_map_into_their_piece() -> None:
    tmap = TimeMap(SPANS)
    assert tmap.trimmed_duration == 8.0
    assert [tmap.to_original(t) for t in (0.0, 1.5, 3.99, 4.0, 5.0, 8.0, 9.0)] == [
        2.0,
        3.5,
        5.99,
        10.0,
        11.0,
        14.0,
        14.0,
    ]
    assert tmap.to_original(4.0, is_end=True) == 6.0  # an end at a cut ends where its speech ended
    assert TimeMap([]).to_original(3.0) == 3.0


def test_stretches_split_at_cuts_and_spill_into_padding_is_dropped() -> None:
    tmap = TimeMap(SPANS, edge=0.4)
    assert tmap.pieces(1.0, 3.0) == [(3.0, 5.0)]
    assert tmap.pieces(3.0, 6.0) == [(5.0, 6.0), (10.0, 12.0)]  # a turn across the cut: two pieces
    assert tmap.interval(3.0, 6.0) == (5.0, 12.0)  # a segment across the cut bridges the pause
    # Whisper put a word's start 0.2 s before the cut: the word is where its speech is, after the pause.
    assert tmap.interval(3.8, 4.5) == (10.0, 10.5)
    assert tmap.interval(3.5, 4.1) == (5.5, 6.0)  # ... and the mirror case
    assert tmap.interval(3.9, 4.1) in {(5.9, 6.0), (10.0, 10.1)}  # both sides tiny: the longer one
    assert tmap.interval(2.0, 2.0) == (4.0, 4.0)


def test_map_result_moves_every_time_and_keeps_talk_time_to_speech() -> None:
    words = (Word(0.5, 1.0, "hello"), Word(4.5, 5.0, "again"))
    result = AnalysisResult(
        duration=8.0, language="en", model="tiny.en",
        speakers=(Speaker("SPEAKER_00", "SPEAKER_00", 8.0),),
        segments=(Segment(0.5, 5.0, "hello again", words, "SPEAKER_00"),),
        turns=(SpeakerTurn(0.0, 8.0, "SPEAKER_00"),),
    )  # fmt: skip
    mapped = map_result(result, SPANS, 30.0, edge=0.4)
    assert mapped.duration == 30.0
    segment = mapped.segments[0]
    assert (segment.start, segment.end) == (2.5, 11.0)
    assert [(w.start, w.end) for w in segment.words] == [(2.5, 3.0), (10.5, 11.0)]
    assert [(t.start, t.end) for t in mapped.turns] == [(2.0, 6.0), (10.0, 14.0)]
    assert mapped.speakers == (Speaker("SPEAKER_00", "SPEAKER_00", 8.0),)  # not 12 s: the pause is not talk
    assert result.segments[0].start == 0.5  # the input is untouched


def test_merge_spans() -> None:
    assert merge_spans([(5.0, 6.0), (0.0, 1.0), (0.5, 2.0), (3.0, 3.0)]) == [(0.0, 2.0), (5.0, 6.0)]


def test_real_speech_with_silence_around_and_a_long_pause(data: Path) -> None:
    speech = decode(data / "jfk.flac")
    noise = np.random.default_rng(1).normal(0, 0.002, 4 * SAMPLE_RATE).astype(np.float32)
    short_pause = noise[:SAMPLE_RATE]  # 1 s: below max_pause, kept
    audio = np.concatenate([noise, speech, noise, speech, short_pause, speech, noise])  # 4+11+4+11+1+11+4 = 46 s
    trimmed = trim_silence(audio)
    assert trimmed.original_duration == pytest.approx(46.0)
    assert len(trimmed.spans) == 2  # the 4 s pause is cut, the 1 s one is not
    (first_start, first_end), (second_start, second_end) = trimmed.spans
    assert 3.0 < first_start < 4.3 and 14.5 < first_end < 15.5
    assert 18.5 < second_start < 19.3 and 41.5 < second_end < 43.0
    assert len(trimmed.audio) / SAMPLE_RATE == pytest.approx(sum(e - s for s, e in trimmed.spans))
    assert 10.0 < trimmed.removed < 13.0  # lead-in, tail and the long pause (less the padding kept)
    assert trimmed.audio.dtype == np.float32


def test_no_speech_means_nothing_is_cut(data: Path) -> None:
    audio = decode(data / "empty.wav")
    trimmed = trim_silence(audio)
    assert trimmed.spans == ((0.0, len(audio) / SAMPLE_RATE),) and len(trimmed.audio) == len(audio)
