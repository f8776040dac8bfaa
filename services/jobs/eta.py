"""How long a task will take: pure arithmetic over durations, progress and measured speed.

The speed is the median of *seconds of processing per second of audio* over recently completed
analyses (the median, so one slow outlier does not move it); before anything has been measured a
default stands in. A running task's time left blends two guesses: the speed applied to what is
left of its recording, and an extrapolation of its own progress over the time it has run so far;
the further it gets, the more its own progress counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import median

DEFAULT_RATE = 0.5
"""Seconds of processing per second of audio before any analysis was measured: roughly tiny.en
on two CPU cores, with the model load of a fresh worker."""
MIN_PROGRESS = 0.05
"""Below this share done, a task's own progress says too little to extrapolate from."""


def processing_rate(runs: Iterable[tuple[float, float]], default: float = DEFAULT_RATE) -> float:
    """Median seconds of processing per second of audio over ``(audio seconds, processing seconds)`` runs.

    Runs with no audio or a negative time (a clock that went back) are left out; ``default`` when none is left.
    """
    ratios = [took / audio for audio, took in runs if audio > 0 and took >= 0]
    return float(median(ratios)) if ratios else default


def running_left(*, duration: float | None, done: float, elapsed: float, rate: float) -> float | None:
    """Seconds left for a running task; None when neither its duration nor its progress tells.

    Args:
        duration: the recording's length in seconds (None when unknown).
        done: the share done, 0..1.
        elapsed: seconds since a worker started it.
        rate: seconds of processing per second of audio (``processing_rate``).
    """
    done = max(0.0, min(1.0, done))
    elapsed = max(0.0, elapsed)
    by_rate = max(0.0, duration * rate - elapsed) if duration else None
    by_progress = elapsed * (1.0 - done) / done if done >= MIN_PROGRESS else None
    if by_rate is not None and by_progress is not None:
        return done * by_progress + (1.0 - done) * by_rate
    return by_progress if by_progress is not None else by_rate


def queued_left(
    *, duration: float | None, ahead_audio: float, running: Sequence[float], rate: float, slots: int
) -> float:
    """Seconds until a queued task is done: the work ahead of it shared over ``slots``, then its own run.

    Args:
        duration: its recording's length in seconds (None: unknown, its own run counts as 0).
        ahead_audio: seconds of audio queued before it.
        running: seconds left of each task being analysed now.
        rate: seconds of processing per second of audio.
        slots: how many tasks are analysed at once (at least 1).
    """
    wait = (ahead_audio * rate + sum(running)) / max(1, slots)
    return wait + (duration or 0.0) * rate
