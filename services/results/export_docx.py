"""The DOCX export (python-docx): a title, who took part, then the transcript by speaker with times."""

from __future__ import annotations

import io

from docx import Document
from docx.shared import Pt, RGBColor

from services.results.exports import short_clock, speaker_turns
from services.results.text_safety import xml_text
from services.schema import AnalysisResult

GREY = RGBColor(0x80, 0x80, 0x80)


def to_docx(result: AnalysisResult, file_id: str = "") -> bytes:
    """A Word document of ``result``: one paragraph per speaker block, the name in bold, then the time."""
    doc = Document()
    title = xml_text(file_id) or "Transcript"  # typed text may hold control characters XML cannot
    doc.core_properties.title = title
    doc.add_heading(title, level=1)
    summary = doc.add_paragraph()
    summary.add_run(f"{short_clock(result.duration)} · {len(result.speakers)} speaker(s)").italic = True
    if result.speakers:
        table = doc.add_table(rows=1, cols=2)
        table.style = "Light List"
        table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Speaker", "Talk time"
        for speaker in result.speakers:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = xml_text(speaker.name), short_clock(speaker.talk_time)
    for block in speaker_turns(result):
        paragraph = doc.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(8)
        paragraph.add_run(xml_text(result.speaker_name(block.speaker) or "Unknown")).bold = True
        when = paragraph.add_run(f"  {short_clock(block.start)}")
        when.font.color.rgb = GREY
        when.font.size = Pt(9)
        doc.add_paragraph(xml_text(block.text))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
