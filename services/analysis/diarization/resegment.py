"""From window labels to speaker turns with frame resolution.

A 1.6 s window cannot say where inside it a speaker change happens. Each 50 ms frame is
instead scored against every speaker centroid by the windows that cover it (weighted towards
the windows centred on it), and a Viterbi pass with a switching cost picks the best speaker
sequence, so short flips are smoothed away while real changes land between windows.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

FRAME = 0.05
"""Seconds per frame of the speaker timeline."""
SWITCH_COST = 0.6
"""Viterbi cost of a speaker change, in summed cosine advantage (about 0.5 s of speech that
clearly matches the other speaker)."""
EDGE_WEIGHT = 0.2
"""Weight of a window at its edges relative to its centre (triangular weighting)."""

Region = tuple[float, float]


def centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """L2-normalised mean vector of each label 0..k-1."""
    k = int(labels.max()) + 1
    sums = np.zeros((k, vectors.shape[1]))
    np.add.at(sums, labels, vectors)
    return sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)


def frame_scores(
    windows: np.ndarray, vectors: np.ndarray, centres: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame cosine to each centroid, averaged over the windows covering the frame.

    Returns:
        (scores (T, k), coverage weight (T,)); frames no window covers have weight 0.
    """
    frames = int(np.ceil(duration / FRAME))
    k = centres.shape[0]
    scores = np.zeros((frames, k))
    weight = np.zeros(frames)
    if len(windows) == 0:
        return scores, weight
    sims = vectors @ centres.T
    first = np.floor(windows[:, 0] / FRAME).astype(int)
    last = np.minimum(np.ceil(windows[:, 1] / FRAME).astype(int), frames)
    span = int((last - first).max())
    index = first[:, None] + np.arange(span)[None, :]
    inside = index < last[:, None]
    mid = (windows[:, 0] + windows[:, 1]) / 2
    half = np.maximum((windows[:, 1] - windows[:, 0]) / 2, FRAME)
    offset = np.abs((index + 0.5) * FRAME - mid[:, None]) / half[:, None]
    w = np.where(inside, 1.0 - (1.0 - EDGE_WEIGHT) * np.clip(offset, 0.0, 1.0), 0.0)
    flat = np.clip(index, 0, frames - 1).ravel()
    np.add.at(weight, flat, w.ravel())
    for s in range(k):
        np.add.at(scores[:, s], flat, (w * sims[:, s : s + 1]).ravel())
    scores = scores / np.maximum(weight, 1e-9)[:, None]
    return scores, weight


def speech_mask(speech: Sequence[Region], frames: int) -> np.ndarray:
    """Boolean per frame: inside a speech region."""
    mask = np.zeros(frames, dtype=bool)
    for start, end in speech:
        mask[round(start / FRAME) : round(end / FRAME)] = True
    return mask


def viterbi(scores: np.ndarray, informative: np.ndarray, switch_cost: float = SWITCH_COST) -> np.ndarray:
    """Best speaker per frame: maximise summed scores minus ``switch_cost`` per change.

    Args:
        scores: (T, k) frame scores (higher is better).
        informative: (T,) False where no window covered the frame (the score is ignored and
            the speaker of the neighbouring frames carries on).
        switch_cost: Cost of one speaker change.

    Returns:
        int array (T,) of speaker indices.
    """
    frames, k = scores.shape
    if frames == 0:
        return np.zeros(0, dtype=int)
    emit = np.where(informative[:, None], scores - scores.max(axis=1, keepdims=True), 0.0)
    back = np.zeros((frames, k), dtype=np.int32)
    total = emit[0].copy()
    for t in range(1, frames):
        best = int(np.argmax(total))
        switch = total[best] - switch_cost
        stay = total >= switch
        back[t] = np.where(stay, np.arange(k), best)
        total = np.where(stay, total, switch) + emit[t]
    path = np.zeros(frames, dtype=int)
    path[-1] = int(np.argmax(total))
    for t in range(frames - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def runs(path: np.ndarray, mask: np.ndarray) -> list[tuple[float, float, int]]:
    """(start, end, speaker) for each run of one speaker inside the mask."""
    labels = np.where(mask, path, -1)
    change = np.flatnonzero(np.diff(labels)) + 1
    bounds = np.concatenate(([0], change, [labels.size]))
    out = []
    for a, b in itertools.pairwise(bounds):
        if labels[a] >= 0:
            out.append((round(float(a * FRAME), 3), round(float(b * FRAME), 3), int(labels[a])))
    return out
