"""A speaker's voiceprint: the mean of the voice embeddings of the windows inside that speaker's turns.

The analysis keeps one resemblyzer embedding per 1.6 s window of speech (``services.analysis.artifacts``).
A window belongs to a speaker when at least half of it lies inside that speaker's turns (the rule a split
uses, ``services.results.split.INSIDE``); windows shared by two speakers (overlaps) count for neither.

A print also has a telephone version where the analysis embedded a sample of its windows as a telephone
line passes them (``services.analysis.diarization.phone_windows``): the same rule over those windows. A voice
keeps both, so a person named from a room recording is recognised when they later call in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from services.analysis.turns import intersection_length, union
from services.schema import AnalysisResult

INSIDE = 0.5
"""Share of a window that must lie inside one speaker's turns for it to count for that speaker."""
MIN_WINDOWS = 3
"""A speaker with fewer windows (under about 3 s of speech) gets no print: too little to recognise."""


@dataclass(frozen=True)
class SpeakerPrint:
    """One speaker's voice in one recording: a unit vector and the seconds it stands for."""

    speaker_id: str
    vector: np.ndarray
    seconds: float
    windows: int = 0
    phone: np.ndarray | None = None
    """The same speaker's telephone print (unit vector), or None (too few sampled windows, none computed)."""
    narrowband: bool = False
    """The recording is narrowband itself (a call): matching compares it in the telephone band too."""


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to length 1 (as float32)."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def speaker_prints(
    result: AnalysisResult,
    windows: np.ndarray,
    vectors: np.ndarray,
    phone_rows: np.ndarray | None = None,
    phone_vectors: np.ndarray | None = None,
    *,
    narrowband: bool = False,
) -> tuple[SpeakerPrint, ...]:
    """Each speaker's print, from window embeddings timed on ``result``'s time line.

    Args:
        result: the machine's result (speakers and turns).
        windows: (n, 2) start and end of each window, in seconds of the recording.
        vectors: (n, d) the windows' embeddings.
        phone_rows: indices of the windows that were also embedded as on a telephone.
        phone_vectors: (len(phone_rows), d) those embeddings.
        narrowband: the recording holds nothing above the telephone band.
    """
    windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
    if len(windows) == 0:
        return ()
    rows = np.zeros(0, dtype=np.int64) if phone_rows is None else np.asarray(phone_rows, dtype=np.int64)
    prints = []
    for speaker in result.speakers:
        spans = union((t.start, t.end) for t in result.turns if t.speaker == speaker.id)
        if not spans:
            continue
        chosen = _inside(windows, spans)
        if chosen.size < MIN_WINDOWS:
            continue
        phone = None
        if rows.size and phone_vectors is not None:
            theirs = _inside(windows[rows], spans)
            phone = mean_direction(phone_vectors[theirs]) if theirs.size >= MIN_WINDOWS else None
        vector = mean_direction(vectors[chosen])
        prints.append(SpeakerPrint(speaker.id, vector, speaker.talk_time, int(chosen.size), phone, narrowband))
    return tuple(prints)


def _inside(windows: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """Indices of the windows with at least ``INSIDE`` of their length inside ``spans``."""
    lengths = np.maximum(windows[:, 1] - windows[:, 0], 1e-9)
    inside = np.array([intersection_length([(a, b)], spans) for a, b in windows]) / lengths
    return np.flatnonzero(inside >= INSIDE)


def mean_direction(vectors: np.ndarray) -> np.ndarray:
    """The unit mean direction of ``vectors``."""
    return unit(np.mean([unit(v) for v in vectors], axis=0))


def combined(prints: Iterable[SpeakerPrint], resolve: Callable[[str], str | None]) -> dict[str, SpeakerPrint]:
    """Prints of the speakers as analysts see them: merged speakers' prints averaged by their seconds."""
    groups: dict[str, list[SpeakerPrint]] = {}
    for p in prints:
        groups.setdefault(resolve(p.speaker_id) or p.speaker_id, []).append(p)
    out = {}
    for sid, members in groups.items():
        seconds = sum(p.seconds for p in members)
        weights = [max(p.seconds, 1e-3) for p in members]
        vector = unit(np.average([p.vector for p in members], axis=0, weights=weights))
        phones = [(p.phone, w) for p, w in zip(members, weights, strict=True) if p.phone is not None]
        phone = unit(np.average([v for v, _ in phones], axis=0, weights=[w for _, w in phones])) if phones else None
        out[sid] = SpeakerPrint(sid, vector, seconds, sum(p.windows for p in members), phone)
    return out


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored (float32, little-endian)."""
    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    """A stored vector."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
