"""How well the recogniser's word probability points at its mistakes: the figures behind ``UNSURE_BELOW``.

    python -m bench.confidence                       # clean, far-field and phone versions of the two texts
    python -m bench.confidence --thresholds 0.3 0.5 0.7

The texts with a reference (``tests/data/README.md``): ``jfk.flac`` and the English license passage of
``multilingual.mp3``, as recorded and through the recording conditions of ``bench.conditions`` (which
give the tiny model something to get wrong). Each recognised word is aligned with the reference
(normalised as for WER); a word is *wrong* when it is not matched word for word (substituted or
inserted). For each threshold: the share of words marked unsure (probability below it), the share of
wrong words among the marked, and the share of wrong words that are marked.
"""

from __future__ import annotations

import argparse
from difflib import SequenceMatcher

from bench.conditions import apply
from bench.corpus import JFK_TEXT, LICENSE_TEXT, clip, normalize
from services.analysis.engines import make_transcriber
from services.config import Settings
from services.results.confidence import UNSURE_BELOW
from services.schema import Word

TEXTS = (("jfk.flac", JFK_TEXT), ("multilingual.mp3", LICENSE_TEXT))
CONDITIONS = ("clean", "far", "phone")


def wrong_words(words: tuple[Word, ...], reference: str) -> list[bool]:
    """For each recognised word: True when the alignment with ``reference`` does not match it."""
    tokens, owner = [], []
    for i, word in enumerate(words):
        for token in normalize(word.word).split():
            tokens.append(token)
            owner.append(i)
    wrong = [False] * len(words)
    matcher = SequenceMatcher(a=normalize(reference).split(), b=tokens, autojunk=False)
    for op, _a0, _a1, b0, b1 in matcher.get_opcodes():
        if op != "equal":
            for k in range(b0, b1):
                wrong[owner[k]] = True
    return wrong


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    args = parser.parse_args(argv)
    settings = Settings()
    transcriber = make_transcriber(settings)
    print(f"{transcriber.name} {transcriber.model_name} ({settings.whisper_mode})\n")
    rows: list[tuple[str, str, float, bool, str]] = []
    for name, reference in TEXTS:
        for condition in CONDITIONS:
            words = transcriber.transcribe(apply(condition, clip(name))).words
            for word, wrong in zip(words, wrong_words(words, reference), strict=True):
                rows.append((name, condition, word.probability, wrong, word.word.strip()))
    print("| threshold | words marked | wrong words among the marked | wrong words marked |")
    print("| ---: | ---: | ---: | ---: |")
    for subset, label in ((lambda r: r[1] == "clean", "as recorded"), (lambda r: True, "all conditions")):
        chosen = [r for r in rows if subset(r)]
        wrong = sum(r[3] for r in chosen)
        print(f"| *{label}: {len(chosen)} words, {wrong} wrong* | | | |")
        for t in args.thresholds:
            marked = [r for r in chosen if r[2] < t]
            hits = sum(r[3] for r in marked)
            print(
                f"| {t:.2f} | {len(marked)} ({len(marked) / max(1, len(chosen)):.1%}) "
                f"| {hits}/{len(marked)} | {hits}/{wrong} |"
            )
    print(f"\nPer recording, below {UNSURE_BELOW}:\n")
    print("| recording | condition | words | marked | wrong | wrong and marked |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, _ in TEXTS:
        for condition in CONDITIONS:
            these = [r for r in rows if r[0] == name and r[1] == condition]
            marked = [r for r in these if r[2] < UNSURE_BELOW]
            print(
                f"| {name} | {condition} | {len(these)} | {len(marked)} ({len(marked) / max(1, len(these)):.0%}) "
                f"| {sum(r[3] for r in these)} | {sum(r[3] for r in marked)} |"
            )
    print("\nWrong words (file, condition, probability, word):")
    for name, condition, probability, wrong, word in rows:
        if wrong:
            print(f"  {name} {condition} {probability:.3f} {word!r}")
    print(f"\nRight words marked (below {UNSURE_BELOW}), as recorded:")
    for name, condition, probability, wrong, word in rows:
        if condition == "clean" and not wrong and probability < UNSURE_BELOW:
            print(f"  {name} {probability:.3f} {word!r}")


if __name__ == "__main__":
    main()
