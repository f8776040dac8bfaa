"""Speech an English-only model did not understand, told from the words it wrote.

``tiny.en`` writes any speech as English-looking words; on German it writes strings such as
"Tzu behui ringin dokum entra" or "tzufa-fahan". Its confidence is a weak sign of this (German came
out at a mean word probability of 0.48-0.61 on three CPU back-ends, hard-to-hear English at
0.66-0.75), but the spelling is a strong one: the model's own tokenizer writes a common English word
as one or two pieces and those invented words as three or more. When the multilingual ``base`` model
is not installed to listen (``language_plan.foreign_language``), this is how an English-only
transcription still reports that a recording is probably in another language.

Measured with ``tiny.en`` on four CPU back-ends (int8 and float32 weights, with and without MKL,
which is what an AMD processor gets), three runs each: on the German half of ``multilingual.mp3``,
25-45 % of the words were unfamiliar and 0.90-0.95 of the word time lay in unfamiliar windows; on the
whole half-German file 0.31-0.42 in 11 of 12 runs (in the twelfth the model wrote 23 common English
words for the German half, and nothing gives that away); on English (the English half, ``sample.wav``,
``dev00.wav``, ``dev01.wav``, ``jfk.flac``, ``stereo_diarization.wav`` and the six
``bench.speed_corpus`` recordings: read, conversation, far-field, phone band, noisy, long silences)
at most 2 % of the words and no window at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from services.schema import Word

TokenCount = Callable[[str], int]
"""How many tokenizer pieces a word takes when written after a space."""

UNFAMILIAR_PIECES = 3
"""A word written with this many pieces or more is unfamiliar (English's common words take one or
two). A word that tiny.en wrote as a hyphenated chain ("infas -dens -dar") is judged whole: unfamiliar
when it takes this many pieces more than it has parts, so "well-known" is not."""
WINDOW_WORDS = 20
"""The words around each word that decide whether it lies in unfamiliar speech: enough that one
name or technical term does not, short enough to find a language change within a recording."""
WINDOW_UNFAMILIAR = 3
"""A window is unfamiliar from 3 of its 20 words. At English's 2 % a window gets there by chance
0.8 % of the time (binomial), at 5 % (a jargon-heavy meeting) 8 %; at German's 25-45 %, 91-100 %."""
FOREIGN_SHARE = 0.2
"""The share of the word time in unfamiliar windows from which the recording is reported: English
measured 0.00, the half-German file 0.31-0.42 (its German words are fewer and shorter than its
English ones, so half the recording is about a third of the word time)."""

_PART = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
"""The letters of a word (numbers, punctuation and hyphens split it; "well-known" is two words)."""


def unfamiliar_share(words: Sequence[Word], pieces: TokenCount) -> float:
    """The share (0..1) of the words' time that lies in unfamiliar windows; 0 without words.

    Args:
        words: the words as transcribed, in order.
        pieces: the tokenizer's piece count for one word (``tokenizer_pieces``).
    """
    flags = _unfamiliar_flags(words, pieces)
    half = WINDOW_WORDS // 2
    marked = total = 0.0
    for i, word in enumerate(words):
        length = max(0.0, word.end - word.start)
        total += length
        if sum(flags[max(0, i - half) : i + half]) >= WINDOW_UNFAMILIAR:
            marked += length
    return marked / total if total > 0 else 0.0


def sounds_foreign(words: Sequence[Word], pieces: TokenCount) -> bool:
    """True when ``FOREIGN_SHARE`` of the word time lies in stretches of words the model does not know."""
    return unfamiliar_share(words, pieces) >= FOREIGN_SHARE


class Tokenizer(Protocol):
    """What we use of a Hugging Face ``tokenizers.Tokenizer`` (faster-whisper's ``hf_tokenizer``)."""

    def encode(self, sequence: str, add_special_tokens: bool = True) -> Any: ...


def tokenizer_pieces(tokenizer: Tokenizer) -> TokenCount:
    """``TokenCount`` for the model's tokenizer."""

    def count(word: str) -> int:
        return len(tokenizer.encode(" " + word, add_special_tokens=False).ids)

    return count


def _unfamiliar_flags(words: Sequence[Word], pieces: TokenCount) -> list[bool]:
    """One flag a word: whether the (hyphenated) word it belongs to is unfamiliar."""
    chains: list[list[int]] = []
    for i, word in enumerate(words):
        if chains and word.word.strip().startswith("-"):
            chains[-1].append(i)  # tiny.en writes "infas-dens" as the words "infas" and "-dens"
        else:
            chains.append([i])
    flags = [False] * len(words)
    for chain in chains:
        parts = [part.lower() for i in chain for part in _PART.findall(words[i].word)]
        if parts and sum(pieces(part) for part in parts) >= len(parts) + UNFAMILIAR_PIECES - 1:
            for i in chain:
                flags[i] = True
    return flags
