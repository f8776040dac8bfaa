"""Mutation fuzzing of the decoder: damaged media must end in FastAudio's own errors, never another exception.

    python -m bench.fuzz_media                       # 120 s, seed 0
    python -m bench.fuzz_media --seconds 600 --seed 7 --keep /tmp/fuzz

Eighteen small valid files (every allowed demuxer PyAV can write: WAV, MP3, FLAC, Ogg Opus, M4A, WebM,
Matroska, AIFF, AU, CAF, W64, AC-3, MPEG-PS, MPEG-TS, FLV, AVI, ADTS AAC, MOV/ALAC; 4 s of tone) are mutated at
random (bytes overwritten, 4-byte fields set to 0 / 0x7fffffff / 0xffffffff, runs of bytes deleted) and
each result is probed and decoded as an upload is (``services.analysis.audio``, 60-minute limit). The
acceptable outcomes are audio, ``EmptyAudio``, ``RecordingTooLong`` and ``UnsupportedAudio``: each becomes
a failed task with a message for people. Anything else would be "an unexpected error" in a task, so it is
counted by type and message, and with ``--keep`` the file is written out to become a test.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from services.analysis.audio import decode, probe
from services.errors import EmptyAudio, RecordingTooLong, UnsupportedAudio

SEEDS = (
    ("tone.wav", "pcm_s16le", "wav", 16000),
    ("tone.mp3", "libmp3lame", "mp3", 16000),
    ("tone.flac", "flac", "flac", 16000),
    ("tone.ogg", "libopus", "ogg", 48000),
    ("tone.m4a", "aac", "mp4", 16000),
    ("tone.webm", "libopus", "webm", 48000),
    ("tone.mkv", "flac", "matroska", 16000),
    ("tone.aiff", "pcm_s16be", "aiff", 16000),
    ("tone.au", "pcm_s16be", "au", 16000),
    ("tone.caf", "pcm_s16le", "caf", 16000),
    ("tone.w64", "pcm_s16le", "w64", 16000),
    ("tone.ac3", "ac3", "ac3", 48000),
    ("tone.mpg", "mp2", "mpeg", 16000),
    ("tone.ts", "mp2", "mpegts", 16000),
    ("tone.flv", "libmp3lame", "flv", 22050),
    ("tone.avi", "pcm_s16le", "avi", 16000),
    ("tone.aac", "aac", "adts", 16000),
    ("tone.mov", "alac", "mov", 16000),
)
"""One small file per demuxer in ``ALLOWED_DEMUXERS`` that PyAV's encoders can write here."""
FIELDS = (b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff")
"""Values a lying header field is most often set to."""
EXPECTED = (EmptyAudio, RecordingTooLong, UnsupportedAudio)


def seed_files(folder: Path) -> dict[str, bytes]:
    """The valid files the mutations start from."""
    from tests.media import encode_audio  # the project's own PyAV writer

    folder.mkdir(parents=True, exist_ok=True)
    return {
        name: encode_audio(folder / name, _tone(rate), rate, codec, fmt=fmt).read_bytes()
        for name, codec, fmt, rate in SEEDS
    }


def _tone(rate: int, seconds: float = 4.0) -> np.ndarray:
    """A 366 Hz tone at ``rate``."""
    return (0.3 * np.sin(2 * np.pi * 366 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """1-20 random edits of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 20)):
        at = rng.randrange(len(out))
        roll = rng.random()
        if roll < 0.6:
            out[at] = rng.randrange(256)
        elif roll < 0.8:
            out[at : at + 4] = rng.choice(FIELDS)
        else:
            del out[at : at + rng.randint(1, 200)]
    return bytes(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="write every file that raised something unexpected here")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    # A decoder that tries to allocate absurd amounts fails here as it would in a worker with a memory limit.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    with tempfile.TemporaryDirectory() as scratch:
        seeds = seed_files(Path(scratch))
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    unexpected: Counter[str] = Counter()
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        name, data = rng.choice(sorted(seeds.items()))
        upload = io.BytesIO(mutate(data, rng))
        upload.name = name
        try:
            probe(upload, max_seconds=3600)
            decode(upload, max_seconds=3600)
            outcomes["decoded"] += 1
        except EXPECTED as exc:
            outcomes[type(exc).__name__] += 1
        except Exception as exc:  # what the fuzzing is looking for
            key = f"{name}: {type(exc).__name__}: {str(exc)[:120]}"
            unexpected[key] += 1
            if args.keep:
                (args.keep / f"unexpected_{sum(unexpected.values())}_{name}").write_bytes(upload.getvalue())
    total = sum(outcomes.values()) + sum(unexpected.values())
    print(f"{total} mutated files in {args.seconds:.0f} s (seed {args.seed})")
    print("| outcome | files |\n| --- | ---: |")
    for outcome, count in outcomes.most_common():
        print(f"| {outcome} | {count} |")
    print(f"| **unexpected** | **{sum(unexpected.values())}** |")
    for key, count in unexpected.most_common():
        print(f"  {count} x {key}")


if __name__ == "__main__":
    main()
