"""Benchmark audio built from the reference files in ``tests/data``, and the references that go with it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np

from services.analysis.audio import decode
from services.schema import SAMPLE_RATE

ROOT = Path(__file__).resolve().parents[1]
GAP_S = 0.8
LICENSE_END_S = 30.5  # the English reading in multilingual.mp3 ends here; German follows

LICENSE_TEXT = (
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software and "
    "associated documentation files, to deal in the software without restriction, including without "
    "limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies "
    "of the software, and to permit persons to whom the software is furnished to do so, subject to the "
    "following conditions. The above copyright notice and this permission notice shall be included in all "
    "copies or substantial portions of the software."
)
GERMAN_WORDS = (
    "software", "dazugehörigen", "genehmigung", "erteilt", "insbesondere", "recht", "verwenden",
    "modifizieren", "veröffentlichen", "verteilen", "kopien", "verkaufen", "bedingungen", "übertragen",
)  # fmt: skip
"""Words of the German reading of the licence in ``multilingual.mp3`` that a German transcription writes
(an English-only model writes none but "software"). ``base`` wrote all 14 with int8 weights and 13 with
float32 ("kopilen"): a check wants ``GERMAN_WORDS_KEPT`` of them, not every one."""
GERMAN_WORDS_KEPT = 0.8
JFK_TEXT = (
    "And so, my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
)
STEREO_TEXT = {
    "left": "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.",
    "right": "The horizon seems extremely distant.",
}


def data_dir() -> Path:
    """The reference recordings that ship with the repository (``tests/data``)."""
    return ROOT / "tests" / "data"


def normalize(text: str) -> str:
    """Lower case, "and/or" as "and or", punctuation removed (the data README's rule)."""
    text = text.lower().replace("/", " ")
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())


def german_words_missing(text: str) -> list[str]:
    """The ``GERMAN_WORDS`` that ``text`` (a transcript of the German half) does not write."""
    written = set(normalize(text).split())
    return [word for word in GERMAN_WORDS if word not in written]


@cache
def clip(name: str) -> np.ndarray:
    audio = decode(data_dir() / name)
    if name == "multilingual.mp3":
        audio = audio[: int(LICENSE_END_S * SAMPLE_RATE)]
    audio.setflags(write=False)
    return audio


PARTS = ("jfk.flac", "sample.wav", "dev00.wav", "multilingual.mp3", "dev01.wav", "stereo_diarization.wav")


def stitched(seconds: float) -> np.ndarray:
    """The reference recordings one after another (English only), repeated to ``seconds``."""
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    pieces, total, i = [], 0, 0
    target = int(seconds * SAMPLE_RATE)
    while total < target:
        piece = clip(PARTS[i % len(PARTS)])
        pieces += [piece, gap]
        total += len(piece) + len(gap)
        i += 1
    return np.concatenate(pieces)[:target]
