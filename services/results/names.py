"""Speaker names given at upload ("Alice, Bob"), applied in order of first appearance, as noScribe does.

The first speaker heard gets the first name, the second speaker heard the second, and so on; names
beyond the speakers found are ignored, and speakers beyond the names keep their ``SPEAKER_xx``. An
empty place (``"Alice, , Carol"``) leaves that speaker unnamed.

The names are applied as the analyst's own names (``SpeakerLabel`` edits, ``services.results.edits``),
not written into the machine's result: the result stays what the machine made (the API's ``result``,
scoring scripts), and the names behave like any typed name: they show on the page, in the
statistics, the timeline and every export, and the analyst can change or clear them later. The
worker records them when the analysis completes; a re-run of the speaker separation records them
again on the new speakers, unless the analyst has renamed a speaker since (``reapplied``).

They wait in the task's options (``OPTION_KEY`` in ``processing_tasks.options``, beside the speaker
options, which ignore it) between the upload and the end of the analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.analysis.options import SPEAKER_LIMIT
from services.errors import InvalidEdit, InvalidOptions
from services.results.edits import MAX_NAME_LENGTH, Edits, SpeakerLabel, check_name
from services.results.text_safety import one_line
from services.schema import AnalysisResult

OPTION_KEY = "speaker_names"
MAX_NAMES = SPEAKER_LIMIT
"""At most as many names as speakers a user may ask for."""
MAX_FIELD_LENGTH = MAX_NAMES * (MAX_NAME_LENGTH + 2)
"""The longest "Speaker names" field accepted: every name at its longest, with its comma and space."""

Names = tuple[str | None, ...]
"""Names in order of first appearance; None leaves that speaker unnamed."""


def parse_speaker_names(text: str | None) -> Names:
    """``"Alice, Bob"`` -> ``("Alice", "Bob")``: comma-separated, each tidied to one line.

    Empty places are kept as None (``"Alice,,Carol"``), empty ones at the end dropped.

    Raises:
        InvalidOptions: the field is too long, a name is too long, or there are more names than speakers allowed.
    """
    text = text or ""
    if len(text) > MAX_FIELD_LENGTH:
        raise InvalidOptions(f"Speaker names: at most {MAX_FIELD_LENGTH} characters in all.")
    names: list[str | None] = []
    for part in text.split(","):
        name = " ".join(one_line(part).split())
        if len(name) > MAX_NAME_LENGTH:
            raise InvalidOptions(f"Speaker names: each name can have at most {MAX_NAME_LENGTH} characters.")
        names.append(name or None)
    while names and names[-1] is None:
        names.pop()
    if len(names) > MAX_NAMES:
        raise InvalidOptions(f"Speaker names: at most {MAX_NAMES} names, one per speaker in order of appearance.")
    return tuple(names)


def names_option(names: Names) -> dict[str, Any]:
    """What to add to a task's options to remember ``names`` (nothing when there are none)."""
    return {OPTION_KEY: list(names)} if names else {}


def stored_names(options: dict[str, Any] | None) -> Names:
    """The names a task's options hold; anything malformed reads as none (a task must still complete)."""
    raw = (options or {}).get(OPTION_KEY)
    if not isinstance(raw, list):
        return ()
    return tuple(str(n)[:MAX_NAME_LENGTH] if isinstance(n, str) and n else None for n in raw[:MAX_NAMES])


def first_appearance(result: AnalysisResult) -> list[str]:
    """Speaker ids in the order they are first heard (their first turn; segments when there are no turns)."""
    spans = [(t.start, t.speaker) for t in result.turns] or [(s.start, s.speaker) for s in result.segments if s.speaker]
    return list(dict.fromkeys(speaker for _, speaker in sorted(spans)))


def names_by_appearance(result: AnalysisResult, names: Names) -> dict[str, str]:
    """Speaker id -> name: the first speaker heard gets the first name, and so on."""
    named = {}
    for speaker_id, name in zip(first_appearance(result), names, strict=False):
        try:
            stored = check_name(name, speaker_id)
        except InvalidEdit:
            continue  # too long: parse_speaker_names refused it at upload already
        if stored:
            named[speaker_id] = stored
    return named


def labels(named: dict[str, str]) -> tuple[SpeakerLabel, ...]:
    return tuple(SpeakerLabel(speaker_id, name) for speaker_id, name in named.items())


def reapplied(previous: AnalysisResult, new: AnalysisResult, names: Names, edits: Edits) -> tuple[SpeakerLabel, ...]:
    """The upload's names for ``new`` (the speakers separated again), if the analyst has not renamed since.

    "Not renamed" means the names ``edits`` hold are exactly the ones the upload gave ``previous``'s
    speakers: a renamed, added or cleared name shows that the analyst took over, and then a re-run
    leaves naming to them (a re-run numbers speakers afresh, so their names no longer apply).
    """
    if not names_still_given(previous, names, edits):
        return ()
    return labels(names_by_appearance(new, names))


def names_still_given(result: AnalysisResult, names: Names, edits: Edits) -> bool:
    """True when there are upload names and the task's names are still exactly theirs (nobody renamed)."""
    return bool(names) and edits.names() == names_by_appearance(result, names)


def names_of(result: AnalysisResult, names: Sequence[str | None]) -> Edits:
    """``names`` as edits of ``result`` (for ``apply_edits`` where no database is involved: ``cli analyze``)."""
    return Edits(labels=labels(names_by_appearance(result, tuple(names))))
