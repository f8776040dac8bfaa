"""Exports of an ``AnalysisResult``: txt, md, srt, vtt, json, rttm, csv and docx. Speaker names are applied.

Exports render whatever result they are given; callers pass the result with the analyst's
corrections applied (``services.results.edits.apply_edits``), so names, merges and edits show in every file.
DOCX is binary and lives in ``services.results.export_docx``; every other format is UTF-8 text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from services.results import confidence
from services.results.text_safety import field_token, one_line, spreadsheet_cell, srt_text, vtt_text
from services.schema import AnalysisResult, Segment


@dataclass(frozen=True)
class ExportFormat:
    name: str
    extension: str
    mime: str
    render: Callable[[AnalysisResult, str], str | bytes]
    label: str = ""
    """What a person calls the format ("SubRip subtitles"); buttons show ``name.upper()``."""
    binary: bool = False
    """True when ``render`` gives bytes (DOCX), False for UTF-8 text."""
    marks_unsure: bool = False
    """True for the formats people read (TXT, MD, DOCX): they can write unsure words as ``[word?]``."""


def clock(seconds: float, *, sep: str = ".", hours: bool = True) -> str:
    """``01:02:03.456`` (or ``,`` for SRT)."""
    millis = round(max(0.0, seconds) * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    if hours or h:
        return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
    return f"{m:02d}:{s:02d}{sep}{ms:03d}"


def short_clock(seconds: float) -> str:
    """``1:02:03`` or ``2:03``, for people rather than players."""
    total = int(max(0.0, seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def language_marked(result: AnalysisResult) -> list[Segment]:
    """The segments, each one where the language changes starting with its code (``[de] ``).

    Only a result in more than one language is marked (its first segment too, so a reader knows
    where each language starts); a result in one language is returned as it is.
    """
    if len(result.languages) < 2:
        return list(result.segments)
    marked, previous = [], None
    for seg in result.segments:
        language = seg.language or result.language
        changed = language != previous
        marked.append(replace(seg, text=f"[{language}] {seg.text}") if changed else seg)
        previous = language
    return marked


def speaker_turns(result: AnalysisResult) -> list[Segment]:
    """Consecutive segments of one speaker (and language) joined into one block, as a reader wants them.

    A block where the language changes starts with its code (``language_marked``).
    """
    blocks: list[Segment] = []
    for seg in language_marked(result):
        last = blocks[-1] if blocks else None
        if last is not None and last.speaker == seg.speaker and (last.language or "") == (seg.language or ""):
            text = f"{last.text} {seg.text}".strip()
            blocks[-1] = replace(last, end=seg.end, text=text, words=last.words + seg.words,
                                 edited=last.edited or seg.edited)  # fmt: skip
        else:
            blocks.append(seg)
    return blocks


def to_txt(result: AnalysisResult, file_id: str = "") -> str:
    lines = [
        f"[{short_clock(b.start)}] {one_line(result.speaker_name(b.speaker) or 'Unknown')}: {one_line(b.text)}"
        for b in speaker_turns(result)
    ]
    return "\n\n".join(lines) + ("\n" if lines else "")


def to_md(result: AnalysisResult, file_id: str = "") -> str:
    """Markdown: a title, who took part, then the transcript by speaker with times."""
    title = _md_escape(file_id or "Transcript")
    people = ", ".join(f"{_md_escape(s.name)} ({short_clock(s.talk_time)})" for s in result.speakers)
    lines = [f"# {title}", ""]
    count = len(result.speakers)
    summary = f"{short_clock(result.duration)} · {count} speaker{'' if count == 1 else 's'}"
    lines.append(f"*{summary}: {people}*" if people else f"*{summary}*")
    for b in speaker_turns(result):
        name = _md_escape(result.speaker_name(b.speaker) or "Unknown")
        lines += ["", f"**{name}** `{short_clock(b.start)}`  ", _md_escape(b.text)]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    """Text that Markdown shows as written (no accidental emphasis, links, headings or HTML), on one line."""
    return "".join(f"\\{ch}" if ch in "\\`*_[]<>#|!&" else ch for ch in one_line(text))


def _cue_text(result: AnalysisResult, seg: Segment) -> str:
    name = result.speaker_name(seg.speaker)
    return srt_text(f"{name}: {seg.text}" if name else seg.text)


def to_srt(result: AnalysisResult, file_id: str = "") -> str:
    cues = [
        f"{i}\n{clock(s.start, sep=',')} --> {clock(s.end, sep=',')}\n{_cue_text(result, s)}\n"
        for i, s in enumerate(language_marked(result), start=1)
    ]
    return "\n".join(cues)


def to_vtt(result: AnalysisResult, file_id: str = "") -> str:
    cues = []
    for s in language_marked(result):
        name = result.speaker_name(s.speaker)
        # The voice span's name and the text are escaped: a ">" in a name would close the tag early.
        text = f"<v {vtt_text(name)}>{vtt_text(s.text)}" if name else vtt_text(s.text)
        cues.append(f"{clock(s.start)} --> {clock(s.end)}\n{text}\n")
    return "WEBVTT\n\n" + "\n".join(cues)


def to_json(result: AnalysisResult, file_id: str = "") -> str:
    """The result schema; every segment has its ``language`` (null in results stored before segments
    carried one: their language is the result's ``language``)."""
    data = result.to_dict()
    for segment in data["segments"]:
        segment.setdefault("language", None)
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_rttm(result: AnalysisResult, file_id: str = "recording") -> str:
    """NIST RTTM of the speaker turns (speaker *names*, spaces replaced: RTTM fields are spaces)."""
    file_id = field_token(file_id or "recording")
    lines = []
    for t in sorted(result.turns, key=lambda t: t.start):
        name = field_token(result.speaker_name(t.speaker))
        lines.append(f"SPEAKER {file_id} 1 {t.start:.3f} {t.duration:.3f} <NA> <NA> {name} <NA> <NA>")
    return "\n".join(lines) + ("\n" if lines else "")


def to_csv(result: AnalysisResult, file_id: str = "") -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start", "end", "speaker", "text"])
    for s in result.segments:
        # Names and text are typed by people: a cell starting like a formula must stay text in a spreadsheet.
        name, text = spreadsheet_cell(result.speaker_name(s.speaker)), spreadsheet_cell(s.text)
        writer.writerow([f"{s.start:.3f}", f"{s.end:.3f}", name, text])
    return out.getvalue()


def to_docx(result: AnalysisResult, file_id: str = "") -> bytes:
    from services.results.export_docx import to_docx as render_docx  # python-docx loads only when asked for

    return render_docx(result, file_id)


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("txt", "txt", "text/plain", to_txt, "Plain text", marks_unsure=True),
        ExportFormat("md", "md", "text/markdown", to_md, "Markdown", marks_unsure=True),
        ExportFormat("srt", "srt", "application/x-subrip", to_srt, "SubRip subtitles"),
        ExportFormat("vtt", "vtt", "text/vtt", to_vtt, "WebVTT subtitles"),
        ExportFormat("json", "json", "application/json", to_json, "JSON (the result schema)"),
        ExportFormat("rttm", "rttm", "text/plain", to_rttm, "RTTM speaker turns"),
        ExportFormat("csv", "csv", "text/csv", to_csv, "CSV, one row per segment"),
        ExportFormat(
            "docx",
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            to_docx,
            "Word document",
            binary=True,
            marks_unsure=True,
        ),
    )
}


def render(result: AnalysisResult, fmt: str, file_id: str = "recording", *, mark_unsure: bool = False) -> str | bytes:
    """The result in format ``fmt`` (one of ``FORMATS``): text, or bytes for binary formats (DOCX).

    Args:
        mark_unsure: write the words the recogniser was unsure of as ``[word?]``
            (``services.results.confidence``), in the formats that offer it (``marks_unsure``);
            the others ignore it (JSON always has each word's probability).
    """
    try:
        export = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.") from None
    return export.render(confidence.mark_unsure(result) if mark_unsure and export.marks_unsure else result, file_id)
