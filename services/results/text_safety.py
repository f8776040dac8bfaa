"""Typed text made safe for the file formats it is written into.

Speaker names and corrected text are typed by people (and file names uploaded by them); every
export writes them into a format with its own special characters. Each helper here neutralises
exactly what its format treats specially and keeps the words as written.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP's list)."""

_XML_ILLEGAL = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold at all (C0 controls but tab and newlines, lone surrogates, U+FFFE/F)."""

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
"""Control characters and line/paragraph separators: inside a subtitle cue or a record they end it."""


def spreadsheet_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string starting like a formula gets a leading ``'``.

    Numbers are left alone (a negative number is not typed text). The quote is what spreadsheet
    tools themselves put before text that would otherwise be read as a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (python-docx refuses them)."""
    return _XML_ILLEGAL.sub("", text)


def one_line(text: str) -> str:
    """``text`` on one line: runs of control characters and line breaks become one space."""
    return _CONTROLS.sub(" ", text)


def vtt_text(text: str) -> str:
    """Cue text for WebVTT: ``&``, ``<`` and ``>`` as character references, on one line.

    A ``<`` would open a tag, ``-->`` would read as a timing line and a blank line would end the cue.
    """
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def srt_text(text: str) -> str:
    """Cue text for SubRip: one line, and no ``-->`` (a line with one is read as the timing line)."""
    return one_line(text).replace("-->", "->")


def field_token(text: str) -> str:
    """One whitespace-free field of a space-separated record (RTTM): spaces and controls become ``_``."""
    return re.sub(r"[\s\x00-\x1f\x7f-\x9f]+", "_", text) or "_"
