"""Recognise voices at the end of an analysis, a re-run of the speaker separation or a split.

Runs in the worker (or the API process for a split), where the voice embeddings are at hand: each
speaker's print (``services.voices.prints``) is computed from the windows on the result's time line,
stored with the task, and compared with the library (``services.store.voices_repo``). With
VOICE_AUTO_NAME, confident matches (``services.voices.matching.AUTO_THRESHOLD``) become the names of
speakers nobody has named, still marked as suggestions until an analyst confirms them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.analysis.artifacts import Artifacts
from services.results.edits import SpeakerLabel
from services.results.split import result_times
from services.schema import AnalysisResult
from services.store.edits_repo import EditsRepo, load_edits
from services.store.voices_repo import VoiceRepo
from services.voices.matching import Match
from services.voices.prints import SpeakerPrint, speaker_prints


def prints_of(result: AnalysisResult, artifacts: Artifacts | None) -> tuple[SpeakerPrint, ...]:
    """The speakers' prints of ``result`` (machine result) from the analysis's stored embeddings."""
    if artifacts is None or artifacts.embeddings is None:
        return ()  # a diarizer without reusable embeddings (pyannote): nothing to recognise with
    emb = artifacts.embeddings
    windows = result_times(emb, artifacts.time_base)
    return speaker_prints(result, windows, emb.vectors, emb.phone_rows, emb.phone_vectors, narrowband=emb.narrowband)


def match_in(
    session: Session,
    task_id: str,
    prints: tuple[SpeakerPrint, ...],
    *,
    voices: VoiceRepo | None,
    edits: EditsRepo,
    keep_confirmed: bool = False,
) -> list[Match]:
    """Within the transaction that stores the result: suggest voices, and apply confident ones when asked to.

    Args:
        keep_confirmed: the speakers that stayed keep their confirmed voices (a split, not a re-run).
    """
    if voices is None or not voices.enabled:
        return []
    matches = voices.suggest_in(session, task_id, prints, keep_confirmed=keep_confirmed)
    if voices.auto_name:
        named = load_edits(session, task_id).names()
        labels = tuple(SpeakerLabel(m.speaker_id, m.name) for m in matches if m.auto and m.speaker_id not in named)
        edits.name_in(session, task_id, labels)
    return matches
