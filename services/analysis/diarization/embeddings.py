"""Speaker embeddings: resemblyzer's d-vector LSTM run in batches over windows of speech.

resemblyzer's own ``embed_utterance`` computes a librosa mel spectrogram and runs one
utterance at a time; here the same mel (torch STFT, equal to librosa's to 1e-7) is computed
only over speech regions, and all windows go through the LSTM in batches of 64, in bfloat16
where the CPU supports it natively.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # both load in the worker only, inside the functions that use them
    import torch
    from resemblyzer import VoiceEncoder

from services.schema import SAMPLE_RATE

HOP = 160
"""Mel hop in samples (10 ms), as resemblyzer was trained with."""
N_FFT = 400
N_MELS = 40
EMBEDDING_SIZE = 256
MEL_CHUNK = 3000
"""Frames transformed at once (30 s)."""
TARGET_DBFS = -30.0
"""resemblyzer normalises training audio to this loudness; its mel is not logarithmic."""

Region = tuple[float, float]


@functools.lru_cache(maxsize=4)
def load_encoder(device: str = "cpu", bfloat16: bool | None = None) -> VoiceEncoder:
    """The resemblyzer VoiceEncoder, loaded once per process and device.

    Args:
        device: torch device name; "cpu" for the app.
        bfloat16: Run in bfloat16 (about 2x faster on CPUs with native bf16, cosine to the
            float32 embedding > 0.999). None picks it when the CPU has native support.

    Returns:
        The encoder in eval mode.
    """
    import torch
    from resemblyzer import VoiceEncoder

    encoder = VoiceEncoder(device, verbose=False).eval()
    if bfloat16 is None:
        bfloat16 = device == "cpu" and _cpu_has_bf16()
    return encoder.to(torch.bfloat16) if bfloat16 else encoder


def _cpu_has_bf16() -> bool:
    # Without native bf16 (AVX512-BF16 / AMX) torch emulates it and gets slower, not faster.
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


@functools.lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa  # only for the filter matrix, the same one resemblyzer uses

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def loudness_gain(audio: np.ndarray, speech: Sequence[Region]) -> float:
    """Gain that brings the speech (not the silence) to resemblyzer's training loudness."""
    total, count = 0.0, 0
    for start, end in speech:
        chunk = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)].astype(np.float64)
        total += float(np.dot(chunk, chunk))
        count += chunk.size
    if count == 0 or total == 0.0:
        return 1.0
    rms = np.sqrt(total / count)
    return float(10 ** (TARGET_DBFS / 20) / rms)


def mel_frames(audio: np.ndarray, first: int, last: int, gain: float = 1.0) -> np.ndarray:
    """resemblyzer's power mel spectrogram for frames ``first..last-1`` of the audio.

    Frame ``i`` is centred on sample ``i * HOP`` (librosa ``center=True``, zero padding), so
    slices of a region give the same values as the spectrogram of the whole file.

    Returns:
        float32 array of shape (last - first, N_MELS).
    """
    import torch

    if last - first > MEL_CHUNK:  # bound the FFT buffers on long regions
        cuts = range(first, last, MEL_CHUNK)
        return np.concatenate([mel_frames(audio, c, min(c + MEL_CHUNK, last), gain) for c in cuts])
    lo, hi = first * HOP - N_FFT // 2, (last - 1) * HOP + N_FFT // 2
    chunk = audio[max(lo, 0) : min(hi, audio.size)].astype(np.float32) * np.float32(gain)
    chunk = np.pad(chunk, (max(0, -lo), max(0, hi - audio.size)))
    spec = torch.stft(torch.from_numpy(chunk), N_FFT, HOP, window=_hann(), center=False, return_complex=True)
    power = spec.real**2 + spec.imag**2
    return (torch.from_numpy(_mel_basis()) @ power).T.numpy()


@functools.lru_cache(maxsize=1)
def _hann() -> torch.Tensor:
    import torch

    return torch.hann_window(N_FFT, periodic=True)  # as librosa's "hann"


def window_grid(speech: Sequence[Region], length: float = 1.6, hop: float = 0.4, min_length: float = 0.4) -> np.ndarray:
    """Windows (start, end) in seconds that tile each speech region.

    Windows never cross a region boundary. A region longer than ``length`` gets evenly spaced
    windows with at most ``hop`` between starts, the last one ending at the region end; a
    shorter one gets a single window of its own length; regions under ``min_length`` none.

    Returns:
        float array of shape (n, 2).
    """
    out: list[tuple[float, float]] = []
    for start, end in speech:
        span = end - start
        if span < min_length:
            continue
        if span <= length:
            out.append((start, end))
            continue
        count = int(np.ceil((span - length) / hop - 1e-9)) + 1
        out.extend((s, s + length) for s in np.linspace(start, end - length, count))
    return np.asarray(out, dtype=np.float64).reshape(-1, 2)


def embed_windows(
    audio: np.ndarray,
    windows: np.ndarray,
    speech: Sequence[Region],
    *,
    device: str = "cpu",
    batch_size: int = 64,
    threads: int | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> np.ndarray:
    """L2-normalised d-vectors, one per window.

    Args:
        audio: 16 kHz mono float32 samples.
        windows: (n, 2) window bounds in seconds, each inside one speech region.
        speech: The speech regions (for loudness normalisation and mel slicing).
        device: torch device for the encoder.
        batch_size: Windows per LSTM call (64: larger bf16 batches are up to 10x slower per
            window with torch 2.13 on CPU).
        threads: torch CPU threads while embedding (restored afterwards); None keeps the
            process setting. On a busy machine 1 thread is several times faster than 2.
        on_progress: Called with the fraction of windows done after each batch.

    Returns:
        float32 array of shape (n, EMBEDDING_SIZE).
    """
    if len(windows) == 0:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    with torch_threads(threads):
        return _embed(audio, windows, speech, device, batch_size, on_progress)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Temporarily run torch's CPU kernels on ``threads`` threads (None: unchanged)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _embed(
    audio: np.ndarray,
    windows: np.ndarray,
    speech: Sequence[Region],
    device: str,
    batch_size: int,
    on_progress: Callable[[float], None] | None,
) -> np.ndarray:
    """The body of :func:`embed_windows`."""
    import torch

    vectors = np.zeros((len(windows), EMBEDDING_SIZE), dtype=np.float32)
    encoder = load_encoder(device)
    dtype = next(encoder.parameters()).dtype
    gain = loudness_gain(audio, speech)
    bounds = np.rint(windows * (SAMPLE_RATE / HOP)).astype(int)
    # Windows of equal length share a batch; short ones are trimmed to 50 ms buckets.
    lengths = np.where(bounds[:, 1] - bounds[:, 0] >= 160, 160, (bounds[:, 1] - bounds[:, 0]) // 5 * 5)
    mels = _region_mels(audio, speech, gain)
    offsets = np.array([offset for offset, _ in mels])
    order = np.lexsort((bounds[:, 0], -lengths))
    done = 0
    for length in np.unique(lengths)[::-1]:
        group = order[lengths[order] == length]
        for chunk in np.array_split(group, int(np.ceil(group.size / batch_size))):
            batch = np.stack([_slice(mels, offsets, bounds[i, 0], int(length)) for i in chunk])
            with torch.inference_mode():
                out = encoder(torch.from_numpy(batch).to(encoder.device, dtype))
            vectors[chunk] = out.float().cpu().numpy()
            done += chunk.size
            if on_progress is not None:
                on_progress(done / len(windows))
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def _region_mels(audio: np.ndarray, speech: Sequence[Region], gain: float) -> list[tuple[int, np.ndarray]]:
    """(first frame, mel) for every speech region; only speech is ever transformed."""
    out = []
    for start, end in speech:
        first = int(np.floor(start * SAMPLE_RATE / HOP))
        last = int(np.ceil(end * SAMPLE_RATE / HOP)) + 1
        out.append((first, mel_frames(audio, first, last, gain)))
    return out


def _slice(mels: list[tuple[int, np.ndarray]], offsets: np.ndarray, first: int, length: int) -> np.ndarray:
    """``length`` mel frames from frame ``first`` (zero-padded at the region's end)."""
    index = int(np.searchsorted(offsets, first, side="right")) - 1
    offset, mel = mels[max(index, 0)]
    if not offset <= first < offset + mel.shape[0]:
        raise ValueError(f"window starting at frame {first} lies outside every speech region")
    piece = mel[first - offset : first - offset + length]
    return np.pad(piece, ((0, length - piece.shape[0]), (0, 0)))
