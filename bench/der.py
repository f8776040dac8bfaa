"""Diarization error rate of speaker turns against an RTTM reference (pyannote.metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.schema import SpeakerTurn


def to_annotation(turns: Sequence[SpeakerTurn], uri: str = "hyp"):
    """pyannote Annotation of the turns."""
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for i, turn in enumerate(turns):
        annotation[Segment(turn.start, turn.end), i] = turn.speaker
    return annotation


def load_reference(reference_rttm_path: str | Path, file_id: str):
    """The reference Annotation of one file of an RTTM file."""
    from pyannote.database.util import load_rttm

    references = load_rttm(str(reference_rttm_path))
    if file_id not in references:
        raise KeyError(f"{file_id!r} is not in {reference_rttm_path} ({sorted(references)})")
    return references[file_id]


def _uem(uem, file_id: str):
    from pyannote.core import Segment, Timeline

    if uem is None or isinstance(uem, Timeline):
        return uem
    if isinstance(uem, (str, Path)):
        from pyannote.database.util import load_uem

        return load_uem(str(uem))[file_id]
    start, end = uem
    return Timeline([Segment(float(start), float(end))])


def score(
    reference_rttm_path: str | Path,
    file_id: str,
    turns: Sequence[SpeakerTurn],
    uem=None,
    collar: float = 0.0,
    detailed: bool = False,
):
    """DER (0..1+) of ``turns`` for ``file_id``, overlapped speech scored.

    Args:
        reference_rttm_path: RTTM with the reference turns.
        file_id: The file id inside the RTTM.
        turns: Hypothesis turns.
        uem: Scored region: a UEM file path, a pyannote Timeline, a (start, end) pair, or None
            for the extent of reference and hypothesis.
        collar: Seconds forgiven around each reference boundary (total, pyannote style).
        detailed: Return pyannote's component dict (missed, false alarm, confusion) instead.

    Returns:
        The DER as a fraction, or the detailed dict.
    """
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    reference = load_reference(reference_rttm_path, file_id)
    return metric(reference, to_annotation(turns), uem=_uem(uem, file_id), detailed=detailed)


def score_turns(
    reference: Sequence[SpeakerTurn], turns: Sequence[SpeakerTurn], duration: float, collar: float = 0.0
) -> float:
    """DER of ``turns`` against reference turns (for stitched files with no RTTM)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return metric(to_annotation(reference, "ref"), to_annotation(turns), uem=_uem((0.0, duration), ""))
