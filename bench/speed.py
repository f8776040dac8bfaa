"""Speed benchmark: FastAudio's whole pipeline against openai-whisper's ASR alone, on the same audio.

    python -m bench.speed                        # 30 s, 8 min, 10 min, 60 min (peer up to 10 min)
    python -m bench.speed --minutes 0.5 8 --engine openai-whisper   # the other engine
    python -m bench.speed --minutes 120 --peer-up-to 0 --kept-up-to 0  # memory of a 2-hour file

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
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    main()
