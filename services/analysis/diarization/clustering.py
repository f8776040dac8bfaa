"""Speaker count estimation and clustering of window embeddings.

Spectral clustering on a k-nearest-neighbour graph of the d-vectors. Two graphs vote on the
number of speakers: the largest eigengap of a broad graph's normalised Laplacian and the number of
near-zero eigenvalues of a local one; the larger count wins (``_spectral``).

Two choices matter more than the rest (measured on the data in ``bench``):

* Windows that overlap in time share audio, so their similarity says nothing about who
  speaks; they are kept out of each other's neighbour lists. Without that, each window's
  nearest neighbours are its temporal neighbours, the graph becomes a chain of time slices,
  and one speaker falls apart into several "clusters" (single-speaker files came out as
  2-6 speakers).
* The neighbour count has a floor (``MIN_NEIGHBOURS``): on short recordings a few
  neighbours per window split the graph into chance components.

Absolute cosine thresholds are avoided on purpose: with resemblyzer the cosine between two
different speakers in one recording (0.74-0.89 here) overlaps the one between two halves of
one speaker, and it moves with the recording conditions; the graph's structure does not.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from services.schema import SpeakerCount

NEIGHBOUR_FRACTION = 0.08
"""Neighbours per window in the broad graph (whose largest eigengap is one vote on the count)."""
LOCAL_FRACTION = 0.03
"""Neighbours per window in the local graph (whose near-zero eigenvalues are the other vote). On the
count suite (111 recordings, clean/far/phone, cached embeddings) the near-zero rule alone gave
0.02: 56 % right, 0.03: 56 %, 0.04: 50 %, 0.08: 50 % (fewer neighbours join fewer speakers)."""
MIN_NEIGHBOURS = 6
MAX_SPEAKERS = 8
"""Upper bound of the estimate when the caller gives none."""
SMALL = 20
"""With fewer windows (about 8 s of speech) the graph is too small for its eigengap to mean
anything; a calibrated cosine threshold on cluster centroids decides instead."""
MERGE_ABOVE = 0.8
"""Centroid cosine above which two groups of windows of a short recording are one speaker
(halves of one speaker: 0.86-0.94 here; two speakers of one recording: 0.65-0.82, so a short
recording of two similar voices may come out as one speaker)."""
NEAR_ZERO = 0.2
"""Laplacian eigenvalues below this count as separate speakers (see ``rank_counts``)."""
CLOSE_MARGIN = 0.05
"""The runner-up count is "close" when the deciding eigenvalue lies this near ``NEAR_ZERO``."""
SPARSE_ABOVE = 300
"""Graphs with more nodes use a sparse eigensolver."""
MAX_UNITS = 1500
"""Above this many windows, consecutive windows are averaged first (memory and time stay
bounded: the graph is dense, n x n)."""


def cluster_windows(
    vectors: np.ndarray,
    windows: np.ndarray,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = MAX_SPEAKERS,
) -> np.ndarray:
    """Speaker label (0..k-1) for every window (:func:`cluster` without the count's confidence)."""
    labels, _count = cluster(
        vectors, windows, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
    )
    return labels


def cluster(
    vectors: np.ndarray,
    windows: np.ndarray,
    *,
    num_speakers: int | None = None,
    min_speakers: int = 1,
    max_speakers: int = MAX_SPEAKERS,
) -> tuple[np.ndarray, SpeakerCount]:
    """Speaker label (0..k-1) for every window, and how sure the count is.

    Args:
        vectors: (n, d) L2-normalised embeddings.
        windows: (n, 2) window start/end seconds, sorted by start.
        num_speakers: Exact number of speakers, if known.
        min_speakers: Lower bound of the estimate.
        max_speakers: Upper bound of the estimate.

    Returns:
        int array (n,) of labels (dense, in no particular order) and the count with its runner-up.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros(0, dtype=int), SpeakerCount(0)
    if n == 1 or num_speakers == 1 or max_speakers == 1:
        return np.zeros(n, dtype=int), SpeakerCount(1)
    if n < SMALL:
        labels = _agglomerative(vectors, num_speakers, min_speakers, max_speakers)
        return labels, SpeakerCount(int(labels.max()) + 1)
    groups = unit_groups(windows, MAX_UNITS)
    unit_vectors, unit_windows = _pool(vectors, windows, groups)
    unit_labels, count = _spectral(unit_vectors, unit_windows, num_speakers, min_speakers, max_speakers)
    return unit_labels[groups], count


def unit_groups(windows: np.ndarray, max_units: int) -> np.ndarray:
    """Index of the unit each window belongs to: runs of consecutive windows.

    Runs are cut where a pause separates two windows, so a unit stays inside one stretch of
    speech; only when that still leaves more than ``max_units`` units (very long files,
    where windows no longer touch) are pauses ignored.
    """
    n = len(windows)
    size = int(np.ceil(n / max_units))
    if size <= 1:
        return np.arange(n)
    pause = np.concatenate(([True], windows[1:, 0] > windows[:-1, 1]))
    unit = _runs_of(pause, size)
    return unit if unit[-1] < max_units else _runs_of(np.zeros(n, dtype=bool), size)


def _runs_of(cut: np.ndarray, size: int) -> np.ndarray:
    """Consecutive runs of at most ``size`` items, also cut wherever ``cut`` is True."""
    unit = np.zeros(cut.size, dtype=int)
    current, filled = 0, 0
    for i in range(cut.size):
        if i and (cut[i] or filled == size):
            current, filled = current + 1, 0
        unit[i] = current
        filled += 1
    return unit


def _pool(vectors: np.ndarray, windows: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised mean vector and overall (start, end) of each unit."""
    count = groups.max() + 1
    sums = np.zeros((count, vectors.shape[1]))
    np.add.at(sums, groups, vectors)
    pooled = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
    starts = np.full(count, np.inf)
    ends = np.full(count, -np.inf)
    np.minimum.at(starts, groups, windows[:, 0])
    np.maximum.at(ends, groups, windows[:, 1])
    return pooled, np.stack([starts, ends], axis=1)


def neighbour_graph(vectors: np.ndarray, windows: np.ndarray, fraction: float = NEIGHBOUR_FRACTION) -> np.ndarray:
    """Symmetric affinity: cosine to each window's nearest neighbours among windows it does
    not overlap in time, zero elsewhere (``fraction`` of the windows, at least ``MIN_NEIGHBOURS``)."""
    n = len(vectors)
    sim = vectors @ vectors.T
    overlap = (windows[:, None, 0] < windows[None, :, 1]) & (windows[None, :, 0] < windows[:, None, 1])
    sim = np.where(overlap, -np.inf, sim)
    keep = min(n - 1, max(MIN_NEIGHBOURS, int(np.ceil(fraction * n))))
    if keep < 1:
        return np.zeros((n, n))
    kth = -np.partition(-sim, keep - 1, axis=1)[:, keep - 1 : keep]
    affinity = np.where((sim >= kth) & np.isfinite(sim), np.clip(sim, 0.0, None), 0.0)
    return np.maximum(affinity, affinity.T)


def _spectral(
    vectors: np.ndarray,
    windows: np.ndarray,
    num_speakers: int | None,
    min_speakers: int,
    max_speakers: int,
) -> tuple[np.ndarray, SpeakerCount]:
    """Labels from k-means on the rows of the first k Laplacian eigenvectors.

    Two graphs vote on the count: the broad one (``NEIGHBOUR_FRACTION``) at its largest
    eigengap, the local one (``LOCAL_FRACTION``) by its near-zero eigenvalues
    (:func:`rank_counts`). The larger count wins, leaning toward one speaker too many (a merge
    is one click, a split is not); when they disagree, the other is the close runner-up, and a
    single speaker with two close behind becomes two.
    """
    from sklearn.cluster import KMeans

    n = len(vectors)
    top = min(n - 1, max(MAX_SPEAKERS, max_speakers, num_speakers or 0) + 1)
    broad_values, broad_vectors = smallest_eigenpairs(neighbour_graph(vectors, windows), top + 1)
    eigvecs = broad_vectors
    if num_speakers:
        count = SpeakerCount(num_speakers)
    else:
        gap = estimate_count(broad_values, min_speakers, max_speakers)
        local_values, local_vectors = smallest_eigenpairs(neighbour_graph(vectors, windows, LOCAL_FRACTION), top + 1)
        near = rank_counts(local_values, min_speakers, max_speakers)
        if near.chosen > gap:
            count, eigvecs = SpeakerCount(near.chosen, gap, True), local_vectors
        elif near.chosen < gap:
            count = SpeakerCount(gap, near.chosen, True)
        else:
            count = near
        if count.chosen == 1 and count.close and count.runner_up == 2:
            # One speaker, but two nearly as likely: two (on the count suite, single speakers
            # where two each talk > 10 % of the time 4 -> 1 of 111, one solo voice split).
            count = SpeakerCount(2, 1, True)
    k = int(min(count.chosen, n))
    if k <= 1:
        return np.zeros(n, dtype=int), count
    spectral = eigvecs[:, :k]
    spectral = spectral / np.maximum(np.linalg.norm(spectral, axis=1, keepdims=True), 1e-9)
    return KMeans(k, n_init=10, random_state=0).fit_predict(spectral), count


def smallest_eigenpairs(affinity: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` smallest eigenvalues (ascending) and eigenvectors of the normalised
    Laplacian ``I - D^-1/2 A D^-1/2`` of the affinity matrix A."""
    n = len(affinity)
    degree = affinity.sum(axis=1)
    scale = 1.0 / np.sqrt(np.where(degree > 0, degree, 1.0))
    normalised = scale[:, None] * affinity * scale[None, :]
    if n <= SPARSE_ABOVE:
        values, vectors = scipy.linalg.eigh(np.eye(n) - normalised, subset_by_index=[0, count - 1])
        return values, vectors
    # The graph is sparse (a few dozen neighbours per node): Lanczos on the largest
    # eigenvalues of the normalised adjacency is far cheaper than a dense solver here.
    mu, vectors = scipy.sparse.linalg.eigsh(
        scipy.sparse.csr_matrix(normalised), k=count, which="LA", v0=np.ones(n), tol=1e-6
    )
    order = np.argsort(-mu)
    return 1.0 - mu[order], vectors[:, order]


def _agglomerative(vectors: np.ndarray, num_speakers: int | None, min_speakers: int, max_speakers: int) -> np.ndarray:
    """Centroid-linkage merging: join the two most similar groups until the best pair is
    below ``MERGE_ABOVE`` (or the requested count is reached)."""
    members = [[i] for i in range(len(vectors))]
    sums = [vectors[i].astype(np.float64) for i in range(len(vectors))]
    target_lo = num_speakers or max(1, min_speakers)
    target_hi = num_speakers or max_speakers
    while len(members) > 1:
        unit = np.stack([v / np.linalg.norm(v) for v in sums])
        sim = unit @ unit.T
        np.fill_diagonal(sim, -np.inf)
        a, b = (int(i) for i in np.unravel_index(np.argmax(sim), sim.shape))
        singles = any(len(m) == 1 for m in members)
        if len(members) <= target_lo or (len(members) <= target_hi and sim[a, b] < MERGE_ABOVE and not singles):
            break
        if singles and len(members) <= target_hi and sim[a, b] < MERGE_ABOVE:
            # A lone window is too noisy to be a speaker: join it to its closest group.
            a = next(i for i, m in enumerate(members) if len(m) == 1)
            row = sim[a].copy()
            b = int(np.argmax(row))
        a, b = min(a, b), max(a, b)
        members[a] += members.pop(b)
        sums[a] = sums[a] + sums.pop(b)
    labels = np.zeros(len(vectors), dtype=int)
    for label, group in enumerate(members):
        labels[group] = label
    return labels


def rank_counts(eigenvalues: np.ndarray, min_speakers: int = 1, max_speakers: int = MAX_SPEAKERS) -> SpeakerCount:
    """The number of nearly separate groups in the graph, with the runner-up count.

    A graph of k disconnected groups has k zero eigenvalues; speakers give groups joined by a few
    edges, so their eigenvalues are small rather than zero. The count is the number of eigenvalues
    below ``NEAR_ZERO`` (at least 1): the Laplacian's spectrum lies in [0, 2] whatever the
    embeddings' scale, so the threshold does not move with the recording conditions the way a
    cosine threshold does. The runner-up is the count one eigenvalue further or nearer, whichever
    eigenvalue lies nearer the threshold; ``close`` when it lies within ``CLOSE_MARGIN`` of it.
    """
    top = min(max(MAX_SPEAKERS, max_speakers), len(eigenvalues) - 1)
    lo, hi = max(1, min(min_speakers, top)), max(1, min(max_speakers, top))
    if top < 1 or hi <= lo:
        return SpeakerCount(int(np.clip(1, lo, max(lo, hi))))
    values = np.asarray(eigenvalues[: top + 1], dtype=np.float64)
    found = int(np.clip(np.sum(values[:top] < NEAR_ZERO), 1, top))
    chosen = int(np.clip(found, lo, hi))
    # eigenvalue index `chosen` (0-based) is the first one counted out, `chosen - 1` the last counted in.
    above = values[chosen] - NEAR_ZERO if chosen < values.size else np.inf
    below = NEAR_ZERO - values[chosen - 1] if chosen >= 2 else np.inf
    runner = chosen + 1 if above <= below else chosen - 1
    if not lo <= runner <= hi:
        runner = chosen - 1 if runner > chosen else chosen + 1
    if not lo <= runner <= hi:
        return SpeakerCount(chosen)
    close = min(above, below) <= CLOSE_MARGIN
    return SpeakerCount(chosen, runner, bool(close))


def estimate_count(eigenvalues: np.ndarray, min_speakers: int = 1, max_speakers: int = MAX_SPEAKERS) -> int:
    """Number of clusters at the largest gap between consecutive Laplacian eigenvalues.

    Args:
        eigenvalues: Ascending eigenvalues of the normalised Laplacian.
        min_speakers: Smallest count allowed.
        max_speakers: Largest count allowed.

    Returns:
        The count k with the largest gap between eigenvalues k and k+1 (1-based) among
        1..max(MAX_SPEAKERS, max_speakers), clipped to [min_speakers, max_speakers].
    """
    top = min(max(MAX_SPEAKERS, max_speakers), len(eigenvalues) - 1)
    best = int(np.argmax(np.diff(eigenvalues[: top + 1]))) + 1 if top >= 1 else 1
    return int(np.clip(best, min(min_speakers, len(eigenvalues)), max(1, max_speakers)))
