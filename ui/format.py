"""Small formatting helpers for the pages (no Streamlit imports, so they test on their own)."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime

STATUS_ICONS = {"queued": "⏳", "processing": "⚙️", "completed": "✅", "failed": "❌", "cancelled": "🚫"}
STAGE_LABELS = {
    "queued": "Waiting in the queue",
    "starting": "Starting",
    "decode": "Reading the audio",
    "trim": "Trimming silence",
    "vad": "Finding the speech",
    "transcribe": "Transcribing speech",
    "diarize": "Learning the voices",
    "cluster": "Telling speakers apart",
    "merge": "Putting it together",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
_ESCAPED = {ord(ch): "\\" + ch for ch in string.punctuation}
"""Every ASCII punctuation character, backslash-escaped: CommonMark lets any of them be escaped, and
together they are every character Streamlit's Markdown gives a meaning (emphasis, links, images,
autolinks such as ``www.x.org`` or ``a@b.org``, HTML, ``:emoji:``, ``:red[...]``, ``$maths$``...)."""
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
WORD_JOINER = "\u2060"
"""Invisible and zero-width. Streamlit turns ``http://x``, ``www.x`` and ``a@b.org`` into links and
``:smile:`` into an emoji *after* Markdown is parsed, from the decoded text, so no escape can stop
them; a word joiner after such a ``:``, inside ``www.`` and after ``@`` breaks each pattern and shows nothing."""
_AUTOLINKED = re.compile(r"(:(?=[^\s\d])|@|(?<![^\W_])www(?=\.))", re.IGNORECASE)
"""``:`` before anything but a space or a digit (so times such as ``1:05`` stay as they are), ``@``, ``www.``."""


DIARIZATION_LABELS = {"builtin": "the built-in diarizer", "pyannote": "pyannote.audio"}


def engines_label(engine: str, model: str, diarization: str) -> str:
    """Which engines produced a result: ``Transcribed by faster-whisper (tiny.en) · speakers by pyannote.audio``.

    Results stored before engines were recorded carry empty names; those parts are left out.
    """
    parts = []
    if engine or model:
        parts.append(f"Transcribed by {engine or 'Whisper'}" + (f" ({model})" if model else ""))
    if diarization:
        parts.append(f"speakers by {DIARIZATION_LABELS.get(diarization, diarization)}")
    return " · ".join(parts)


def status_label(status: str) -> str:
    return f"{STATUS_ICONS.get(status, '')} {status}".strip()


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def duration_label(seconds: float | None) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``12.5 s``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, else the date."""
    if when is None:
        return "—"
    now = now or datetime.now(UTC)
    seconds = (now - when).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60) or 1} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


def size_label(size_bytes: int) -> str:
    if size_bytes < 1024 * 1024:
        return f"{size_bytes / 1024:.0f} KB"
    return f"{size_bytes / 1024 / 1024:.1f} MB"


def time_left_label(seconds: float | None) -> str:
    """``a few seconds``, ``about 40 s``, ``about 3 min``, ``about 1 h 05 min``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"about {int(round(seconds / 5) * 5)} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min"


def queue_label(ahead: int) -> str:
    """``Next in line`` or ``3 recordings ahead of it``."""
    if ahead <= 0:
        return "Next in line"
    return f"{ahead} recording{'s' if ahead != 1 else ''} ahead of it"


def seconds_param(seconds: float) -> str:
    """A time for a URL (``?t=``): ``7`` or ``12.34``, never rounded past the moment it names."""
    return f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".")


def plain(text: object) -> str:
    """Text a person typed or uploaded, shown literally wherever Streamlit renders Markdown.

    The one escaping helper of the pages: use it for every name, correction, file name, search hit,
    URL parameter or message that holds them, in ``st.markdown``/``st.caption``/``st.title``/alerts,
    toasts, widget and page-link labels, tab and metric labels. Every ASCII punctuation character is
    backslash-escaped (so no link, image, autolink, HTML tag, emphasis, emoji shortcode, colour or
    maths can form), a word joiner breaks the links and emoji Streamlit finds in the text after
    parsing (``WORD_JOINER``), and control characters and line breaks become a space (no heading,
    list or table can start). Inside ``unsafe_allow_html`` markup the escaped ``<`` and ``&`` stay text too.
    Not for places Streamlit shows as plain text (``st.text``, ``st.code``, dataframes, select
    options, input values); Plotly labels use ``services.results.charts.label``.
    """
    text = _AUTOLINKED.sub(lambda m: m.group(0) + WORD_JOINER, _CONTROLS.sub(" ", str(text)))
    return text.translate(_ESCAPED)


def highlighted(pieces: list[tuple[str, bool]]) -> str:
    """Markdown of ``(text, matched)`` pieces with the matched ones in bold."""
    out = []
    for text, matched in pieces:
        if not matched or not text.strip():
            out.append(plain(text))
            continue
        lead, core, trail = text[: len(text) - len(text.lstrip())], text.strip(), text[len(text.rstrip()) :]
        out.append(f"{lead}**{plain(core)}**{trail}")
    return "".join(out)
