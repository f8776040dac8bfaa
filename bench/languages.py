"""Languages benchmark: the multilingual ``base`` model on the mixed recording, and its speed beside ``tiny.en``.

    python -m bench.languages                 # the mixed file, then 10 minutes with tiny.en and base
    python -m bench.languages --minutes 2     # a shorter speed row (a busy machine)
    python -m bench.languages --minutes 0     # the mixed file only

1. ``multilingual.mp3`` (the MIT licence in English, then in German) through the whole pipeline with
   ``WHISPER_MODEL_SIZE=base`` and the language left to detection: the languages found, the WER of the
   segments transcribed as English against the English passage, and which German words came out
   (``GERMAN_WORDS``); also ``tiny.en`` on the same file, for what it says instead.
2. The speed rows: the stitched English recording of ``bench.speed`` through the whole pipeline, each
   run in a fresh process (model loading counted once): ``tiny.en`` with Auto (when ``base`` is
   installed it checks a few windows for another language) and told ``en`` (no check), ``base`` told
   ``en`` (no detection) and with Auto (detected window by window).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import tempfile
import time
from pathlib import Path

from bench.corpus import GERMAN_WORDS, LICENSE_TEXT, data_dir, german_words_missing, normalize
from bench.speed import _cpu_s, _in_child, _peak_mb, _write_wav


def _run(path: str, model: str, language: str | None, models_dir: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from services.analysis.engines import make_diarizer, make_transcriber
    from services.analysis.options import AnalysisOptions
    from services.analysis.pipeline import analyze_file
    from services.config import Settings

    settings = Settings(whisper_model_size=model, data_dir=Path(models_dir))
    started, cpu = time.perf_counter(), _cpu_s()
    transcriber, diarizer = make_transcriber(settings), make_diarizer(settings)
    result = analyze_file(path, transcriber, AnalysisOptions(language=language), diarizer=diarizer)
    out.put(
        {
            "wall": time.perf_counter() - started,
            "cpu": _cpu_s() - cpu,
            "timings": result.timings,
            "peak_mb": _peak_mb(),
            "result": result.to_dict(),
        }
    )


def mixed_section(models_dir: str) -> None:
    import jiwer

    from services.results.languages import language_notice
    from services.schema import AnalysisResult

    path = str(data_dir() / "multilingual.mp3")
    base = AnalysisResult.from_dict(_in_child(_run, path, "base", None, models_dir)["result"])
    english = " ".join(s.text for s in base.segments if s.language == "en")
    german = " ".join(s.text for s in base.segments if s.language == "de")
    print("| multilingual.mp3, base, Auto | |\n| --- | --- |")
    print(f"| languages, in order | {', '.join(base.languages)} |")
    english_wer = jiwer.wer(normalize(LICENSE_TEXT), normalize(english))
    print(f"| English passage: WER of the segments transcribed as English | {english_wer:.1%} |")
    missing = german_words_missing(german)
    detail = f" (missing: {', '.join(missing)})" if missing else ""
    print(f"| German words of the licence written | {len(GERMAN_WORDS) - len(missing)}/{len(GERMAN_WORDS)}{detail} |")
    print(f"\nGerman half as transcribed by base:\n> {german}\n")
    tiny = AnalysisResult.from_dict(_in_child(_run, path, "tiny.en", None, models_dir)["result"])
    print(f"tiny.en on the same file: detected_language={tiny.detected_language!r}")
    print(f"notice: {language_notice(tiny)}\n")


ROWS = {
    "tiny": ("tiny.en, Auto (base checks 6 chunks)", "tiny.en", None),
    "tiny-en": ("tiny.en, language en (no check)", "tiny.en", "en"),
    "base-en": ("base, language en", "base", "en"),
    "base": ("base, Auto (detected per chunk)", "base", None),
}
"""The speed rows: label, WHISPER_MODEL_SIZE, language option."""


def speed_section(minutes: float, models_dir: str, rows: list[tuple[str, str, str | None]]) -> None:
    print(f"| {minutes:g} min, whole pipeline | wall | CPU | RTF | peak | transcribe stage |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        path = str(_write_wav(minutes * 60, Path(folder)))
        for label, model, language in rows:
            row = _in_child(_run, path, model, language, models_dir)
            t = row["timings"]
            print(
                f"| {label} | {row['wall']:.1f} s | {row['cpu']:.1f} s | {minutes * 60 / row['wall']:.1f}x "
                f"| {row['peak_mb']:,.0f} MB | {t.get('transcribe', 0):.1f} s |",
                flush=True,
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the speed rows (0: none)")
    parser.add_argument("--skip-mixed", action="store_true", help="only the speed rows")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS), help="which speed rows")
    args = parser.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {mp.cpu_count()} cores\n")
    with tempfile.TemporaryDirectory() as models_dir:  # base is joined from its packages here, once
        if not args.skip_mixed:
            mixed_section(models_dir)
        if args.minutes > 0:
            speed_section(args.minutes, models_dir, [ROWS[name] for name in args.rows])


if __name__ == "__main__":
    main()
