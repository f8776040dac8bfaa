"""Splitting a speaker who is really two people: how close does a split get to knowing the count?

    python -m bench.split_suite [--inside 0.25 0.5 0.75]

On stitched conversations of 3-8 real voices (``bench.synth``, as ``bench.count_suite`` builds them)
the speakers are separated one short (``num_speakers`` = true - 1), as when the count comes out too low.
An analyst then splits the one speaker that holds two people. Here, each speaker is split in turn and
the best result is kept (the analyst hears which one it is). Printed per number of voices: DER one
short, after the split, and when the right count is given from the start (pyannote.metrics, no collar,
overlap scored). ``--inside`` compares values of ``services.results.split.INSIDE``.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from bench.der import score_turns
from bench.synth import conversation, voice_pools, with_speed_variants
from services.analysis.diarization.diarize import SpeakerOptions, assign_turns, embed_speech
from services.analysis.pipeline import assemble
from services.errors import InvalidEdit
from services.results import split
from services.results.edits import Edits
from services.schema import Transcript


def recordings(seed: int = 123, per_count: int = 4):  # type: ignore[no-untyped-def]
    """Stitched conversations of 3-8 voices, ``per_count`` of each."""
    base = voice_pools()
    pools = with_speed_variants(base)
    rng = np.random.default_rng(seed)
    names = list(base)
    for k in range(3, 9):
        for _ in range(per_count):
            chosen = list(rng.choice(names, k, replace=False))
            voices = [v if rng.random() < 0.5 else f"{v}@{rng.choice([0.85, 1.17])}" for v in chosen]
            yield conversation(pools, voices, seconds=120.0, seed=int(rng.integers(1e6)))


def best_split(result, emb, reference, duration: float) -> float:  # type: ignore[no-untyped-def]
    """The lowest DER over splitting each speaker of ``result`` into two."""
    best = np.inf
    for speaker in result.speakers:
        try:
            done = split.split_speaker(result, emb, Edits(), speaker.id, 2)
        except InvalidEdit:
            continue
        best = min(best, score_turns(reference, done.result.turns, duration))
    return float(best)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inside", type=float, nargs="+", default=[split.INSIDE])
    args = parser.parse_args(argv)
    rows: dict[int, list[list[float]]] = defaultdict(list)
    for rec in recordings():
        emb, duration, k = embed_speech(rec.audio), rec.audio.size / 16000, rec.speakers
        short = assign_turns(emb, SpeakerOptions(num_speakers=k - 1))
        result = assemble(Transcript("", (), duration), short, duration=duration, diarization="builtin")
        told = assign_turns(emb, SpeakerOptions(num_speakers=k))
        row = [score_turns(rec.turns, short, duration), score_turns(rec.turns, told, duration)]
        for inside in args.inside:
            split.INSIDE = inside
            row.append(best_split(result, emb, rec.turns, duration))
        rows[k].append(row)
    heads = " | ".join(f"after split (INSIDE {v})" for v in args.inside)
    print(f"| voices | recordings | DER one short | DER count given | {heads} |")
    print("|" + " --- |" * (4 + len(args.inside)))
    for k, values in sorted(rows.items()):
        mean = np.mean(values, axis=0)
        print(f"| {k} | {len(values)} | " + " | ".join(f"{v:.1%}" for v in mean) + " |")
    overall = np.mean([v for values in rows.values() for v in values], axis=0)
    print("| all | " + str(sum(map(len, rows.values()))) + " | " + " | ".join(f"{v:.1%}" for v in overall) + " |")


if __name__ == "__main__":
    main()
