"""Accuracy benchmark: who-spoke-when (DER) and what-was-said (WER) on the reference audio in tests/data.

    python -m bench.accuracy
    python -m bench.accuracy --embedding-model ~/models/wespeaker_en_voxceleb_resnet34.onnx

Runs FastAudio's whole pipeline at its default settings (as a worker would) on each file and
prints one table: DER with pyannote.metrics (no collar, overlapped speech scored; and with the
forgiving 0.25 s collar), estimated against true speaker count, and WER with jiwer on normalized
text. The meeting section (``--meetings`` runs it alone) splits the DER of every file with a
reference into missed speech, false alarm and confusion, as recorded and 15 dB quieter, with the
estimated count and its confidence. Diarization-only studies (count estimation on 1-8 voices, the
timing of long files) are in ``bench.diarization_accuracy`` and ``bench.count_suite``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import jiwer

from bench.conditions import attenuate
from bench.corpus import JFK_TEXT, LICENSE_END_S, LICENSE_TEXT, STEREO_TEXT, data_dir, normalize
from bench.der import score
from services.analysis.audio import decode, decode_channels
from services.analysis.engines import make_diarizer, make_transcriber
from services.analysis.options import AnalysisOptions
from services.analysis.pipeline import analyze, analyze_file
from services.config import Settings
from services.schema import SAMPLE_RATE, AnalysisResult


@dataclass(frozen=True)
class DerCase:
    name: str
    file: str
    rttm: str
    file_id: str
    uem: object
    speakers: int


def der_cases() -> list[DerCase]:
    data = data_dir()
    dev_rttm, dev_uem = str(data / "debug.development.rttm"), str(data / "debug.development.uem")
    return [
        DerCase("sample.wav", "sample.wav", str(data / "sample.rttm"), "sample", (0.0, 30.0), 2),
        DerCase("dev00.wav (UEM)", "dev00.wav", dev_rttm, "dev00", dev_uem, 2),
        DerCase("dev01.wav (UEM)", "dev01.wav", dev_rttm, "dev01", dev_uem, 2),
    ]


def wer(reference: str, hypothesis: str) -> float:
    return jiwer.wer(normalize(reference), normalize(hypothesis))


QUIETER_DB = 15.0


def meeting_section(transcriber, diarizer) -> None:  # type: ignore[no-untyped-def]
    """Missed speech, false alarm, confusion and DER per file, as recorded and ``QUIETER_DB`` quieter."""
    data = data_dir()
    print(
        "| file | level | true | estimated (runner-up, close) | missed | false alarm | confusion | DER "
        "| words without a speaker |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for case in der_cases():
        audio = decode(data / case.file)
        for label, db in (("as recorded", 0.0), (f"-{QUIETER_DB:g} dB", QUIETER_DB)):
            result = analyze(attenuate(audio, db), transcriber, diarizer=diarizer)
            d = score(case.rttm, case.file_id, result.turns, uem=case.uem, detailed=True)
            total = d["total"] or 1.0
            count = result.to_dict().get("speaker_count") or {}
            runner = f" ({count.get('runner_up')}, {'close' if count.get('close') else 'clear'})" if count else ""
            loose = sum(1 for s in result.segments if s.speaker is None for _ in s.words)
            print(
                f"| {case.name} | {label} | {case.speakers} | {len(result.speakers)}{runner} "
                f"| {d['missed detection'] / total:.1%} | {d['false alarm'] / total:.1%} "
                f"| {d['confusion'] / total:.1%} | {d['diarization error rate']:.1%} | {loose} |",
                flush=True,
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--embedding-model", metavar="PATH", default=None,
        help="an ONNX speaker-embedding model to use instead of resemblyzer (as SPEAKER_EMBEDDING_MODEL)",
    )  # fmt: skip
    parser.add_argument("--meetings", action="store_true", help="only the meeting section")
    args = parser.parse_args(argv)
    settings = Settings(**({"speaker_embedding_model": args.embedding_model} if args.embedding_model else {}))
    transcriber, diarizer = make_transcriber(settings), make_diarizer(settings)
    data = data_dir()
    if args.meetings:
        meeting_section(transcriber, diarizer)
        return

    def run(name: str, **options: int) -> AnalysisResult:
        return analyze_file(data / name, transcriber, AnalysisOptions(**options), diarizer=diarizer)

    print(
        f"FastAudio {transcriber.name} {transcriber.model_name} ({settings.whisper_mode}), "
        f"diarization {diarizer.name}\n"
    )
    print("| file | true speakers | estimated | DER | DER, 0.25 s collar | DER, count given |")
    print("| --- | --- | --- | --- | --- | --- |")
    ders = []
    for case in der_cases():
        result, told = run(case.file), run(case.file, num_speakers=case.speakers)
        d0 = score(case.rttm, case.file_id, result.turns, uem=case.uem)
        d25 = score(case.rttm, case.file_id, result.turns, uem=case.uem, collar=0.25)
        dt = score(case.rttm, case.file_id, told.turns, uem=case.uem)
        ders.append(d0)
        print(f"| {case.name} | {case.speakers} | {len(result.speakers)} | {d0:.1%} | {d25:.1%} | {dt:.1%} |")
    print(f"| dev00 + dev01, mean | | | {(ders[1] + ders[2]) / 2:.1%} | | |")

    for name, true in (("stereo_diarization.wav", 2), ("jfk.flac", 1), ("empty.wav", 0)):
        print(f"| {name} | {true} | {len(run(name).speakers)} | | | |")

    print(
        "\nMeetings: missed speech, false alarm, confusion "
        "(shares of the reference speech, no collar, overlap scored)\n"
    )
    meeting_section(transcriber, diarizer)

    print("\n| text | WER |")
    print("| --- | --- |")
    print(f"| jfk.flac | {wer(JFK_TEXT, run('jfk.flac').text):.1%} |")
    license_audio = decode(data / "multilingual.mp3")[: int(LICENSE_END_S * SAMPLE_RATE)]
    license_text = analyze(license_audio, transcriber, diarizer=diarizer).text
    print(f"| multilingual.mp3, the English license passage | {wer(LICENSE_TEXT, license_text):.1%} |")
    left, right = decode_channels(data / "stereo_diarization.wav")
    for side, channel in (("left", left), ("right", right)):
        text = transcriber.transcribe(channel).text
        print(f"| stereo_diarization.wav, {side} channel | {wer(STEREO_TEXT[side], text):.1%} |")


if __name__ == "__main__":
    main()
