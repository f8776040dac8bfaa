"""Recording conditions applied to clean benchmark audio: far-field, phone band, quieter.

Everything is built with numpy/scipy and PyAV, from the audio itself, so a variant is the same
on every machine (seeded). Used by ``bench.count_suite`` and ``bench.accuracy``.

* ``far``: a synthetic room impulse response (direct path, a few early reflections 3-25 ms later,
  then exponentially decaying noise with RT60 0.5-0.9 s, direct-to-reverberant ratio about 0 dB),
  then the level brought to -45 dBFS (a distant microphone) with a noise floor 25 dB below it.
* ``phone``: band-limited to 300-3400 Hz at 8 kHz, encoded as MP3 at 24 kbit/s with PyAV
  (libmp3lame), decoded and resampled back to 16 kHz.
* ``quiet``: 15 dB quieter, nothing else.
"""

from __future__ import annotations

import io

import numpy as np

from services.schema import SAMPLE_RATE

CONDITIONS = ("clean", "far", "phone")
FAR_LEVEL_DB = -45.0
"""Speech level of the far-field variant (dBFS): the middle of the -40..-55 dBFS the issue names."""
FAR_SNR_DB = 25.0


def apply(condition: str, audio: np.ndarray, seed: int = 0) -> np.ndarray:
    """``audio`` (16 kHz mono float32) as recorded in ``condition``."""
    if condition == "clean":
        return audio
    if condition == "far":
        return far_field(audio, seed)
    if condition == "phone":
        return phone_band(audio)
    if condition == "quiet":
        return attenuate(audio, 15.0)
    raise ValueError(f"unknown condition {condition!r}")


def attenuate(audio: np.ndarray, db: float) -> np.ndarray:
    """``db`` decibels quieter."""
    return (audio * np.float32(10 ** (-db / 20))).astype(np.float32)


def room_impulse_response(seed: int = 0, rt60: float | None = None) -> np.ndarray:
    """A synthetic room impulse response at 16 kHz (unit direct path)."""
    rng = np.random.default_rng(seed)
    rt60 = rt60 if rt60 is not None else float(rng.uniform(0.5, 0.9))
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0  # the tail starts after the direct sound
    rir = np.zeros(n)
    rir[0] = 1.0
    for _ in range(6):  # early reflections off walls, floor, table
        rir[int(rng.uniform(0.003, 0.025) * SAMPLE_RATE)] += rng.uniform(0.3, 0.7) * rng.choice([-1, 1])
    # Direct-to-reverberant ratio about 0 dB: as much reverberant energy as direct.
    tail *= np.sqrt(1.0 / np.sum(tail**2))
    return rir + tail


def far_field(audio: np.ndarray, seed: int = 0) -> np.ndarray:
    """Reverberated, quiet (``FAR_LEVEL_DB``) and with a noise floor ``FAR_SNR_DB`` below the speech."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed + 1)
    wet = fftconvolve(audio.astype(np.float64), room_impulse_response(seed))[: audio.size]
    wet *= 10 ** (FAR_LEVEL_DB / 20) / speech_rms(wet)
    noise = pinkish_noise(rng, audio.size) * 10 ** ((FAR_LEVEL_DB - FAR_SNR_DB) / 20)
    return (wet + noise).astype(np.float32)


def phone_band(audio: np.ndarray, bitrate: int = 24_000) -> np.ndarray:
    """300-3400 Hz at 8 kHz, through MP3 at ``bitrate``, back at 16 kHz."""
    from scipy.signal import butter, resample_poly, sosfilt

    narrow = resample_poly(audio.astype(np.float64), 1, 2)
    narrow = sosfilt(butter(4, [300, 3400], btype="band", fs=8000, output="sos"), narrow)
    decoded = _mp3_round_trip(narrow.astype(np.float32), 8000, bitrate)
    wide = resample_poly(decoded.astype(np.float64), 2, 1)[: audio.size]
    return np.pad(wide, (0, audio.size - wide.size)).astype(np.float32)


def _mp3_round_trip(audio: np.ndarray, rate: int, bitrate: int) -> np.ndarray:
    """Encode to MP3 in memory with PyAV and decode again."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=rate, layout="mono")
        stream.bit_rate = bitrate
        size = stream.codec_context.frame_size or 1152
        fmt = stream.codec_context.format.name
        for start in range(0, audio.size, size):
            chunk = np.clip(audio[start : start + size], -1, 1)
            data = chunk[None, :] if fmt.endswith("p") else chunk.reshape(1, -1)
            base = fmt.rstrip("p")
            if base in ("s16", "s32"):
                scale, kind = (32767, np.int16) if base == "s16" else (2147483647, np.int32)
                data = (data.astype(np.float64) * scale).astype(kind)
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    buffer.seek(0)
    pieces = []
    with av.open(buffer, mode="r", format="mp3") as container:
        for frame in container.decode(audio=0):
            samples = frame.to_ndarray()
            if samples.dtype.kind == "i":
                samples = samples / float(np.iinfo(samples.dtype).max)
            pieces.append(samples.astype(np.float32).reshape(-1))
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def speech_rms(audio: np.ndarray) -> float:
    """RMS of the louder half of 30 ms frames (the speech, not the pauses)."""
    frames = audio[: audio.size // 480 * 480].reshape(-1, 480)
    energy = np.sort(np.mean(frames**2, axis=1))
    return float(np.sqrt(np.mean(energy[energy.size // 2 :])) + 1e-12)


def pinkish_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-RMS noise falling 3 dB per octave (room and fan noise), via the spectrum."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.size), 1.0))
    noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
