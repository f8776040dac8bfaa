"""Speaker-count estimation on stitched conversations of 1 to 8 voices.

Run from the repository root: ``python -m bench.count_suite`` (about 2 minutes on 1 core).

Three sets, all built from the voices in tests/data (see ``bench.synth``):

* ``mix``: k distinct voices (1..8, 4 recordings each), some resampled 0.85x/1.17x. Voices
  from different recordings also differ in channel, so this set is easier than a meeting.
* ``same``: k voices (2..6) from the AMI and phone-call speakers and their resampled
  variants only, closer to one-room conditions.
* ``overlap``: 2..4 voices where 40 % of the turns start 0.2-1 s before the previous ends.

Prints per true count: how often the estimate is right, the mean estimate, and mean DER
(no collar) with the estimated and with the given count.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from bench.der import score_turns
from bench.synth import Stitched, conversation, round_robin, voice_pools, with_speed_variants
from services.analysis.diarization.diarize import assign_turns, embed_speech
from services.analysis.options import SpeakerOptions

SAME_FAMILY = ["MEE009", "MEE012", "speaker90", "speaker91"]


def recordings(seed: int = 123) -> list[tuple[str, Stitched]]:
    base = voice_pools()
    pools = with_speed_variants(base)
    rng = np.random.default_rng(seed)
    out: list[tuple[str, Stitched]] = []
    names = list(base)
    for voice in ("speaker90", "speaker91", "MEE009", "MEE012", "jfk", "reader_en", "reader_de"):
        for suffix in ("", "@1.17"):
            out.append(("solo", round_robin(pools, [voice + suffix], gap=0.25)))
    for k in range(1, 9):
        for _ in range(4):
            chosen = list(rng.choice(names, k, replace=False))
            voices = [v if rng.random() < 0.5 else f"{v}@{rng.choice([0.85, 1.17])}" for v in chosen]
            out.append(("mix", conversation(pools, voices, seconds=120.0, seed=int(rng.integers(1e6)))))
    family = SAME_FAMILY + [f"{v}@{f}" for v in SAME_FAMILY for f in (0.85, 1.17)]
    for k in range(2, 7):
        for _ in range(3):
            voices = list(rng.choice(family, k, replace=False))
            out.append(("same", conversation(pools, voices, seconds=120.0, seed=int(rng.integers(1e6)))))
    talkers = [*SAME_FAMILY, "jfk", "reader_en"]
    for k in range(2, 5):
        for _ in range(3):
            voices = list(rng.choice(talkers, k, replace=False))
            out.append(
                ("overlap", conversation(pools, voices, seconds=120.0, seed=int(rng.integers(1e6)), overlap=0.4))
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    rows: dict[tuple[str, int], list[tuple[int, float, float]]] = defaultdict(list)
    for kind, rec in recordings():
        emb = embed_speech(rec.audio, threads=args.threads)
        duration = rec.audio.size / 16000
        est = assign_turns(emb)
        given = assign_turns(emb, SpeakerOptions(num_speakers=rec.speakers))
        found = len({t.speaker for t in est})
        rows[(kind, rec.speakers)].append(
            (found, score_turns(rec.turns, est, duration), score_turns(rec.turns, given, duration))
        )
    print(f"{'set':8s} {'true':>4s} {'n':>3s} {'right':>6s} {'mean est':>8s} {'DER est':>8s} {'DER given':>9s}")
    totals = []
    for (kind, k), values in sorted(rows.items()):
        found = np.array([v[0] for v in values])
        totals += list(found == k)
        print(
            f"{kind:8s} {k:4d} {len(values):3d} {np.mean(found == k):6.2f} {found.mean():8.2f} "
            f"{np.mean([v[1] for v in values]):8.3f} {np.mean([v[2] for v in values]):9.3f}"
        )
    print(f"count right overall: {np.mean(totals):.2f} of {len(totals)} recordings")


if __name__ == "__main__":
    main()
