"""Which language each stretch of speech is in: chunks (windows when unsure), one detection each, runs.

Whisper decodes a 30-second chunk in one language, and faster-whisper detects the language once per
call. A recording that switches language (an English passage, then a German one) would come back
with one half in the wrong language, translated or garbled. So, with the language left to detection,
the language of each chunk of speech Whisper will decode (``chunks.pack_chunks``: up to 30 s, cut at
the speech detector's pauses) is detected; a chunk detected without confidence (it may hold both
languages) is detected again in windows of at most ``WINDOW_S``; unsure windows take their
neighbours' language, and neighbouring stretches of one language are merged into runs; each run is
then transcribed with its own language.
These are pure functions over times and detections; ``services.analysis.asr.transcribe`` runs the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.analysis.asr.chunks import pack_chunks

Region = tuple[float, float]

WINDOW_S = 10.0
"""Longest window of a second look at an unsure chunk. Detection costs one encoder pass per window
whatever its length (0.5-1.6 s for ``base`` on a busy 2-core CPU; batching windows did not help on
CPU: 6 windows took 5.5 s one by one, 6.2 s batched), so shorter windows find a switch more precisely
and cost more. On ``multilingual.mp3`` the speech detector already pauses at the switch (30.7 s), so
windows of 5 s and of whole speech regions (up to 29 s) found the same two runs."""
SURE_CHUNK = 0.8
"""A chunk detected with at least this probability is one language. Measured with ``base`` on
``multilingual.mp3``: its English and German chunks scored 0.997 and 0.999, a 15 s window holding
both languages 0.60. Detecting every 15 s window instead of every chunk cost 73 s on 10 minutes of
English (41 s -> 114 s), which is why windows are only the second look."""
MIN_WINDOW_S = 2.0
"""A piece left over when a region is cut is merged into the previous window below this length:
too little speech for a sure detection."""
MIN_PROBABILITY = 0.5
"""A window detected with less probability takes its neighbours' language. Measured on
``multilingual.mp3`` with ``base``: every 5-second window of either language scored 0.968 or more."""
CHECK_WINDOWS = 6
"""An English-only model cannot transcribe another language; to tell the user, this many chunks of
speech (up to 30 s each), spread over the recording, are checked with the multilingual model: one
encoder pass each, ~4 s of CPU on 10 minutes (docs/BENCHMARKS.md), one pass for a short recording."""


@dataclass(frozen=True)
class Detection:
    """The language detected in one window of speech."""

    start: float
    end: float
    language: str
    probability: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class LanguageRun:
    """Consecutive speech in one language: the regions to transcribe with it."""

    language: str
    regions: tuple[Region, ...]

    @property
    def seconds(self) -> float:
        return sum(e - s for s, e in self.regions)


DetectFn = Callable[[float, float], tuple[str, float]]
"""``detect(start, end)`` -> (language code, probability) of that stretch of the recording."""


def windows(speech: Sequence[Region], window_s: float = WINDOW_S) -> list[Region]:
    """The speech regions, each cut into windows of at most ``window_s`` seconds (equal parts)."""
    out: list[Region] = []
    for start, end in speech:
        length = end - start
        if length <= 0:
            continue
        parts = max(1, int(-(-length // window_s)))
        step = length / parts
        if parts > 1 and step < MIN_WINDOW_S:
            parts, step = 1, length
        out.extend((start + i * step, start + (i + 1) * step) for i in range(parts))
    return out


def spread(items: Sequence[Region], count: int = CHECK_WINDOWS) -> list[Region]:
    """At most ``count`` of ``items``, evenly spread (first and last included)."""
    if len(items) <= count:
        return list(items)
    if count == 1:
        return [items[len(items) // 2]]
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def detect_all(regions: Sequence[Region], detect: DetectFn) -> list[Detection]:
    """One detection per region."""
    return [Detection(s, e, *detect(s, e)) for s, e in regions]


def settle(detections: Sequence[Detection], min_probability: float = MIN_PROBABILITY) -> list[Detection]:
    """Unsure detections take the language of the nearest sure one before them (else after them)."""
    sure = [d.language if d.probability >= min_probability else None for d in detections]
    fallback = next((lang for lang in sure if lang is not None), None)
    settled, previous = [], fallback
    for detection, language in zip(detections, sure, strict=True):
        chosen = language or previous or detection.language
        settled.append(Detection(detection.start, detection.end, chosen, detection.probability))
        previous = chosen
    return settled


def runs(detections: Sequence[Detection]) -> list[LanguageRun]:
    """Neighbouring windows of one language joined into runs (windows cut from one region rejoin)."""
    out: list[LanguageRun] = []
    for d in detections:
        region = (d.start, d.end)
        if out and out[-1].language == d.language:
            regions = list(out[-1].regions)
            if abs(regions[-1][1] - d.start) < 1e-6:
                regions[-1] = (regions[-1][0], d.end)
            else:
                regions.append(region)
            out[-1] = LanguageRun(d.language, tuple(regions))
        else:
            out.append(LanguageRun(d.language, (region,)))
    return out


def detect_chunks(speech: Sequence[Region], detect: DetectFn, window_s: float = WINDOW_S) -> list[Detection]:
    """One detection per chunk of speech (its regions each carry it); unsure chunks window by window."""
    out: list[Detection] = []
    for chunk in pack_chunks(speech):
        language, probability = detect(chunk.start, chunk.end)
        if probability >= SURE_CHUNK:
            out.extend(Detection(s, e, language, probability) for s, e in chunk.speech)
        else:
            out.extend(detect_all(windows(chunk.speech, window_s), detect))
    return out


def plan(speech: Sequence[Region], detect: DetectFn, window_s: float = WINDOW_S) -> list[LanguageRun]:
    """The runs of one language in ``speech``, each to be transcribed with its language."""
    return runs(settle(detect_chunks(speech, detect, window_s)))


FOREIGN_SHARE = 0.25
"""An English-only model's recording is reported as (partly) in another language when sure detections
of that language cover this share of the checked speech: a few foreign words or a name do not, a
quarter of the recording does (``multilingual.mp3`` is half German)."""


def foreign_language(detections: Sequence[Detection], known: str = "en", share: float = FOREIGN_SHARE) -> str | None:
    """The language other than ``known`` with the most speech, when it covers ``share`` of the speech."""
    seconds: dict[str, float] = {}
    for d in detections:
        if d.probability >= MIN_PROBABILITY and d.language != known:
            seconds[d.language] = seconds.get(d.language, 0.0) + d.seconds
    total = sum(d.seconds for d in detections)
    if not seconds or total <= 0:
        return None
    top = max(seconds, key=lambda lang: seconds[lang])
    return top if seconds[top] >= share * total else None
