"""Meetings on real audio: quiet recordings keep their speech and speakers, every word has a speaker,
the count says how sure it is, and overlapped speech shows both speakers (issue 10, points 1, 2, 4)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.der import score
from services.analysis.assign import mark_overlaps
from services.analysis.diarization.diarize import assign_turns, embed_speech
from services.analysis.pipeline import analyze
from services.analysis.turns import overlap_spans, union_length
from services.analysis.vad import level_gain_db, speech_probabilities, speech_regions
from services.schema import AnalysisResult, Segment, SpeakerTurn, Word
from tests.helpers import decode_reference as decode

QUIETER = 10 ** (-15 / 20)


def speech_seconds(regions) -> float:  # type: ignore[no-untyped-def]
    return sum(e - s for s, e in regions)


def test_a_quiet_recording_keeps_its_speech_and_its_speakers(data_dir):
    """dev00 15 dB quieter (about -56 dBFS): the same speech regions, the same two speakers, the same DER."""
    audio = decode("dev00.wav")
    loud, quiet = embed_speech(audio), embed_speech(audio * np.float32(QUIETER))
    assert speech_seconds(quiet.speech) == pytest.approx(speech_seconds(loud.speech), abs=0.5)
    turns_loud, turns_quiet = assign_turns(loud), assign_turns(quiet)
    assert len({t.speaker for t in turns_quiet}) == len({t.speaker for t in turns_loud}) == 2
    rttm, uem = data_dir / "debug.development.rttm", data_dir / "debug.development.uem"
    quiet_der = score(rttm, "dev00", turns_quiet, uem=uem, detailed=True)
    loud_der = score(rttm, "dev00", turns_loud, uem=uem, detailed=True)
    assert quiet_der["missed detection"] <= loud_der["missed detection"] + 0.03 * loud_der["total"]


def test_the_speech_decision_does_not_depend_on_the_level():
    """30 dB quieter dev01 (-65 dBFS) lost half its speech before the level normalisation."""
    audio = decode("dev01.wav")
    duration = audio.size / 16000
    as_recorded = speech_seconds(speech_regions(speech_probabilities(audio), duration))
    for db in (15, 30):
        quiet = audio * np.float32(10 ** (-db / 20))
        assert speech_seconds(speech_regions(speech_probabilities(quiet), duration)) == pytest.approx(
            as_recorded, abs=0.5
        )
    unnormalised = speech_seconds(
        speech_regions(speech_probabilities(audio * np.float32(10 ** (-30 / 20)), level=False), duration)
    )
    assert unnormalised < 0.8 * as_recorded  # the failure the normalisation fixes is real


def test_noise_is_not_lifted_into_speech():
    noise = decode("empty.wav")
    assert level_gain_db(noise) <= 0.0  # loud noise: the noise-floor guard holds the gain down
    assert speech_regions(speech_probabilities(noise), noise.size / 16000) == ()


def test_every_recognised_word_has_a_speaker_on_a_quiet_meeting(transcriber):
    result = analyze(decode("dev01.wav") * np.float32(QUIETER), transcriber)
    words = [w for s in result.segments for w in s.words]
    assert len(words) > 20
    assert all(s.speaker is not None for s in result.segments)
    assert len(result.speakers) == 2
    # the speaker count and its confidence travel in the stored JSON
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["speaker_count"]["chosen"] == 2
    assert AnalysisResult.from_dict(stored).speaker_count == result.speaker_count


def test_a_word_far_from_every_turn_still_gets_the_nearest_speaker():
    from services.analysis.assign import assign_speakers

    words = (Word(50.0, 50.4, "late"),)
    segments = assign_speakers([Segment(50.0, 50.4, "late", words)], [SpeakerTurn(0.0, 5.0, "SPEAKER_01")])
    assert [s.speaker for s in segments] == ["SPEAKER_01"]


def test_an_overlap_shows_both_speakers(sample_embeddings):
    """sample.wav: where the reference has both speakers at once, the timeline has two turns too."""
    turns = assign_turns(sample_embeddings)
    found = overlap_spans(turns)
    assert union_length(found) > 0.0
    reference = [(9.92, 10.02), (10.57, 11.03), (14.49, 14.70), (18.15, 18.59), (27.85, 28.5)]
    near = [s for s in found if any(s[0] < b + 0.5 and a - 0.5 < s[1] for a, b in reference)]
    assert near, f"no overlap found near the reference overlaps: {found}"


def test_an_overlapped_segment_is_marked():
    turns = [SpeakerTurn(0.0, 5.0, "SPEAKER_00"), SpeakerTurn(4.5, 9.0, "SPEAKER_01")]
    segments = [Segment(0.0, 5.0, "a", (), "SPEAKER_00"), Segment(5.0, 9.0, "b", (), "SPEAKER_01")]
    marked = mark_overlaps(segments, turns)
    assert marked[0].overlap == ("SPEAKER_01",)
    assert marked[1].overlap == ()  # SPEAKER_00 stopped before this segment
    assert Segment.from_dict(marked[0].to_dict()).overlap == ("SPEAKER_01",)
    assert "overlap" not in marked[1].to_dict()


def test_four_real_voices_are_never_counted_as_one():
    """Four voices from the reference recordings, each over 10 % of the time: at least three found,
    and the count says what else it considered."""
    from bench.synth import round_robin, voice_pools

    rec = round_robin(voice_pools(), ["jfk", "speaker90", "speaker91", "reader_en"])
    turns = assign_turns(embed_speech(rec.audio))
    found = len({t.speaker for t in turns})
    assert found >= 3
    count = turns.speaker_count
    assert count.chosen == found and count.runner_up not in (None, found)
