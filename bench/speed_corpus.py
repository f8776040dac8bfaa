"""Varied recordings for the speed benchmark: read speech, conversation, far-field, phone, noise, silences.

A speed figure measured on one kind of audio does not hold on another: Whisper's cost follows the
amount of speech, the number of windows it doubts (and decodes a second time) and how hard the
words are; the voice embeddings follow the speech too. Each recording here stresses one of those,
built from the voices in ``tests/data`` (``bench.synth``) and the recording conditions of
``bench.conditions``; all are seeded, so a recording is the same on every machine.

* ``read``: long turns of read speech by four readers at three speeds; no sentence comes back within 30 s.
* ``conversation``: four people, short turns (median 2.5 s), a fifth of the turns overlapping.
* ``far``: a four-person meeting through a distant microphone (reverberant, -45 dBFS, noise floor).
* ``phone``: a two-person call, band-limited to 300-3400 Hz at 8 kHz and through MP3 at 24 kbit/s.
* ``noisy``: a three-person conversation under pink room noise 10 dB below the speech.
* ``silences``: bursts of read speech (10-40 s) between long silences (20-60 s), as in a recorder
  left running; about half the recording is silence.

The material is repeated to length: fine for timing and words kept, not for speaker counts. The talkers'
audio is looped (``bench.synth.conversation(loop=True)``); the read speech is repeated a whole sentence at a
time in passes (``read_pass``), because a loop put one short sentence four times into one turn and Whisper
drops such repeats as a loop, so ``read`` measured Whisper's loop handling more than speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from bench.conditions import far_field, phone_band, pinkish_noise, speech_rms
from bench.synth import Stitched, at_level, conversation, voice_pools, with_speed_variants
from services.schema import SAMPLE_RATE, SpeakerTurn

KINDS = ("read", "conversation", "far", "phone", "noisy", "silences")
NOISY_SNR_DB = 10.0
"""Speech-to-noise ratio of ``noisy``: a busy office or a café table, hard but still a transcript."""
SILENCE_S = (20.0, 60.0)
BURST_S = (10.0, 40.0)
READ_LEVEL_DB = -26.0
"""Every read turn at one loudness, as ``bench.synth.conversation`` levels its turns."""
QUIET_FLOOR_DB = -70.0
"""The noise floor in the long silences: a recorder's own hiss."""

PEAK = 0.98
"""Highest sample value: the mixes of overlapping turns and noise are scaled down to it, never clipped."""

READ_TEXTS = ("reader_en", "jfk", "stereo_left", "stereo_right")
"""The voices reading English prose: 42 s of distinct sentences between them."""
READ_SPEEDS = ("", "@0.85", "@1.17")
"""Each pass voices a text at the next speed (``bench.synth.with_speed_variants``), so a repeat sounds new."""
READ_TURN_S = 8.0
"""Median length of a reader's turn; turns are whole utterances, 2-15 s."""
TALKERS = ["speaker90", "speaker91", "MEE009", "MEE012"]


@dataclass(frozen=True)
class SpeedRecording:
    """One benchmark recording: 16 kHz mono float32 audio and who speaks when in it."""

    kind: str
    audio: np.ndarray
    turns: tuple[SpeakerTurn, ...]

    @property
    def seconds(self) -> float:
        return self.audio.size / SAMPLE_RATE

    @property
    def voices(self) -> int:
        return len({t.speaker for t in self.turns})


def build(kind: str, minutes: float = 6.0, seed: int = 0) -> SpeedRecording:
    """The ``kind`` recording, ``minutes`` long (exactly: padded with the noise floor or cut)."""
    seconds = minutes * 60.0
    pools = with_speed_variants(voice_pools(), factors=(0.85, 1.17))
    if kind == "read":
        made = _read(pools, seconds, seed)
    elif kind == "conversation":
        made = conversation(pools, TALKERS, seconds=seconds, seed=seed, loop=True, overlap=0.2)
    elif kind == "far":
        made = conversation(pools, TALKERS, seconds=seconds, seed=seed, median_turn=4.0, loop=True, overlap=0.2)
        made = Stitched(far_field(made.audio, seed), made.turns)
    elif kind == "phone":
        made = conversation(pools, TALKERS[:2], seconds=seconds, seed=seed, loop=True, overlap=0.1)
        made = Stitched(phone_band(made.audio), made.turns)
    elif kind == "noisy":
        made = conversation(pools, TALKERS[:3], seconds=seconds, seed=seed, loop=True)
        made = Stitched(_with_noise(made.audio, NOISY_SNR_DB, seed), made.turns)
    elif kind == "silences":
        made = _with_silences(pools, seconds, seed)
    else:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    return SpeedRecording(kind, _to_length(made.audio, seconds, seed), _turns_within(made.turns, seconds))


@dataclass(frozen=True)
class ReadTurn:
    """One turn of ``read``: consecutive utterances (indices into the voice pool) of one text."""

    text: str
    pieces: tuple[int, ...]


def read_pass(pools: dict[str, tuple[np.ndarray, ...]], seed: int) -> tuple[ReadTurn, ...]:
    """Every utterance of every ``READ_TEXTS`` voice exactly once, as turns, no text twice in a row.

    ``read`` repeats this pass to length, so a sentence comes back only after all the others (about 45 s).
    """
    rng = np.random.default_rng(seed)
    turns: list[ReadTurn] = []
    for text in READ_TEXTS:
        seconds = [piece.size / SAMPLE_RATE for piece in pools[text]]
        i = 0
        while i < len(seconds):
            target = float(np.clip(rng.lognormal(np.log(READ_TURN_S), 0.6), 2.0, 15.0))
            group = [i]
            while i + len(group) < len(seconds) and sum(seconds[j] for j in group) < target:
                group.append(i + len(group))
            turns.append(ReadTurn(text, tuple(group)))
            i += len(group)
    for _ in range(1000):  # a seeded shuffle in which neighbours (also across passes) are different readers
        order = [turns[i] for i in rng.permutation(len(turns))]
        if all(a.text != b.text for a, b in pairwise([*order, order[0]])):
            return tuple(order)
    raise ValueError("one reader has more than half of the turns; no order alternates readers")


def _read(pools: dict[str, tuple[np.ndarray, ...]], seconds: float, seed: int) -> Stitched:
    """Passes of ``read_pass`` until ``seconds`` are filled, each pass at the next speed of each text."""
    rng = np.random.default_rng(seed + 1)
    order = read_pass(pools, seed)
    parts: list[np.ndarray] = []
    turns: list[SpeakerTurn] = []
    t, n = 0.0, 0
    while t < seconds:
        turn = order[n % len(order)]
        speed = READ_SPEEDS[(seed + n // len(order) + READ_TEXTS.index(turn.text)) % len(READ_SPEEDS)]
        pause = float(rng.uniform(0.15, 0.7))
        piece = np.concatenate([pools[turn.text + speed][i] for i in turn.pieces])
        piece = at_level(piece, READ_LEVEL_DB)
        parts += [_floor(rng, pause), piece.astype(np.float32)]
        start = t + pause
        t = start + piece.size / SAMPLE_RATE
        turns.append(SpeakerTurn(round(start, 3), round(t, 3), turn.text + speed))
        n += 1
    return Stitched(np.concatenate(parts), tuple(turns))


def _with_noise(audio: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    noise = pinkish_noise(np.random.default_rng(seed + 2), audio.size) * speech_rms(audio) * 10 ** (-snr_db / 20)
    return (audio + noise).astype(np.float32)


def _with_silences(pools: dict[str, tuple[np.ndarray, ...]], seconds: float, seed: int) -> Stitched:
    """Bursts of read speech between long silences, until ``seconds`` are filled."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    turns: list[SpeakerTurn] = []
    t, burst = 0.0, 0
    while t < seconds:
        silence = float(rng.uniform(*SILENCE_S))
        parts.append(_floor(rng, silence))
        t += silence
        speech = _read(pools, float(rng.uniform(*BURST_S)), seed + burst)
        parts.append(speech.audio)
        turns += [SpeakerTurn(round(s.start + t, 3), round(s.end + t, 3), s.speaker) for s in speech.turns]
        t += speech.audio.size / SAMPLE_RATE
        burst += 1
    return Stitched(np.concatenate(parts), tuple(turns))


def _floor(rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    return (rng.standard_normal(n) * 10 ** (QUIET_FLOOR_DB / 20)).astype(np.float32)


def _to_length(audio: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    """Exactly ``seconds`` long, and scaled down where it would clip (a WAV file holds -1..1)."""
    n = int(seconds * SAMPLE_RATE)
    if audio.size >= n:
        audio = audio[:n]
    else:
        audio = np.concatenate([audio, _floor(np.random.default_rng(seed + 3), (n - audio.size) / SAMPLE_RATE)])
    peak = float(np.abs(audio).max())
    return (audio * (PEAK / peak if peak > PEAK else 1.0)).astype(np.float32)


def _turns_within(turns: tuple[SpeakerTurn, ...], seconds: float) -> tuple[SpeakerTurn, ...]:
    return tuple(SpeakerTurn(t.start, min(t.end, seconds), t.speaker) for t in turns if t.start < seconds)
