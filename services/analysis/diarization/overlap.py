"""Overlapped speech: where two people talk at once, both get a turn.

The re-segmentation (``services.analysis.diarization.resegment``) gives each frame one speaker. In conversation most
overlap happens where the floor changes hands without a pause: the next speaker starts before the
last one has finished. Around each such change the frame scores (cosine of the windows covering a
frame to each speaker's centroid) say how much of the other voice is still there: where the
speaker who is not on the path scores within ``MARGIN`` of the one who is, both are taken to talk,
for at most ``MAX_EXTENT`` seconds on either side of the change.
"""

from __future__ import annotations

import numpy as np

from services.analysis.diarization.resegment import FRAME

MARGIN = 0.01
"""Score difference (cosine) under which the other speaker of a change counts as talking too.
DER (no collar) of sample / dev00 / dev01 with margin 0 (no overlap): 0.203 / 0.229 / 0.246;
0.01 (0.3 s): 0.205 / 0.236 / 0.244; 0.02: 0.216 / 0.237 / 0.250; 0.05: 0.246 / 0.258 / 0.292.
The 1.6 s windows blur every change, so a wider margin adds false alarm faster than it finds
overlap: the smallest margin that marks overlap is kept."""
MAX_EXTENT = 0.3
"""Seconds on either side of a speaker change that may be marked as overlap (0.5 s and 1.0 s
gave the same DER at margin 0.02 and 0.05: the margin decides)."""


def overlap_segments(
    path: np.ndarray,
    mask: np.ndarray,
    scores: np.ndarray,
    informative: np.ndarray,
    *,
    margin: float | None = None,
    max_extent: float | None = None,
) -> list[tuple[float, float, int]]:
    """(start, end, speaker) of the second speaker in overlaps at speaker changes.

    Args:
        path: (T,) speaker per frame (the dominant one).
        mask: (T,) speech per frame.
        scores: (T, k) frame scores.
        informative: (T,) frames some window covers (others carry no evidence).
        margin: See ``MARGIN`` (the default).
        max_extent: See ``MAX_EXTENT`` (the default).

    Returns:
        Segments of the speaker who is not on the path, in seconds.
    """
    margin = MARGIN if margin is None else margin
    max_extent = MAX_EXTENT if max_extent is None else max_extent
    if margin <= 0 or max_extent <= 0 or path.size < 2:
        return []
    reach = round(max_extent / FRAME)
    changes = np.flatnonzero(mask[1:] & mask[:-1] & (path[1:] != path[:-1])) + 1
    out: list[tuple[float, float, int]] = []
    for t in changes:
        before, after = int(path[t - 1]), int(path[t])
        # The next speaker already talking before the change, the last one still talking after it.
        for first, step, own, other in ((t - 1, -1, before, after), (t, 1, after, before)):
            span = _extent(scores, mask, informative, path, first, step, own, other, reach, margin)
            if span:
                a, b = sorted((first, first + step * (span - 1)))
                out.append((round(a * FRAME, 3), round((b + 1) * FRAME, 3), other))
    return out


def _extent(scores, mask, informative, path, first, step, own, other, reach, margin) -> int:  # type: ignore[no-untyped-def]
    """Frames from ``first`` in direction ``step`` where ``other`` scores within ``margin`` of ``own``."""
    count = 0
    t = first
    while 0 <= t < path.size and count < reach and mask[t] and path[t] == own and informative[t]:
        if scores[t, other] < scores[t, own] - margin:
            break
        count += 1
        t += step
    return count
