"""The band every telephone line passes, so a voice can be compared between a room and a call.

Speaker embedders hear the channel as well as the person: resemblyzer scores a voice against its own
telephone copy at 0.55-0.80 cosine, below what two different people in one room score, and how far it falls
depends on the line (its filter and codec). Filtering both recordings to a band narrower than any
telephone's (400-3200 Hz, steep, zero phase) makes them alike whatever the line did: on the AMI excerpts
of ``tests/data`` (dev00 against dev01) the same person scored 0.95-0.96 against four different telephone
copies of themselves (gentle and steep 300-3400 Hz filters, MP3 at 24 kbit/s, G.711), against 0.85-0.94
when only the room recording was filtered like one particular line; ``python -m bench.voices`` measures
what this gives the library (docs/BENCHMARKS.md, "Voices"). The voice library
keeps every speaker's print in this band beside the plain one (``services.voices.prints``), and compares
in it only recordings that are narrowband themselves (``is_narrowband``): two people's band-limited prints
are more alike than their plain ones, so comparing every recording in the band as well would take more
strangers for each other.
"""

from __future__ import annotations

import numpy as np

from services.schema import SAMPLE_RATE

PHONE_RATE = 8000
"""Narrowband telephony samples at 8 kHz."""
PHONE_LOW_HZ, PHONE_HIGH_HZ = 400, 3200
"""Inside the telephone voice band (300-3400 Hz, ITU-T G.712) with a margin for the slopes of real lines."""
NARROWBAND_DROP_DB = 30.0
"""A recording is narrowband when its power density at 4.3-6 kHz lies this far below that at 2.5-3.3 kHz.
Measured on ``tests/data``: wideband recordings -2 to 4 dB (far-field copies up to 18 dB, the 1961 JFK
broadcast 28 dB), telephone copies 47-60 dB (MP3 at 24 kbit/s, G.711), and ``sample.wav``, itself narrowband,
50 dB."""
FILTER_ORDER = 8
"""Butterworth order, applied forwards and backwards (zero phase): steep enough that a line's own slopes
outside the band no longer matter."""


def phone_band(audio: np.ndarray) -> np.ndarray:
    """``audio`` (16 kHz mono) filtered to the common telephone band, at 8 kHz and back at 16 kHz.

    Returns a new float32 array of the same length; ``audio`` is not changed.
    """
    from scipy.signal import butter, resample_poly, sosfiltfilt  # the worker's stack, not the web process's

    samples = np.asarray(audio, dtype=np.float64).reshape(-1)
    if samples.size == 0:
        return np.zeros(0, dtype=np.float32)
    down = SAMPLE_RATE // PHONE_RATE
    narrow = resample_poly(samples, 1, down)
    sos = butter(FILTER_ORDER, [PHONE_LOW_HZ, PHONE_HIGH_HZ], btype="band", fs=PHONE_RATE, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), narrow.size - 1)  # scipy's default, for inputs long enough for it
    wide = resample_poly(sosfiltfilt(sos, narrow, padlen=padlen), down, 1)[: samples.size]
    return np.pad(wide, (0, samples.size - wide.size)).astype(np.float32)


def band_drop_db(audio: np.ndarray) -> float:
    """How far (dB) the power density at 4.3-6 kHz lies below that at 2.5-3.3 kHz in 16 kHz ``audio``."""
    samples = np.asarray(audio, dtype=np.float64).reshape(-1)
    if samples.size < SAMPLE_RATE // 10:
        return 0.0
    power = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    voice = float(power[(freqs >= 2500) & (freqs < 3300)].mean())
    above = float(power[(freqs >= 4300) & (freqs < 6000)].mean())
    return float(10 * np.log10(max(voice, 1e-30) / max(above, 1e-30)))


def is_narrowband(audio: np.ndarray) -> bool:
    """Whether ``audio`` (16 kHz mono speech) holds nothing above the telephone band (``NARROWBAND_DROP_DB``)."""
    return band_drop_db(audio) >= NARROWBAND_DROP_DB
