"""Write real media files with PyAV (FFmpeg), so tests cover formats without committing binaries."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
CALL_LEVEL_DBFS = -26.0
"""Where a telephone line's gain control puts speech (RMS), well inside the mu-law range."""


def encode_audio(
    path: Path, audio: np.ndarray, rate: int, codec: str, *, channels: int = 1, fmt: str | None = None
) -> Path:
    """Encode float audio in [-1, 1] (mono, copied to every channel) into ``path``."""
    samples = np.asarray(audio, dtype=np.float32)
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout=LAYOUTS[channels])
        frame_size = stream.codec_context.frame_size or 1024
        planar = np.tile(samples, (channels, 1))
        sample_format = stream.codec_context.format.name
        for start in range(0, len(samples), frame_size):
            chunk = planar[:, start : start + frame_size]
            frame = _frame(chunk, sample_format, LAYOUTS[channels])
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _frame(chunk: np.ndarray, sample_format: str, layout: str) -> av.AudioFrame:
    planar = sample_format.endswith("p")
    base = sample_format.rstrip("p")
    data = {
        "flt": chunk.astype(np.float32),
        "s16": (np.clip(chunk, -1, 1) * 32767).astype(np.int16),
        "s32": (np.clip(chunk.astype(np.float64), -1, 1) * 2147483647).astype(np.int32),
        "dbl": chunk.astype(np.float64),
    }[base]
    if not planar:
        data = data.T.reshape(1, -1)  # interleaved: one plane, channels alternating
    return av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=sample_format, layout=layout)


def encode_video_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 with a video track and no audio track."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(int(seconds * 10)):
            image = np.full((48, 64, 3), (i * 20) % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def resample(audio: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear-interpolation resampling, good enough to make test inputs at other rates."""
    n = round(len(audio) * dst / src)
    return np.interp(np.linspace(0, len(audio) - 1, n), np.arange(len(audio)), audio).astype(np.float32)


def telephone_copy(source: Path, path: Path) -> Path:
    """``source`` as a telephone line records it: 300-3400 Hz, 8 kHz, G.711 mu-law in a WAV file.

    Made independently of ``services.analysis.phone_band`` (another filter, a real telephony codec), so a
    test does not recognise a voice through the very function that made its input.
    """
    from scipy.signal import cheby1, resample_poly, sosfiltfilt

    from services.analysis.audio import decode

    narrow = resample_poly(decode(source).astype(np.float64), 1, 2)
    band = sosfiltfilt(cheby1(6, 0.5, [300, 3400], btype="band", fs=8000, output="sos"), narrow)
    band *= 10 ** (CALL_LEVEL_DBFS / 20) / max(float(np.sqrt(np.mean(band**2))), 1e-9)  # a line's gain control
    return encode_audio(path, np.clip(band, -1, 1).astype(np.float32), 8000, "pcm_mulaw", fmt="wav")
