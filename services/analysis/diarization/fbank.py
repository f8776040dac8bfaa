"""Kaldi's log-mel filterbank ("fbank") in numpy: the input of WeSpeaker and 3D-Speaker speaker models.

Those models were trained on ``torchaudio.compliance.kaldi.fbank`` features; torchaudio has no release
for this project's torch, so the same computation is written here from Kaldi's definition
(``feat/feature-fbank.cc``, ``feat/mel-computations.cc``, ``feat/feature-window.cc``) with Kaldi's
defaults: 25 ms frames every 10 ms with ``snip_edges`` (only whole frames), no dither, DC offset
removed per frame, pre-emphasis 0.97, the "povey" window (or Hamming), a 512-point FFT, power spectrum,
triangular filters evenly spaced on the mel scale ``1127 ln(1 + f / 700)`` from 20 Hz to Nyquist,
and the log floored at float32's epsilon. ``cmn`` subtracts the mean over frames, as both projects
do per utterance.

Samples are scaled to the 16-bit range first (Kaldi reads integer PCM; WeSpeaker multiplies by
2^15 for the same reason). After the mean normalisation the scale cancels out, except that quiet
audio stays clear of the floor.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
FRAME_LENGTH = 400
"""25 ms at 16 kHz."""
FRAME_SHIFT = 160
"""10 ms at 16 kHz."""
FFT_SIZE = 512
"""The frame length rounded up to a power of two (Kaldi's ``round_to_power_of_two``)."""
PREEMPHASIS = 0.97
LOW_FREQ = 20.0
PCM_SCALE = 32768.0
EPSILON = float(np.finfo(np.float32).eps)


def frame_count(samples: int) -> int:
    """Frames Kaldi makes of ``samples`` samples (``snip_edges``: whole frames only)."""
    return 0 if samples < FRAME_LENGTH else 1 + (samples - FRAME_LENGTH) // FRAME_SHIFT


def fbank(audio: np.ndarray, num_bins: int = 80, *, cmn: bool = True, window: str = "povey") -> np.ndarray:
    """Log-mel filterbank of 16 kHz mono float audio (-1..1).

    Args:
        audio: 1-D samples.
        num_bins: mel bands (80 for the usual speaker models).
        cmn: subtract the mean over frames (per-utterance mean normalisation).
        window: ``povey`` (Kaldi's default, 3D-Speaker's) or ``hamming`` (what WeSpeaker's recipes use).

    Returns:
        float32 array (frames, num_bins); no rows for audio shorter than one frame.
    """
    return fbank_batch(np.asarray(audio, dtype=np.float32)[None, :], num_bins, cmn=cmn, window=window)[0]


def fbank_batch(audio: np.ndarray, num_bins: int = 80, *, cmn: bool = True, window: str = "povey") -> np.ndarray:
    """:func:`fbank` of several clips of one length at once: (batch, samples) -> (batch, frames, num_bins)."""
    audio = np.asarray(audio, dtype=np.float64) * PCM_SCALE
    batch, samples = audio.shape
    count = frame_count(samples)
    if count == 0:
        return np.zeros((batch, 0, num_bins), dtype=np.float32)
    starts = np.arange(count) * FRAME_SHIFT
    frames = audio[:, starts[:, None] + np.arange(FRAME_LENGTH)[None, :]]  # (batch, frames, 400)
    frames = frames - frames.mean(axis=2, keepdims=True)
    previous = np.concatenate([frames[:, :, :1], frames[:, :, :-1]], axis=2)  # Kaldi: x[0] - 0.97 x[0]
    frames = (frames - PREEMPHASIS * previous) * _window(window)
    power = np.abs(np.fft.rfft(frames, n=FFT_SIZE, axis=2)) ** 2  # (batch, frames, 257)
    mel = power @ _mel_banks(num_bins).T
    feats = np.log(np.maximum(mel, EPSILON))
    if cmn:
        feats = feats - feats.mean(axis=1, keepdims=True)
    return feats.astype(np.float32)


WINDOWS = ("povey", "hamming")


@functools.lru_cache(maxsize=2)
def _window(name: str) -> np.ndarray:
    cosine = np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / (FRAME_LENGTH - 1))
    if name == "hamming":
        return 0.54 - 0.46 * cosine
    if name == "povey":
        return (0.5 - 0.5 * cosine) ** 0.85
    raise ValueError(f"unknown window {name!r}; one of {WINDOWS}")


def mel(freq: np.ndarray | float) -> np.ndarray:
    """Kaldi's mel scale."""
    return 1127.0 * np.log(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


@functools.lru_cache(maxsize=4)
def _mel_banks(num_bins: int) -> np.ndarray:
    """(num_bins, FFT_SIZE // 2 + 1) triangular weights on the mel scale; the Nyquist bin has none (as Kaldi)."""
    low, high = mel(LOW_FREQ), mel(SAMPLE_RATE / 2)
    delta = (high - low) / (num_bins + 1)
    bin_mel = mel(np.arange(FFT_SIZE // 2) * SAMPLE_RATE / FFT_SIZE)[None, :]
    left = low + np.arange(num_bins)[:, None] * delta
    centre, right = left + delta, left + 2 * delta
    rising = (bin_mel - left) / (centre - left)
    falling = (right - bin_mel) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return np.pad(weights, ((0, 0), (0, 1)))
