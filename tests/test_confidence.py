"""Unsure words: the threshold on real transcripts, the marks in the exports, and the task page's toggle."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import docx
import pytest
from streamlit.testing.v1 import AppTest

from bench.confidence import wrong_words
from bench.corpus import JFK_TEXT, LICENSE_TEXT, clip
from services.jobs.runner import Outcome, run_analysis
from services.results.confidence import UNSURE_BELOW, mark_unsure, marked_text, pieces, unsure_count
from services.results.edits import Edits, SegmentEdit, apply_edits
from services.results.exports import FORMATS, render
from services.runtime.context import AppContext
from services.schema import AnalysisResult, Segment, Speaker, SpeakerTurn, Word
from tests.helpers import app_test, shown
from ui.confidence_view import segment_markdown


def _segment(*words: tuple[str, float], text: str | None = None) -> Segment:
    made = tuple(Word(float(i), i + 1.0, w, p) for i, (w, p) in enumerate(words))
    return Segment(0.0, float(len(words)), text if text is not None else " ".join(w for w, _ in words), made, "S")


def _result(*segments: Segment) -> AnalysisResult:
    return AnalysisResult(
        duration=10.0, language="en", model="tiny.en", speakers=(Speaker("S", "S", 3.0),), segments=segments,
        turns=(SpeakerTurn(0.0, 3.0, "S"),),
    )  # fmt: skip


@pytest.mark.parametrize(("name", "reference"), [("jfk.flac", JFK_TEXT), ("multilingual.mp3", LICENSE_TEXT)])
def test_the_misrecognised_words_of_the_reference_texts_are_marked(transcriber, name: str, reference: str) -> None:  # type: ignore[no-untyped-def]
    words = transcriber.transcribe(clip(name)).words
    wrong = wrong_words(words, reference)
    marked = [w.probability < UNSURE_BELOW for w in words]
    # Every mistake is marked: a misheard word may come as pieces ("sub", "-licence,"), one mark per run.
    runs = [list(g) for bad, g in itertools.groupby(range(len(words)), key=lambda i: wrong[i]) if bad]
    assert all(any(marked[i] for i in run) for run in runs), [[words[i].word for i in run] for run in runs]
    if name == "multilingual.mp3":  # its one mistake ("sublicence"), and little else
        assert len(runs) == 1 and sum(marked) <= 3
    assert sum(marked) / len(words) < 0.25


def test_pieces_keep_the_text_exactly_and_mark_only_the_word() -> None:
    seg = _segment(("Permission", 0.99), ("(sublicence),", 0.64), ("and", 0.2), ("--", 0.1))
    assert "".join(p.text for p in pieces(seg)) == seg.text
    assert [p.text for p in pieces(seg) if p.unsure] == ["sublicence", "and"]  # punctuation stays outside
    assert marked_text(seg) == "Permission ([sublicence?]), [and?] --"
    assert unsure_count(_result(seg)) == 2
    sure = _segment(("Fine.", 0.9))
    assert pieces(sure) == (pieces(sure)[0],) and not pieces(sure)[0].unsure and marked_text(sure) == "Fine."


def test_words_that_are_not_in_the_text_give_no_marks() -> None:
    """A mark must never land on the wrong word: when the words do not match the text, none is marked."""
    seg = _segment(("Hello", 0.1), ("world", 0.1), text="Something else entirely")
    assert marked_text(seg) == "Something else entirely" and unsure_count(_result(seg)) == 0


def test_a_rewritten_segment_has_no_marks_and_a_reassigned_one_keeps_them() -> None:
    result = _result(_segment(("So", 0.3), ("there.", 0.9)), _segment(("Ask", 0.2), ("not.", 0.95)))
    edited = apply_edits(result, Edits(segments=(SegmentEdit(0, text="So there we are."), SegmentEdit(1, speaker="T"))))
    assert marked_text(edited.segments[0]) == "So there we are."  # the analyst's words: no marks
    assert marked_text(edited.segments[1]) == "[Ask?] not."
    assert unsure_count(edited) == 1


def test_exports_mark_unsure_words_only_in_the_reading_formats_when_asked() -> None:
    result = _result(_segment(("Permission", 0.99), ("sublicence,", 0.64), ("granted.", 0.9)))
    assert [f.name for f in FORMATS.values() if f.marks_unsure] == ["txt", "md", "docx"]
    assert "Permission [sublicence?], granted." in render(result, "txt", mark_unsure=True)  # type: ignore[operator]
    assert "[sublicence?]" not in render(result, "txt")  # type: ignore[operator]
    assert "Permission \\[sublicence?\\], granted." in render(result, "md", mark_unsure=True)  # type: ignore[operator]
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render(result, "docx", mark_unsure=True))).paragraphs]  # type: ignore[arg-type]
    assert "Permission [sublicence?], granted." in paragraphs
    for fmt in ("srt", "vtt", "csv", "json"):
        assert "[sublicence?]" not in render(result, fmt, mark_unsure=True)  # type: ignore[operator]
    data = json.loads(render(result, "json", mark_unsure=True))  # type: ignore[arg-type]
    assert [w["probability"] for w in data["segments"][0]["words"]] == [0.99, 0.64, 0.9]  # always carried
    assert mark_unsure(result).segments[0].words == result.segments[0].words


def test_the_page_markup_of_a_segment_shows_every_character_as_written() -> None:
    """Only the highlight is markup: a word or a correction that looks like Markdown stays text."""
    hostile = _segment(("**bold**", 0.9), ("x:red[x]", 0.3), ("y](http://a.b)", 0.2), ("<b>z</b>", 0.1))
    markdown = segment_markdown(hostile, mark=True)
    # Every highlight is ours: the text's own brackets are escaped, so each one closes at our "]".
    highlights = re.findall(r"(?<!\\):orange-background\[((?:\\.|[^\\\]])*)\]", markdown)
    assert [shown(h) for h in highlights] == ["x:red[x", "y](http://a.b", "b>z</b"]
    unwrapped = re.sub(r"(?<!\\):orange-background\[((?:\\.|[^\\\]])*)\]", r"\1", markdown)
    assert shown(unwrapped) == hostile.text
    assert shown(segment_markdown(hostile, mark=False)) == hostile.text
    typed = apply_edits(_result(hostile), Edits(segments=(SegmentEdit(0, text=":orange-background[fake]"),)))
    assert shown(segment_markdown(typed.segments[0], mark=True)) == ":orange-background[fake]"
    assert "\\:" in segment_markdown(typed.segments[0], mark=True)  # escaped: no highlight can form


def _jfk_task(ctx: AppContext, data: Path, transcriber) -> str:  # type: ignore[no-untyped-def]
    stored = ctx.storage.save("jfk.flac", (data / "jfk.flac").read_bytes())
    task = ctx.repo.create(filename="jfk.flac", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0)
    run = run_analysis(task.id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: transcriber, edits=ctx.edits)
    assert run.outcome is Outcome.COMPLETED, run
    return task.id


def _transcript(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_the_task_page_highlights_unsure_words_with_a_toggle(ctx: AppContext, data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    task_id = _jfk_task(ctx, data, transcriber)
    result = AnalysisResult.from_dict(ctx.repo.require(task_id).result)
    count = unsure_count(result)
    assert count >= 1  # tiny.en is unsure of "ask" (0.28) in this recording
    at = app_test("app_pages/task.py", task=task_id)
    at.run()
    assert not at.exception, at.exception
    toggle = at.toggle(key="task_mark_unsure")
    assert toggle.value is True and toggle.label == f"Mark unsure words ({count})"
    assert _transcript(at).count(":orange-background[") == count
    toggle.set_value(False).run()
    assert ":orange-background[" not in _transcript(at)
    assert "And so my fellow Americans" in shown(_transcript(at)).replace(",", "")

    # The analyst rewrites every segment: their words carry no marks, and the toggle goes away.
    for i, seg in enumerate(result.segments):
        ctx.edits.save_segment(task_id, i, SegmentEdit(i, text=f"{seg.text} (checked)"))
    fresh = app_test("app_pages/task.py", task=task_id)
    fresh.run()
    assert not fresh.exception and ":orange-background[" not in _transcript(fresh)
    assert not [t for t in fresh.toggle if t.key == "task_mark_unsure"]
