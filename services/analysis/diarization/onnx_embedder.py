"""A speaker-embedding model from an ONNX file (``SPEAKER_EMBEDDING_MODEL``), run with onnxruntime.

The contract is the one of the openly published WeSpeaker and 3D-Speaker exports: one float32 input
of 80-band Kaldi log-mel filterbank frames, mean-normalised per utterance
(``services.analysis.diarization.fbank``), shaped
(batch, frames, bands), and one output holding a vector per item, (batch, dimension). Names and sizes
are read from the file, never assumed: the number of bands is the input's last dimension (80 when the
file leaves it open), the vector size is whatever the model returns. A model whose batch dimension is
fixed to 1 is run one window at a time.

Nothing is downloaded: the file is at the given path or the task fails, once, with that path in the
message (``SpeakerModelError``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from services.analysis.diarization.fbank import fbank_batch
from services.errors import SpeakerModelError
from services.schema import SAMPLE_RATE

DEFAULT_BANDS = 80
BATCH = 64
"""Windows per model call (a 1.6 s window is 158 frames: 64 of them are 3 MB of features)."""
MIN_FRAMES = 10
"""Windows shorter than this (0.1 s) are padded with silence-level frames to it: the models' first layers
are convolutions that need a few frames."""

Region = tuple[float, float]


class OnnxEmbedder:
    """Speaker vectors from an ONNX model file (WeSpeaker, 3D-Speaker and alike).

    Raises (at construction):
        SpeakerModelError: the file is missing, unreadable, not an ONNX model, or not the expected kind.
    """

    def __init__(self, path: str | Path, *, threads: int = 1, window: str = "povey") -> None:
        """``window``: the filterbank's analysis window, ``povey`` or ``hamming``.

        See ``services.analysis.diarization.fbank``.
        """
        self.path = Path(path).expanduser()
        self.window = window
        self.name = f"onnx:{self.path.name}"
        self._session = _open(self.path, threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or not outputs:
            raise self._error(f"it has {len(inputs)} inputs and {len(outputs)} outputs; one input (filterbank frames) "
                              "and an output of one vector per item are expected")  # fmt: skip
        feed = inputs[0]
        shape = list(feed.shape)
        if feed.type != "tensor(float)" or len(shape) != 3:
            raise self._error(
                f"its input {feed.name!r} is {feed.type} {shape}; a float tensor [batch, frames, 80] is expected"
            )
        self.input_name, self.output_name = feed.name, outputs[0].name
        self.bands = shape[2] if isinstance(shape[2], int) and shape[2] > 0 else DEFAULT_BANDS
        self.batch = 1 if shape[0] == 1 else BATCH
        self.frames = shape[1] if isinstance(shape[1], int) and shape[1] > 0 else None

    def _error(self, why: str) -> SpeakerModelError:
        return SpeakerModelError(
            f"The speaker embedding model {self.path} (SPEAKER_EMBEDDING_MODEL) cannot be used: {why}."
        )

    def embed(
        self,
        audio: np.ndarray,
        windows: np.ndarray,
        speech: Sequence[Region],
        *,
        on_progress: Callable[[float], None] | None = None,
    ) -> np.ndarray:
        """L2-normalised vectors, one per window (see ``services.analysis.diarization.embedder.Embedder``)."""
        windows = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
        bounds = np.rint(windows * SAMPLE_RATE).astype(int)
        lengths = bounds[:, 1] - bounds[:, 0]
        vectors: list[np.ndarray | None] = [None] * len(windows)
        done = 0
        for length in np.unique(lengths):  # windows of one length share a batch
            group = np.flatnonzero(lengths == length)
            for first in range(0, group.size, self.batch):
                chunk = group[first : first + self.batch]
                clips = np.stack([_clip(audio, bounds[i, 0], int(length)) for i in chunk])
                for i, vector in zip(chunk, self._run(self._features(clips)), strict=False):
                    vectors[i] = vector
                done += chunk.size
                if on_progress is not None:
                    on_progress(done / len(windows))
        if not vectors:
            return np.zeros((0, 0), dtype=np.float32)
        out = np.stack(vectors).astype(np.float32)  # type: ignore[arg-type]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    def _features(self, clips: np.ndarray) -> np.ndarray:
        feats = fbank_batch(clips, self.bands, window=self.window)
        want = self.frames or max(MIN_FRAMES, feats.shape[1])
        if feats.shape[1] < want:  # after mean normalisation, zeros are the average frame
            feats = np.pad(feats, ((0, 0), (0, want - feats.shape[1]), (0, 0)))
        return np.ascontiguousarray(feats[:, :want])

    def _run(self, feats: np.ndarray) -> np.ndarray:
        try:
            (out,) = self._session.run([self.output_name], {self.input_name: feats})
        except Exception as exc:  # onnxruntime raises its own types for shape and type mismatches
            raise self._error(f"running it on {feats.shape} filterbank frames failed ({exc})") from exc
        out = np.asarray(out, dtype=np.float32)
        if out.ndim < 2 or out.shape[0] != feats.shape[0]:
            raise self._error(
                f"it returned shape {list(out.shape)} for {feats.shape[0]} items; one vector per item is expected"
            )
        out = out.reshape(out.shape[0], -1)
        if not np.all(np.isfinite(out)):
            raise self._error("it returned values that are not finite numbers")
        return out


def _clip(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    piece = np.asarray(audio[max(start, 0) : start + length], dtype=np.float32)
    return np.pad(piece, (0, length - piece.size)) if piece.size < length else piece


def _open(path: Path, threads: int):  # type: ignore[no-untyped-def]
    """An onnxruntime session of the model at ``path`` on the CPU."""
    where = f"The speaker embedding model {path} (SPEAKER_EMBEDDING_MODEL)"
    if not path.is_file():
        raise SpeakerModelError(
            f"{where} does not exist{' (it is a folder)' if path.is_dir() else ''}. Put the .onnx file there or unset "
            "SPEAKER_EMBEDDING_MODEL to use the bundled resemblyzer model; nothing is downloaded."
        )
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(0, threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the reason reaches the task's message instead
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # InvalidProtobuf, InvalidGraph, Fail, NoSuchFile...: all mean "cannot be loaded"
        raise SpeakerModelError(f"{where} cannot be loaded as an ONNX model: {exc}") from exc
