"""A voice's bounded summary: at most ``MAX_EXEMPLARS`` vectors, one per recording it was confirmed in.

Each recording confirmed as the person adds that speaker's print as an exemplar. Beyond the bound, the
exemplar most like another one is dropped (its recording stays listed, only its vector goes): the voice
loses the least of its range, and a removed recording takes exactly its own vector with it, no average
to unpick.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.voices.prints import unit

MAX_EXEMPLARS = 8
"""Vectors kept per voice. Matching cost grows with it (1,000 voices x 8 = 8,000 dot products per speaker,
``bench.voices``); eight recordings already cover a person's usual rooms and microphones."""


def redundant(vectors: Sequence[np.ndarray], seconds: Sequence[float]) -> int | None:
    """The index of the exemplar to drop so that at most ``MAX_EXEMPLARS`` remain (None: nothing to drop).

    Of the two exemplars most alike, the one standing for less speech goes.
    """
    if len(vectors) <= MAX_EXEMPLARS:
        return None
    matrix = np.vstack([unit(v) for v in vectors])
    sims = matrix @ matrix.T
    np.fill_diagonal(sims, -np.inf)
    i, j = (int(k) for k in np.unravel_index(int(np.argmax(sims)), sims.shape))
    return i if seconds[i] <= seconds[j] else j
