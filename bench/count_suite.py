"""Speaker-count estimation on stitched conversations of 1 to 8 voices, clean, far-field and phone-band.

Run from the repository root: ``python -m bench.count_suite`` (about 10 minutes on 1 core;
``--cache DIR`` keeps the embeddings so a second run only clusters again, ``--conditions clean``
runs one condition).

Sets, all built from the voices in tests/data (see ``bench.synth``), each rendered in every
condition of ``bench.conditions`` (clean; far: synthetic room reverberation at -45 dBFS with a
noise floor; phone: 8 kHz band, MP3 at 24 kbit/s):

* ``solo``: one voice reading all its material (7 voices).
* ``mix``: k distinct voices (1..8, 2 recordings each, 90 s), some resampled 0.85x/1.17x.
* ``same``: k voices (2..6) from the AMI and phone-call speakers and their resampled variants only,
  closer to one-room conditions.
* ``overlap``: 2..4 voices where 40 % of the turns start 0.2-1 s before the previous ends.
* ``short``: 30 s lively exchanges of 2..4 voices, turns around 1 s, 30 % of them overlapping.

Prints per set, condition and true count: how often the estimate is right, within one, the mean
estimate, and mean DER (no collar); then the totals the issue sets targets for, the "never one
speaker where two or more each speak over 10 % of the time" check, and how well the
``speaker_count`` confidence (``close``) flags the wrong counts.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.conditions import CONDITIONS, apply
from bench.der import score_turns
from bench.synth import Stitched, conversation, round_robin, voice_pools, with_speed_variants
from services.analysis.diarization.diarize import SpeechEmbeddings, assign_turns, embed_speech

SAME_FAMILY = ["MEE009", "MEE012", "speaker90", "speaker91"]
BASE_VOICES = ["speaker90", "speaker91", "MEE009", "MEE012", "jfk", "reader_en", "stereo_left", "stereo_right"]
"""One voice per person: the German half of multilingual.mp3 is the same reader, so it is left out."""
SOLO_VOICES = ["speaker90", "speaker91", "MEE009", "MEE012", "jfk", "reader_en", "reader_de"]
SHARE = 0.10
"""A speaker who talks more than this share of the time must never be merged into a single speaker."""


@dataclass(frozen=True)
class Case:
    kind: str
    condition: str
    recording: Stitched
    seed: int

    @property
    def key(self) -> str:
        turns = "".join(f"{t.start}{t.speaker}" for t in self.recording.turns)
        return hashlib.sha1(f"{self.kind}{self.condition}{self.seed}{turns}".encode()).hexdigest()[:16]


def recordings(seed: int = 123) -> list[tuple[str, Stitched]]:
    """The clean recordings of every set, (set name, recording)."""
    base = voice_pools()
    pools = with_speed_variants(base)
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Stitched]] = []
    for voice in SOLO_VOICES:
        out.append(("solo", round_robin(pools, [voice], gap=0.25)))
    for k in range(1, 9):
        for _ in range(2):
            chosen = list(rng.choice(BASE_VOICES, k, replace=False))
            voices = [v if rng.random() < 0.5 else f"{v}@{rng.choice([0.85, 1.17])}" for v in chosen]
            out.append(("mix", conversation(pools, voices, seconds=90.0, seed=int(rng.integers(1e6)))))
    family = SAME_FAMILY + [f"{v}@{f}" for v in SAME_FAMILY for f in (0.85, 1.17)]
    for k in range(2, 7):
        voices = list(rng.choice(family, k, replace=False))
        out.append(("same", conversation(pools, voices, seconds=90.0, seed=int(rng.integers(1e6)))))
    talkers = [*SAME_FAMILY, "jfk", "reader_en"]
    for k in range(2, 5):
        voices = list(rng.choice(talkers, k, replace=False))
        out.append(("overlap", conversation(pools, voices, seconds=90.0, seed=int(rng.integers(1e6)), overlap=0.4)))
    for k in range(2, 5):
        for _ in range(2):
            voices = list(rng.choice(talkers, k, replace=False))
            rec = conversation(pools, voices, seconds=30.0, seed=int(rng.integers(1e6)), median_turn=1.0, overlap=0.3)
            out.append(("short", rec))
    return out


def cases(conditions: tuple[str, ...] = CONDITIONS) -> list[Case]:
    """Every recording in every condition."""
    return [
        Case(kind, condition, Stitched(apply(condition, rec.audio, seed=i), rec.turns), i)
        for i, (kind, rec) in enumerate(recordings())
        for condition in conditions
    ]


def embeddings(case: Case, cache: Path | None, threads: int) -> SpeechEmbeddings:
    """The case's embeddings, from the cache when it has them."""
    path = cache / f"{case.key}.npz" if cache else None
    if path and path.exists():
        return SpeechEmbeddings.from_npz(path)
    emb = embed_speech(case.recording.audio, threads=threads)
    if path:
        emb.to_npz(path)
    return emb


def shares(rec: Stitched) -> dict[str, float]:
    """Each true speaker's share of the talk time."""
    talk: dict[str, float] = defaultdict(float)
    for t in rec.turns:
        talk[t.speaker] += t.end - t.start
    total = sum(talk.values()) or 1.0
    return {k: v / total for k, v in talk.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, help="keep embeddings here (a later run only clusters again)")
    parser.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=list(CONDITIONS))
    args = parser.parse_args(argv)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    rows: dict[tuple[str, str, int], list[tuple[int, float]]] = defaultdict(list)
    found_all, true_all, single_bad, close_flags = [], [], 0, []
    for case in cases(tuple(args.conditions)):
        rec = case.recording
        emb = embeddings(case, args.cache, args.threads)
        turns = assign_turns(emb)
        found = len({t.speaker for t in turns})
        count = getattr(turns, "speaker_count", None)
        count = count.to_dict() if hasattr(count, "to_dict") else count
        rows[(case.kind, case.condition, rec.speakers)].append(
            (found, score_turns(rec.turns, turns, rec.audio.size / 16000))
        )
        found_all.append(found)
        true_all.append(rec.speakers)
        single_bad += found <= 1 and sum(s > SHARE for s in shares(rec).values()) >= 2
        if count is not None:
            close_flags.append((bool(count["close"]), found == rec.speakers, count["runner_up"] == rec.speakers))
    _print_rows(rows)
    found, true = np.array(found_all), np.array(true_all)
    print(f"\ncount exactly right: {np.mean(found == true):.1%} of {found.size} recordings")
    print(f"count within one:    {np.mean(np.abs(found - true) <= 1):.1%}")
    print(f"too few / too many:  {np.mean(found < true):.1%} / {np.mean(found > true):.1%}")
    print(f"one speaker where >= 2 each speak > {SHARE:.0%}: {single_bad}")
    if close_flags:
        flags = np.array(close_flags)
        wrong = ~flags[:, 1]
        print(
            f"'close' flagged: {flags[:, 0].mean():.1%} of recordings; "
            f"of the wrong counts {flags[wrong, 0].mean() if wrong.any() else 0:.1%}, "
            f"of the right ones {flags[~wrong, 0].mean() if (~wrong).any() else 0:.1%}; "
            f"runner-up is the truth in {flags[wrong, 2].mean() if wrong.any() else 0:.1%} of the wrong counts"
        )


def _print_rows(rows: dict[tuple[str, str, int], list[tuple[int, float]]]) -> None:
    print(
        f"{'set':8s} {'condition':9s} {'true':>4s} {'n':>3s} {'right':>6s} {'within 1':>8s} "
        f"{'mean est':>8s} {'DER':>6s}"
    )
    for (kind, condition, k), values in sorted(rows.items()):
        found = np.array([v[0] for v in values])
        print(
            f"{kind:8s} {condition:9s} {k:4d} {len(values):3d} {np.mean(found == k):6.2f} "
            f"{np.mean(np.abs(found - k) <= 1):8.2f} "
            f"{found.mean():8.2f} {np.mean([v[1] for v in values]):6.3f}"
        )
    by_condition: dict[str, list[bool]] = defaultdict(list)
    for (_kind, condition, k), values in rows.items():
        by_condition[condition] += [v[0] == k for v in values]
    print(
        "right by condition: " + ", ".join(f"{c} {np.mean(v):.1%} ({len(v)})" for c, v in sorted(by_condition.items()))
    )


if __name__ == "__main__":
    main()
