"""Words the recogniser was unsure of: found from the per-word probability every result holds.

Whisper gives each word a probability (``Word.probability``, kept in the result and its JSON). A word
below ``UNSURE_BELOW`` is *unsure*: the task page highlights it, and the reading exports (TXT, MD,
DOCX) can write it as ``[word?]`` (``mark_unsure``). A segment whose text an analyst rewrote has no
words any more (``services.results.edits.apply_edits`` drops them), so it carries no marks: the new
text is the analyst's, not the recogniser's.

Why 0.7 (``python -m bench.confidence``, docs/BENCHMARKS.md): on the reference texts (``jfk.flac`` and
the English passage of ``multilingual.mp3``), as recorded and through far-field and phone versions,
tiny.en got 8 of 321 words wrong. Below 0.7 are 7.5 % of the words and 7 of the 8 wrong ones; as
recorded, 4.7 % of the words (1 % of the license passage, 18 % of the JFK excerpt) and the one wrong
word ("sublicence"). Below 0.5 would mark only 2 of the 8; the wrong words sit between 0.6 and 0.64,
and nothing changes between 0.65 and 0.75, so 0.7 is not on an edge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from services.schema import AnalysisResult, Segment

UNSURE_BELOW = 0.7
"""A word whose probability is below this is marked unsure (see the module's docstring for why 0.7)."""

MARK_OPEN, MARK_CLOSE = "[", "?]"
"""How the reading exports write an unsure word: ``[sublicence?]`` (transcription's "unsure hearing" mark)."""

_EDGE_PUNCTUATION = re.compile(r"^(\W*)(.*?)(\W*)$", re.DOTALL)


@dataclass(frozen=True)
class Piece:
    """A stretch of a segment's text; ``unsure`` when it is one word the recogniser was unsure of."""

    text: str
    unsure: bool = False


def pieces(segment: Segment, below: float = UNSURE_BELOW) -> tuple[Piece, ...]:
    """``segment.text`` cut into pieces, each unsure word (without its punctuation) a piece of its own.

    The text is kept exactly: the words are found in it in order, and what lies between them is kept
    as it is. A segment without words (an analyst rewrote it), or whose words cannot all be found in
    its text, is one piece with no mark: a mark must never land on the wrong word.
    """
    text = segment.text
    if not any(w.probability < below for w in segment.words):
        return (Piece(text),) if text else ()
    spans: list[tuple[int, int]] = []
    position = 0
    for word in segment.words:
        token = word.word.strip()
        if not token:
            continue
        at = text.find(token, position)
        if at < 0:
            return (Piece(text),)
        position = at + len(token)
        if word.probability < below:
            lead, core, _ = _split_punctuation(token)
            if core:
                spans.append((at + len(lead), at + len(lead) + len(core)))
    if not spans:
        return (Piece(text),) if text else ()
    out: list[Piece] = []
    cursor = 0
    for start, end in spans:
        if start > cursor:
            out.append(Piece(text[cursor:start]))
        out.append(Piece(text[start:end], unsure=True))
        cursor = end
    if cursor < len(text):
        out.append(Piece(text[cursor:]))
    return tuple(out)


def _split_punctuation(token: str) -> tuple[str, str, str]:
    """``"(sublicence),"`` -> ``("(", "sublicence", "),")``."""
    match = _EDGE_PUNCTUATION.match(token)
    assert match is not None  # the pattern matches every string
    return match.group(1), match.group(2), match.group(3)


def unsure_count(result: AnalysisResult, below: float = UNSURE_BELOW) -> int:
    """How many words of ``result`` would be marked (rewritten segments have none)."""
    return sum(1 for seg in result.segments for piece in pieces(seg, below) if piece.unsure)


def marked_text(segment: Segment, below: float = UNSURE_BELOW) -> str:
    """``segment.text`` with each unsure word written ``[word?]``."""
    return "".join(f"{MARK_OPEN}{p.text}{MARK_CLOSE}" if p.unsure else p.text for p in pieces(segment, below))


def mark_unsure(result: AnalysisResult, below: float = UNSURE_BELOW) -> AnalysisResult:
    """``result`` whose segment texts carry ``[word?]`` marks, for an export people read.

    The words and their probabilities are kept; only the text changes, so every format that writes
    the text (and its escaping) writes the marks as ordinary characters.
    """
    return replace(result, segments=tuple(replace(s, text=marked_text(s, below)) for s in result.segments))
