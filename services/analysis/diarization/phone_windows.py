"""Telephone embeddings of a sample of a recording's windows, so a voice named here is known on the phone.

The voice library (``services.voices``) keeps, beside each speaker's plain print, the print of the same
speech as a telephone line passes it (``services.analysis.phone_band``). Which speaker a window belongs to
is decided later and may change (a re-run, a split, a merge), so the telephone copy is computed per
window, before speakers are known, for an evenly spread sample of the windows; a speaker's
telephone print is then the mean over the sampled windows inside their turns (``services.voices.prints``).
The windows are cut out of the recording and put end to end, so only their audio is filtered and embedded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from services.analysis.phone_band import is_narrowband, phone_band
from services.schema import SAMPLE_RATE

if TYPE_CHECKING:
    from services.analysis.diarization.diarize import SpeechEmbeddings
    from services.analysis.diarization.embedder import Embedder

PHONE_WINDOWS = 64
"""Windows embedded a second time, at most: about 100 s of speech whatever the recording's length. Measured
(``python -m bench.speed``, ``VOICE_LIBRARY`` on against off in one run): +0.8 % CPU on the 60-minute row,
within the noise on the 8-minute one. Spread evenly, a speaker with a tenth of the speech gets about six,
twice the three a print needs (``services.voices.prints.MIN_WINDOWS``)."""


def phone_rows(windows: np.ndarray, limit: int = PHONE_WINDOWS) -> np.ndarray:
    """Indices of at most ``limit`` windows spread evenly over the recording (all of them when there are fewer).

    Windows overlap (a 0.4 s hop), so a short recording keeps all of them, as its plain print does; a long one
    gets windows far apart.
    """
    count = len(np.asarray(windows).reshape(-1, 2))
    if limit <= 0 or count == 0:
        return np.zeros(0, dtype=np.int64)
    if count <= limit:
        return np.arange(count, dtype=np.int64)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))


def with_phone_windows(
    emb: SpeechEmbeddings, audio: np.ndarray, embedder: Embedder, limit: int = PHONE_WINDOWS
) -> SpeechEmbeddings:
    """``emb`` with the telephone embeddings of a sample of its windows (``phone_rows``, ``phone_vectors``), and
    whether that speech is narrowband already (``narrowband``: it is then compared in the telephone band).

    Args:
        emb: the recording's embeddings (one channel).
        audio: the 16 kHz mono recording they were computed from.
        embedder: the same voice model, so both prints live in one space.
        limit: windows to embed at most; 0 leaves ``emb`` as it is.
    """
    rows = phone_rows(emb.windows, limit) if emb.channels == 1 else np.zeros(0, dtype=np.int64)
    if rows.size == 0:
        return emb
    pieces = [audio[round(float(a) * SAMPLE_RATE) : round(float(b) * SAMPLE_RATE)] for a, b in emb.windows[rows]]
    lengths = np.array([p.size for p in pieces], dtype=np.float64) / SAMPLE_RATE
    ends = np.cumsum(lengths)
    speech = np.concatenate(pieces)
    windows = np.column_stack([ends - lengths, ends])
    vectors = embedder.embed(phone_band(speech), windows, [(0.0, float(ends[-1]))])
    return replace(
        emb, phone_rows=rows, phone_vectors=np.asarray(vectors, dtype=np.float32), narrowband=is_narrowband(speech)
    )
