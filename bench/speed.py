"""Speed benchmark: FastAudio's whole pipeline against openai-whisper's ASR alone, on the same audio.

    python -m bench.speed                        # 30 s, 8 min, 10 min, 60 min (peer up to 10 min)
    python -m bench.speed --minutes 0.5 8 --engine openai-whisper   # the other engine
    python -m bench.speed --minutes 120 --peer-up-to 0 --kept-up-to 0  # memory of a 2-hour file
    python -m bench.speed --corpus               # varied audio (bench.speed_corpus), 5 min each
    python -m bench.speed --corpus --mode sequential   # the same, our pipeline with WHISPER_MODE=sequential

Every measurement runs in a fresh process, so model loading is counted once and the peak memory
(the process's maximum resident set size) belongs to that run alone. The recordings are built by
stitching the reference files in ``tests/data`` (``bench.corpus``) and written to a WAV file first, so the
decode stage is measured as a worker would run it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import tempfile
import time
from pathlib import Path

from bench.corpus import normalize, stitched
from bench.speed_corpus import KINDS, SpeedRecording, build
from bench.whisper_checkpoint import tiny_en_checkpoint


def _write_wav(seconds: float, folder: Path) -> Path:
    from tests.media import encode_audio  # the project's own PyAV writer

    path = folder / f"stitched_{int(seconds)}s.wav"
    if not path.exists():
        encode_audio(path, stitched(seconds), 16000, "pcm_s16le", fmt="wav")
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process so far: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _write_recording(recording: SpeedRecording, folder: Path) -> Path:
    from tests.media import encode_audio

    path = folder / f"{recording.kind}_{int(recording.seconds)}s.wav"
    encode_audio(path, recording.audio, 16000, "pcm_s16le", fmt="wav")
    return path


def _fastaudio(path: str, engine: str, mode: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from services.analysis.engines import make_diarizer, make_transcriber
    from services.analysis.pipeline import analyze_file
    from services.config import Settings

    settings = Settings(whisper_engine=engine, whisper_mode=mode, whisper_model_path=_peer_model(engine))
    started, cpu = time.perf_counter(), _cpu_s()
    transcriber, diarizer = make_transcriber(settings), make_diarizer(settings)
    result = analyze_file(path, transcriber, diarizer=diarizer)
    out.put(
        {
            "wall": time.perf_counter() - started,
            "cpu": _cpu_s() - cpu,
            "timings": result.timings,
            "peak_mb": _peak_mb(),
            "text": result.text,
            "speakers": len(result.speakers),
        }
    )


def _peer_model(engine: str) -> str | None:
    return str(tiny_en_checkpoint()) if engine == "openai-whisper" else None


def _openai_whisper(path: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """The peer: openai-whisper, same tiny.en weights, beam 5, fp32 on CPU, 2 threads, ASR only."""
    import torch
    import whisper

    from services.analysis.audio import decode

    torch.set_num_threads(2)
    started = time.perf_counter()
    checkpoint = tiny_en_checkpoint()
    model = whisper.load_model(str(checkpoint), device="cpu")
    model.set_alignment_heads(torch.load(checkpoint, map_location="cpu", weights_only=False)["alignment_heads"])
    result = model.transcribe(decode(path), beam_size=5, fp16=False, language="en")
    out.put({"wall": time.perf_counter() - started, "peak_mb": _peak_mb(), "text": result["text"]})


def _sequential_reference(path: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """A sequential beam-5 faster-whisper transcript: the reference for "words kept"."""
    from services.analysis.asr.transcribe import FasterWhisperEngine, WhisperConfig
    from services.analysis.audio import decode

    started = time.perf_counter()
    text = FasterWhisperEngine(WhisperConfig(mode="sequential")).transcribe(decode(path)).text
    out.put({"wall": time.perf_counter() - started, "text": text})


def _in_child(target, *args) -> dict:  # type: ignore[no-untyped-def, type-arg]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out))
    proc.start()
    value = out.get()
    proc.join()
    return value


def words_kept(reference: str, hypothesis: str) -> float:
    """Share of the reference's words that the hypothesis has (hit or substituted, not deleted)."""
    import jiwer

    o = jiwer.process_words(normalize(reference), normalize(hypothesis))
    total = o.hits + o.substitutions + o.deletions
    return (o.hits + o.substitutions) / total if total else 1.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[0.5, 8, 10, 60])
    parser.add_argument("--engine", default="faster-whisper", choices=["faster-whisper", "openai-whisper"])
    parser.add_argument("--mode", default="batched", choices=["batched", "sequential", "fast"])
    parser.add_argument(
        "--peer-up-to", type=float, default=10.0, help="run the openai-whisper peer up to this length (min)"
    )
    parser.add_argument("--kept-up-to", type=float, default=10.0, help="measure words kept up to this length (min)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--corpus", nargs="*", choices=KINDS, help="the varied corpus (all kinds when none named)")
    parser.add_argument("--corpus-minutes", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.corpus is not None:
        rows = corpus_rows(args.corpus or list(KINDS), args.corpus_minutes, args.mode)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2))
        return

    print(
        f"machine: {platform.processor() or platform.machine()}, {mp.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"FastAudio: {args.engine}, mode {args.mode}, tiny.en, default settings otherwise\n")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for minutes in args.minutes:
            path = str(_write_wav(minutes * 60, Path(folder)))
            ours = _in_child(_fastaudio, path, args.engine, args.mode)
            row = {"minutes": minutes, "ours": ours}
            if minutes <= args.peer_up_to:
                row["peer"] = _in_child(_openai_whisper, path)
            if minutes <= args.kept_up_to:
                reference = _in_child(_sequential_reference, path)
                row["kept"] = words_kept(reference["text"], ours["text"])
            rows.append(row)
            _print_row(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


STAGES = ("decode", "vad", "transcribe", "embed", "cluster", "diarize", "merge")


def _print_row(row: dict) -> None:  # type: ignore[type-arg]
    ours, seconds = row["ours"], row["minutes"] * 60
    t = ours["timings"]
    stages = " ".join(f"{k} {t[k]:.1f}" for k in STAGES if k in t)
    line = (
        f"{row['minutes']:>5g} min | whole {ours['wall']:7.1f} s | CPU {ours.get('cpu', float('nan')):7.1f} s "
        f"| RTF {seconds / ours['wall']:6.1f}x | "
        f"peak {ours['peak_mb']:6.0f} MB | {stages}"
    )
    if "peer" in row:
        peer = row["peer"]
        line += (
            f" | openai-whisper ASR {peer['wall']:.1f} s ({seconds / peer['wall']:.1f}x)"
            f" -> ours {peer['wall'] / ours['wall']:.1f}x faster"
        )
    if "kept" in row:
        line += f" | words kept {row['kept']:.1%}"
    print(line, flush=True)


def _stage_costs(path: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Each stage alone, one after another, in a fresh process: wall and CPU seconds per stage.

    The pipeline runs the voice embeddings alongside Whisper, so its own timings overlap; run
    alone, each stage's CPU seconds show what the two cores are spent on. Also counts the windows
    Whisper decoded a second time (``needs_second_look``).
    """
    from services.analysis.asr.chunks import pack_chunks
    from services.analysis.audio import decode
    from services.analysis.engines import make_diarizer, make_transcriber
    from services.analysis.options import AnalysisOptions
    from services.analysis.vad import asr_regions, speech_probabilities
    from services.config import Settings

    costs: dict[str, dict[str, float]] = {}

    def timed(stage: str, work):  # type: ignore[no-untyped-def]
        started, cpu = time.perf_counter(), _cpu_s()
        value = work()
        costs[stage] = {"wall": time.perf_counter() - started, "cpu": _cpu_s() - cpu}
        return value

    settings = Settings()
    transcriber = make_transcriber(settings)
    timed("load", lambda: transcriber.model)  # type: ignore[attr-defined]  # not inside the transcribe stage
    audio = timed("decode", lambda: decode(path))
    probs = timed("vad", lambda: speech_probabilities(audio))
    speech = asr_regions(probs, len(audio) / 16000)
    careful, looks = transcriber._careful, []  # type: ignore[attr-defined]  # count the second looks
    transcriber._careful = lambda *a: looks.append(1) or careful(*a)  # type: ignore[attr-defined]
    transcript = timed("transcribe", lambda: transcriber.transcribe(audio, speech=speech))
    diarizer = make_diarizer(settings)
    embeddings = timed("embed", lambda: diarizer.embed(audio, speech_probs=probs))  # type: ignore[attr-defined]
    options = AnalysisOptions().speaker_options()
    timed("cluster", lambda: diarizer.assign(embeddings, options, words=transcript.words))  # type: ignore[attr-defined]
    windows = len(pack_chunks(list(speech)))
    out.put({"stages": costs, "second_looks": len(looks), "windows": windows})


def corpus_rows(kinds: list[str], minutes: float, mode: str = "batched") -> list[dict]:  # type: ignore[type-arg]
    """Every measurement of the corpus table, file by file, each in fresh processes; ours in ``mode``."""
    print(
        f"machine: {platform.processor() or platform.machine()}, {mp.cpu_count()} cores, "
        f"Python {platform.python_version()}; corpus of {minutes:g}-minute recordings, tiny.en, "
        f"WHISPER_MODE={mode}\n"
    )
    print(CORPUS_HEADER)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in kinds:
            path = str(_write_recording(build(kind, minutes), Path(folder)))
            row = {"kind": kind, "seconds": minutes * 60}
            row["ours"] = _in_child(_fastaudio, path, "faster-whisper", mode)
            row["fast"] = _in_child(_fastaudio, path, "faster-whisper", "fast")
            row["peer"] = _in_child(_openai_whisper, path)
            reference = _in_child(_sequential_reference, path)
            row["reference_wall"] = reference["wall"]
            row["kept"] = words_kept(reference["text"], row["ours"]["text"])
            row["fast_kept"] = words_kept(reference["text"], row["fast"]["text"])
            row["costs"] = _in_child(_stage_costs, path)
            rows.append(row)
            print(_corpus_line(row), flush=True)
    print("\nStages alone, one after another (wall s / CPU s):")
    for row in rows:
        stages = row["costs"]["stages"]
        looks = row["costs"]["second_looks"] / max(1, row["costs"]["windows"])
        cells = " | ".join(f"{k} {v['wall']:.1f}/{v['cpu']:.1f}" for k, v in stages.items())
        print(f"{row['kind']:>12} | {cells} | second look {looks:.0%} of {row['costs']['windows']} windows")
    return rows


CORPUS_HEADER = (
    "        kind |  whole s |   RTF | CPU s | peak MB | openai-whisper s | faster | words kept "
    "| fast: whole s, RTF, faster, words kept | sequential beam 5 s"
)


def _corpus_line(row: dict) -> str:  # type: ignore[type-arg]
    ours, fast, peer, seconds = row["ours"], row["fast"], row["peer"], row["seconds"]
    return (
        f"{row['kind']:>12} | {ours['wall']:8.1f} | {seconds / ours['wall']:4.1f}x | {ours['cpu']:5.1f} "
        f"| {ours['peak_mb']:7.0f} | {peer['wall']:16.1f} | {peer['wall'] / ours['wall']:5.1f}x "
        f"| {row['kept']:10.1%} | {fast['wall']:.1f}, {seconds / fast['wall']:.1f}x, "
        f"{peer['wall'] / fast['wall']:.1f}x, {row['fast_kept']:.1%} | {row['reference_wall']:.1f}"
    )


if __name__ == "__main__":
    main()
