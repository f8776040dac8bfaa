"""Accuracy benchmark: who-spoke-when (DER) and what-was-said (WER) on the reference audio in tests/data.

    python -m bench.accuracy
    python -m bench.accuracy --embedding-model ~/models/wespeaker_en_voxceleb_resnet34.onnx

Runs FastAudio's whole pipeline at its default settings (as a worker would) on each file and
prints one table: DER with pyannote.metrics (no collar, overlapped speech scored; and with the
forgiving 0.25 s collar), estimated against true speaker count, and WER with jiwer on normalized
text. Diarization-only studies (count estimation on 1-8 voices, the timing of long files) are in
``bench.diarization_accuracy`` and ``bench.count_suite``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import jiwer

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--embedding-model", metavar="PATH", default=None,
        help="an ONNX speaker-embedding model to use instead of resemblyzer (as SPEAKER_EMBEDDING_MODEL)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = Settings(**({"speaker_embedding_model": args.embedding_model} if args.embedding_model else {}))
    transcriber, diarizer = make_transcriber(settings), make_diarizer(settings)
    data = data_dir()

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
