"""Where to listen to a voice: a short stretch of one recording where only that person talks."""

from __future__ import annotations

from services.schema import AnalysisResult

SAMPLE_SECONDS = 8.0
"""Long enough to recognise a voice, short enough to play while scanning the list."""


def sample_span(result: AnalysisResult, speaker_id: str, seconds: float = SAMPLE_SECONDS) -> tuple[float, float] | None:
    """The start of ``speaker_id``'s longest turn in ``result`` (as analysts see it), at most ``seconds`` long."""
    turns = [t for t in result.turns if t.speaker == speaker_id and t.end > t.start]
    if not turns:
        return None
    longest = max(turns, key=lambda t: t.end - t.start)
    return longest.start, min(longest.end, longest.start + seconds)
