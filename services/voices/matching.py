"""Which voice of the library, if any, to suggest for each speaker of a recording.

A speaker's print (``services.voices.prints``) is compared with every exemplar each voice keeps
(``services.voices.summary``) by cosine similarity; a voice's score is its best exemplar's. Pairs are
then taken greedily, best first, so that one voice is suggested for at most one speaker of a recording
and each speaker gets at most one voice; a pair an analyst rejected on this task is never taken again.

The thresholds are absolute cosines, which ``services.analysis.diarization.clustering`` avoids *within*
a recording (two speakers of one recording can be as close as 0.89 there). Across recordings it is the
only handle there is, so they were calibrated on recurring people (``python -m bench.voices``:
the table is in docs/BENCHMARKS.md, "Voices").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from services.voices.prints import SpeakerPrint, unit

SUGGEST_THRESHOLD = 0.90
"""A voice is suggested for a speaker from this cosine up. Measured (``python -m bench.voices``: 27 people
from ``tests/data``, 14 named per draw, three draws, 338 later speakers; clean and quieter recordings): 0.85:
recall 77 %, false suggestions 17 %; 0.88: 75 %, 10 %; 0.90: 66 %, 7.9 %; 0.94: 48 %, 0 %. 0.90 is the knee:
from 0.85 it halves the wrong suggestions for 11 points of recall; above it recall falls faster than the
errors until 0.94. A suggestion is a question the analyst answers, so some doubt is tolerable; the 2 %
target is only met from 0.94 on this (short, 2-30 s per speaker) material. Phone-band copies of a voice
score 0.55-0.80 against its clean self: they are rarely recognised at any threshold here."""
AUTO_THRESHOLD = 0.94
"""With VOICE_AUTO_NAME, a suggestion from this cosine up is applied as the name at once. Measured on the same
sets: none of the 51 suggestions at or above 0.94 was wrong (0.92: 5 of 67), and a wrong name applied without
asking costs more than a question."""


@dataclass(frozen=True)
class Library:
    """Every voice's exemplars, stacked: ``exemplars[i]`` belongs to voice ``voice_ids[owners[i]]``."""

    voice_ids: tuple[str, ...]
    names: tuple[str, ...]
    exemplars: np.ndarray
    owners: np.ndarray

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, np.ndarray]]) -> Library:
        """The library from (voice id, name, exemplar vector) rows, in any order."""
        index: dict[str, int] = {}
        names: list[str] = []
        vectors: list[np.ndarray] = []
        owners: list[int] = []
        for voice_id, name, vector in rows:
            if voice_id not in index:
                index[voice_id] = len(names)
                names.append(name)
            vectors.append(unit(vector))
            owners.append(index[voice_id])
        dim = len(vectors[0]) if vectors else 0
        matrix = np.vstack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
        return cls(tuple(index), tuple(names), matrix, np.asarray(owners, dtype=np.int64))

    def scores(self, prints: Sequence[SpeakerPrint]) -> np.ndarray:
        """(speakers, voices): each speaker's best cosine with each voice's exemplars."""
        out = np.full((len(prints), len(self.voice_ids)), -1.0, dtype=np.float32)
        if not prints or not len(self.owners):
            return out
        sims = np.vstack([p.vector for p in prints]).astype(np.float32) @ self.exemplars.T
        for column in range(sims.shape[1]):  # a voice keeps at most MAX_EXEMPLARS: a short loop per voice
            owner = self.owners[column]
            out[:, owner] = np.maximum(out[:, owner], sims[:, column])
        return out


@dataclass(frozen=True)
class Match:
    """A voice suggested for a speaker."""

    speaker_id: str
    voice_id: str
    name: str
    similarity: float
    auto: bool = False
    """At or above ``AUTO_THRESHOLD``: may be applied as the name without asking (VOICE_AUTO_NAME)."""


def match_speakers(
    prints: Sequence[SpeakerPrint],
    library: Library,
    *,
    rejected: Iterable[tuple[str, str]] = (),
    threshold: float = SUGGEST_THRESHOLD,
    auto_threshold: float = AUTO_THRESHOLD,
) -> list[Match]:
    """The suggestions for ``prints``: at most one voice per speaker, one speaker per voice.

    Args:
        rejected: (speaker id, voice id) pairs an analyst turned down for this recording.
    """
    if not prints or not library.voice_ids:
        return []
    scores = library.scores(prints)
    refused = set(rejected)
    pairs = [
        (float(scores[i, j]), i, j)
        for i, j in zip(*np.nonzero(scores >= threshold), strict=True)
        if (prints[i].speaker_id, library.voice_ids[j]) not in refused
    ]
    taken_speakers: set[int] = set()
    taken_voices: set[int] = set()
    matches = []
    for sim, i, j in sorted(pairs, key=lambda p: -p[0]):
        if i in taken_speakers or j in taken_voices:
            continue
        taken_speakers.add(i)
        taken_voices.add(j)
        matches.append(
            Match(prints[i].speaker_id, library.voice_ids[j], library.names[j], round(sim, 4), sim >= auto_threshold)
        )
    return matches
