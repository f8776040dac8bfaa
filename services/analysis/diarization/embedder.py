"""What turns windows of speech into speaker vectors: a small interface with two implementations.

- ``ResemblyzerEmbedder``: resemblyzer's d-vector LSTM (``services.analysis.diarization.embeddings``),
  bundled, the default;
- ``services.analysis.diarization.onnx_embedder.OnnxEmbedder``: a speaker model the user has as an ONNX file
  (``SPEAKER_EMBEDDING_MODEL``), e.g. WeSpeaker ResNet34 or 3D-Speaker CAM++.

Everything after the embedding (clustering, re-segmentation, re-runs, splits) only sees the vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from services.analysis.diarization.embeddings import embed_windows

Region = tuple[float, float]


class Embedder(Protocol):
    """Speaker vectors for windows of one recording."""

    name: str
    """What the result records as the voice model."""

    def embed(
        self,
        audio: np.ndarray,
        windows: np.ndarray,
        speech: Sequence[Region],
        *,
        on_progress: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        """L2-normalised vectors, float32 (len(windows), dimension), for 16 kHz mono ``audio``.

        ``windows`` are (start, end) seconds, each inside one of the ``speech`` regions.
        """
        ...


class ResemblyzerEmbedder:
    """resemblyzer's d-vectors (256 values), batched over the windows (``services.analysis.diarization.embeddings``)."""

    name = "resemblyzer"

    def __init__(self, device: str = "cpu", threads: int | None = 1) -> None:
        self.device = device
        self.threads = threads

    def embed(
        self,
        audio: np.ndarray,
        windows: np.ndarray,
        speech: Sequence[Region],
        *,
        on_progress: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        return embed_windows(audio, windows, speech, device=self.device, threads=self.threads, on_progress=on_progress)
