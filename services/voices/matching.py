"""Which voice of the library, if any, to suggest for each speaker of a recording.

A speaker's print (``services.voices.prints``) is compared with every exemplar each voice keeps
(``services.voices.summary``: a plain and a telephone print per recording) by cosine similarity; a
voice's score is its best exemplar's, so a call is compared with how the person sounds on a telephone. Pairs are
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

SUGGEST_THRESHOLD = 0.94
"""A voice is suggested for a speaker from this cosine up. Measured (``python -m bench.voices``: 27 people
from ``tests/data``, 14 named per draw, three draws, 185 later speakers whose person is in the library;
clean, 15 dB quieter and telephone recordings), with telephone prints in the library: 0.90: recall 60 %,
false suggestions 9.1 %; 0.93: 48 %, 3.3 %; 0.94: 44 %, 0 of 82 (speakers with 20 s or more: 15 of 17
recognised, none wrong). The bound is 2 % wrong: 0.94 is the first threshold below it with a margin; every
step lower adds wrong suggestions faster than right ones. The low recall is that of short speakers (most
have 2-15 s here); speakers with 20 s or more are recognised at 88 %."""
AUTO_THRESHOLD = 0.96
"""With VOICE_AUTO_NAME, a suggestion from this cosine up is applied as the name at once: a wrong name applied
without asking costs more than a question, so one step above the suggestion threshold (0 of 55 wrong on the
same sets, recall 30 %)."""

PHONE_MARGIN = 0.02
"""Taken off a similarity measured in the telephone band (a call against a voice's telephone-band prints):
band-limited prints of two people are more alike than their plain ones. Measured (``bench.voices``): compared
in the band at the plain thresholds, calls drew 3 wrong suggestions of 89 at 0.94 and 1 of 79 at 0.95, none
from 0.96 up; so the band needs 0.02 more for the same certainty."""


@dataclass(frozen=True)
class Library:
    """Every voice's exemplars, stacked: ``exemplars[i]`` belongs to voice ``voice_ids[owners[i]]``.

    ``phone_exemplars`` / ``phone_owners`` likewise for the exemplars' prints in the telephone band
    (``services.analysis.phone_band``), where they have one.
    """

    voice_ids: tuple[str, ...]
    names: tuple[str, ...]
    exemplars: np.ndarray
    owners: np.ndarray
    phone_exemplars: np.ndarray
    phone_owners: np.ndarray

    @classmethod
    def of(cls, rows: Iterable[tuple[str, str, np.ndarray, np.ndarray | None]]) -> Library:
        """The library from (voice id, name, exemplar vector, its telephone-band vector or None) rows, any order."""
        index: dict[str, int] = {}
        names: list[str] = []
        plain: list[tuple[int, np.ndarray]] = []
        phone: list[tuple[int, np.ndarray]] = []
        for voice_id, name, vector, phone_vector in rows:
            if voice_id not in index:
                index[voice_id] = len(names)
                names.append(name)
            plain.append((index[voice_id], unit(vector)))
            if phone_vector is not None:
                phone.append((index[voice_id], unit(phone_vector)))
        dim = len(plain[0][1]) if plain else 0
        stacked = [
            (
                np.vstack([v for _, v in kept]).astype(np.float32) if kept else np.zeros((0, dim), np.float32),
                np.asarray([o for o, _ in kept], dtype=np.int64),
            )
            for kept in (plain, phone)
        ]
        return cls(tuple(index), tuple(names), *stacked[0], *stacked[1])

    def scores(self, prints: Sequence[SpeakerPrint]) -> np.ndarray:
        """(speakers, voices): each speaker's best cosine with each voice's exemplars.

        Plain prints are compared with plain exemplars; a narrowband recording's speakers (a call) also in the
        telephone band, with the exemplars' telephone-band prints, so a call and a room recording of one person
        meet in the band both share. A score in the band counts ``PHONE_MARGIN`` less.
        """
        out = np.full((len(prints), len(self.voice_ids)), -1.0, dtype=np.float32)
        if not prints or not len(self.owners):
            return out
        rows = np.arange(len(prints))[:, None]
        sims = np.vstack([p.vector for p in prints]).astype(np.float32) @ self.exemplars.T
        np.maximum.at(out, (rows, self.owners[None, :]), sims)
        banded = [i for i, p in enumerate(prints) if p.narrowband and p.phone is not None]
        if banded and len(self.phone_owners):
            phones = np.vstack([p.phone for p in prints if p.narrowband and p.phone is not None]).astype(np.float32)
            band = phones @ self.phone_exemplars.T - PHONE_MARGIN
            np.maximum.at(out, (np.asarray(banded)[:, None], self.phone_owners[None, :]), band)
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
