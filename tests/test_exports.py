"""Exports of a hand-built result: the formats' syntax, speaker names, and the RTTM file id."""

import csv
import io
import json

from services.exports import FORMATS, clock, render, speaker_turns
from services.schema import AnalysisResult, Segment, Speaker, SpeakerTurn, Word

RESULT = AnalysisResult(
    duration=65.5,
    language="en",
    model="tiny.en",
    speakers=(Speaker("SPEAKER_00", "Diane", 3.0), Speaker("SPEAKER_01", "SPEAKER_01", 2.0)),
    segments=(
        Segment(0.5, 2.0, "Hello there.", (Word(0.5, 1.0, "Hello"), Word(1.0, 2.0, "there.")), "SPEAKER_00"),
        Segment(2.0, 3.5, "How are you?", (), "SPEAKER_00"),
        Segment(61.25, 63.0, "Fine, thanks.", (), "SPEAKER_01"),
    ),
    turns=(SpeakerTurn(0.5, 3.5, "SPEAKER_00"), SpeakerTurn(61.25, 63.25, "SPEAKER_01")),
)


def test_clock() -> None:
    assert clock(3723.456) == "01:02:03.456"
    assert clock(61.25, sep=",") == "00:01:01,250"


def test_srt_has_numbered_cues_with_names() -> None:
    srt = render(RESULT, "srt")
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,000\nDiane: Hello there.\n")
    assert "3\n00:01:01,250 --> 00:01:03,000\nSPEAKER_01: Fine, thanks.\n" in srt


def test_vtt_uses_voice_tags() -> None:
    vtt = render(RESULT, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\n<v Diane>Hello there.\n")


def test_rttm_lines_use_file_id_and_turns() -> None:
    lines = render(RESULT, "rttm", file_id="meeting 1").splitlines()
    assert lines == [
        "SPEAKER meeting_1 1 0.500 3.000 <NA> <NA> Diane <NA> <NA>",
        "SPEAKER meeting_1 1 61.250 2.000 <NA> <NA> SPEAKER_01 <NA> <NA>",
    ]


def test_txt_groups_consecutive_segments_of_a_speaker() -> None:
    assert render(RESULT, "txt") == "[0:00] Diane: Hello there. How are you?\n\n[1:01] SPEAKER_01: Fine, thanks.\n"
    assert len(speaker_turns(RESULT)) == 2


def test_json_round_trips_the_schema() -> None:
    data = json.loads(render(RESULT, "json"))
    assert set(data) >= {"duration", "language", "model", "speakers", "segments", "text", "timings"}
    assert data["text"] == "Hello there. How are you? Fine, thanks."
    assert AnalysisResult.from_dict(data) == RESULT


def test_csv_one_row_per_segment() -> None:
    rows = list(csv.reader(io.StringIO(render(RESULT, "csv"))))
    assert rows[0] == ["start", "end", "speaker", "text"]
    assert rows[1] == ["0.500", "2.000", "Diane", "Hello there."]
    assert len(rows) == 4


def test_every_format_renders_an_empty_result() -> None:
    empty = AnalysisResult(duration=1.0, language="en", model="tiny.en", speakers=(), segments=())
    for name in FORMATS:
        assert isinstance(render(empty, name), str)
