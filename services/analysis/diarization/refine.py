"""Turn edges refined with recognised words.

A recognised word is spoken by one person, so a speaker change that falls inside a word is
moved out of it: the word's frames all go to the speaker holding most of them. Nothing else
changes. Extending speech to words the speech detector missed, or relabelling every word,
made DER worse with tiny.en word times (sample 0.203 -> 0.221, dev01 0.251 -> 0.269): the
recogniser's word edges are less precise than the frame scores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.analysis.diarization.resegment import FRAME
from services.schema import Word

MAX_WORD = 2.0
"""Longer "words" are timing errors of the recogniser and are ignored."""
COVER_MAX_WORD = 1.0
"""Only words up to this long are made speech: tiny.en stretches some words over the pause after
them. DER (no collar) sample / dev00 / dev01 with words up to 2 s made speech: 0.210 / 0.199 / 0.277;
up to 1 s: 0.210 / 0.213 / 0.245; up to 0.5 s: 0.210 / 0.229 / 0.245 (as with none)."""


def cover_words(path: np.ndarray, mask: np.ndarray, words: Sequence[Word]) -> tuple[np.ndarray, np.ndarray]:
    """New (path, mask) in which every recognised word is speech.

    A word the speech detector missed is evidence of speech (quiet, distant or overlapped talk):
    its frames join the mask and take the speaker of the nearest frame that had one, so the
    speaker analysis covers every word. The inputs are not modified.
    """
    out, covered = path.copy(), mask.copy()
    frames = path.size
    for word in words:
        if 0.0 < word.end - word.start <= COVER_MAX_WORD:
            covered[max(0, round(word.start / FRAME)) : min(frames, round(word.end / FRAME))] = True
    added = covered & ~mask
    if not added.any() or not mask.any():
        return out, covered if mask.any() else mask.copy()
    known = np.flatnonzero(mask)
    where = np.flatnonzero(added)
    right = np.clip(np.searchsorted(known, where), 0, known.size - 1)
    left = np.clip(right - 1, 0, known.size - 1)
    nearest = np.where(np.abs(known[left] - where) <= np.abs(known[right] - where), known[left], known[right])
    out[where] = path[nearest]
    return out, covered


def apply_words(path: np.ndarray, mask: np.ndarray, words: Sequence[Word]) -> tuple[np.ndarray, np.ndarray]:
    """New (path, mask) in which no speaker change falls inside a word.

    Args:
        path: (T,) speaker index per frame.
        mask: (T,) speech per frame.
        words: Recognised words with start/end seconds.

    Returns:
        New arrays (the mask unchanged); the inputs are not modified.
    """
    out = path.copy()
    frames = path.size
    for word in words:
        if not 0.0 < word.end - word.start <= MAX_WORD:
            continue
        a = max(0, round(word.start / FRAME))
        b = min(frames, round(word.end / FRAME))
        inside = mask[a:b]
        if b <= a or not inside.any():
            continue
        labels = path[a:b][inside]
        if labels.min() != labels.max():
            out[a:b] = np.where(inside, np.bincount(labels).argmax(), out[a:b])
    return out, mask.copy()
