"""Exports of a hand-built result: the formats' syntax, speaker names, and the RTTM file id."""

import csv
import io
import json

import docx

from services.results.edits import Edits, SegmentEdit, SpeakerLabel, apply_edits
from services.results.exports import FORMATS, clock, render, speaker_turns
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
    for fmt in FORMATS.values():
        assert isinstance(render(empty, fmt.name), bytes if fmt.binary else str), fmt.name


def test_there_are_eight_formats_and_only_docx_is_binary() -> None:
    assert list(FORMATS) == ["txt", "md", "srt", "vtt", "json", "rttm", "csv", "docx"]
    assert [f.name for f in FORMATS.values() if f.binary] == ["docx"]


# The machine said SPEAKER_00/SPEAKER_01; an analyst named SPEAKER_01 "Sheila", corrected a word and
# gave the second segment to Sheila.
EDITED = apply_edits(
    RESULT,
    Edits(
        labels=(SpeakerLabel("SPEAKER_01", "Sheila"),),
        segments=(SegmentEdit(1, text="How are you doing?", speaker="SPEAKER_01"),),
    ),
)


def _text(fmt: str) -> str:
    body = render(EDITED, fmt, file_id="call")
    if isinstance(body, bytes):  # DOCX: read it back the way Word would
        return "\n".join(p.text for p in docx.Document(io.BytesIO(body)).paragraphs)
    return body


def test_every_format_carries_names_and_corrections() -> None:
    for name in FORMATS:
        text = _text(name)
        assert "Diane" in text and "Sheila" in text, name
        assert "SPEAKER_01" not in text or name == "json", name  # JSON keeps ids beside the names
        if name != "rttm":  # RTTM holds turns, not words
            assert "How are you doing?" in text and "How are you?" not in text, name


def test_rttm_turns_follow_a_reassigned_segment() -> None:
    assert render(EDITED, "rttm", file_id="call").splitlines() == [
        "SPEAKER call 1 0.500 1.500 <NA> <NA> Diane <NA> <NA>",
        "SPEAKER call 1 2.000 1.500 <NA> <NA> Sheila <NA> <NA>",
        "SPEAKER call 1 61.250 2.000 <NA> <NA> Sheila <NA> <NA>",
    ]


def test_markdown_and_docx_group_blocks_by_speaker() -> None:
    md = render(EDITED, "md", file_id="call")
    assert md.startswith("# call\n")
    assert "**Diane** `0:00`  \nHello there.\n" in md
    assert "**Sheila** `0:02`  \nHow are you doing? Fine, thanks.\n" in md
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render(EDITED, "docx", file_id="call"))).paragraphs]
    assert paragraphs[0] == "call"
    assert paragraphs[-4:] == ["Diane  0:00", "Hello there.", "Sheila  0:02", "How are you doing? Fine, thanks."]


def test_markdown_shows_odd_names_and_text_as_written() -> None:
    odd = apply_edits(RESULT, Edits(labels=(SpeakerLabel("SPEAKER_00", "*Dr_Who*"),)))
    md = render(odd, "md")
    assert "**\\*Dr\\_Who\\***" in md


def test_json_export_has_names_and_marks_edited_segments() -> None:
    data = json.loads(render(EDITED, "json"))
    assert [s["name"] for s in data["speakers"]] == ["Diane", "Sheila"]
    assert [s.get("edited", False) for s in data["segments"]] == [False, True, False]
    assert data["segments"][1]["speaker"] == "SPEAKER_01" and data["segments"][1]["words"] == []
    assert AnalysisResult.from_dict(data) == EDITED


def test_csv_rows_use_names_and_corrected_text() -> None:
    rows = list(csv.reader(io.StringIO(render(EDITED, "csv"))))
    assert rows[2] == ["2.000", "3.500", "Sheila", "How are you doing?"]
