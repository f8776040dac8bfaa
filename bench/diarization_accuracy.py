"""Diarization accuracy and speed on the reference audio.

Run from the repository root: ``python -m bench.diarization_accuracy`` (add ``--no-timing`` to
skip the 10 and 60 minute runs, ``--threads N`` for the encoder, default 1).

Prints, per file: true and estimated speaker count, DER with no collar and with a 0.25 s
collar (overlap scored), and the same with the true count given. Then, for stitched 10 and
60 minute recordings: speech detection + embedding time, clustering + re-segmentation time,
process CPU time and the peak memory added while diarizing.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass

import numpy as np

from bench.der import score, score_turns
from bench.synth import DATA, decode, long_recording, round_robin, stitched_three, voice_pools
from services.analysis.diarization.diarize import assign_turns, embed_speech
from services.analysis.options import SpeakerOptions
from services.schema import SpeakerTurn


@dataclass(frozen=True)
class Case:
    name: str
    audio: np.ndarray
    speakers: int | None
    reference: tuple[str, str] | None = None  # (rttm, file id)
    uem: str | tuple[float, float] | None = None
    turns: tuple[SpeakerTurn, ...] = ()


def cases() -> list[Case]:
    dev_rttm, uem = str(DATA / "debug.development.rttm"), str(DATA / "debug.development.uem")
    three = stitched_three()
    four = round_robin(voice_pools(), ["jfk", "speaker90", "speaker91", "reader_en"])
    return [
        Case("sample", decode("sample.wav"), 2, (str(DATA / "sample.rttm"), "sample"), (0.0, 30.0)),
        Case("dev00", decode("dev00.wav"), 2, (dev_rttm, "dev00"), uem),
        Case("dev01", decode("dev01.wav"), 2, (dev_rttm, "dev01"), uem),
        Case("jfk", decode("jfk.flac"), 1),
        Case("stereo (mono mix)", decode("stereo_diarization.wav"), 2),
        Case("empty", decode("empty.wav"), 0),
        Case("multilingual", decode("multilingual.mp3"), None),
        Case("stitched-3", three.audio, 3, turns=three.turns),
        Case("stitched-4", four.audio, 4, turns=four.turns),
    ]


def _der(case: Case, turns: list[SpeakerTurn], collar: float) -> float:
    if case.reference:
        return float(score(case.reference[0], case.reference[1], turns, uem=case.uem, collar=collar))
    if case.turns:
        return score_turns(case.turns, turns, case.audio.size / 16000, collar=collar)
    return float("nan")


def accuracy_table() -> None:
    print(
        f"{'file':20s} {'true':>4s} {'est':>4s} {'DER':>7s} {'DER.25':>7s} | {'given':>5s} {'DER':>7s} {'DER.25':>7s}"
    )
    dev = []
    for case in cases():
        emb = embed_speech(case.audio)
        est = assign_turns(emb)
        n_est = len({t.speaker for t in est})
        row = f"{case.name:20s} {case.speakers if case.speakers is not None else '?':>4} {n_est:>4d} "
        row += f"{_der(case, est, 0.0):7.3f} {_der(case, est, 0.25):7.3f} | "
        if case.speakers:
            given = assign_turns(emb, SpeakerOptions(num_speakers=case.speakers))
            row += f"{case.speakers:>5d} {_der(case, given, 0.0):7.3f} {_der(case, given, 0.25):7.3f}"
        if case.name.startswith("dev"):
            dev.append((_der(case, est, 0.0), _der(case, given, 0.0)))
        print(row)
    if dev:
        est_mean, given_mean = np.mean(dev, axis=0)
        print(f"{'dev mean':20s} {'':>4s} {'':>4s} {est_mean:7.3f} {'':>7s} | {'':>5s} {given_mean:7.3f}")
    channels_row()


def channels_row() -> None:
    import soundfile as sf

    from services.analysis.channels import diarize_channels

    stereo, _ = sf.read(str(DATA / "stereo_diarization.wav"), dtype="float32")
    turns = diarize_channels(stereo.T)
    print(f"{'stereo (channels)':20s} {2:>4d} {len({t.speaker for t in turns}):>4d}   (per-channel path)")


class PeakMemory:
    """Largest resident set size seen while the block runs, minus the size before it."""

    def __enter__(self) -> PeakMemory:
        import psutil

        self._process = psutil.Process()
        self.before = self._process.memory_info().rss
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.before) / 2**20


def timing_table(minutes: list[float], threads: int | None = None) -> None:
    import psutil

    from services.analysis.diarization.embeddings import load_encoder
    from services.analysis.vad import speech_probabilities

    load_encoder("cpu")  # model loading is a once-per-process cost, not per file
    speech_probabilities(np.zeros(16000, dtype=np.float32))
    print(
        f"\n{'audio':>8s} {'windows':>8s} {'embed s':>8s} {'cluster s':>9s} {'total s':>8s} {'x RT':>6s} "
        f"{'CPU s':>6s} {'peak +MB':>8s} {'speakers':>9s}"
    )
    for length in minutes:
        recording = long_recording(length)
        process = psutil.Process()
        cpu0 = sum(process.cpu_times()[:2])
        with PeakMemory() as memory:
            t0 = time.perf_counter()
            emb = embed_speech(recording.audio, threads=threads)
            t1 = time.perf_counter()
            turns = assign_turns(emb)
            t2 = time.perf_counter()
        cpu = sum(process.cpu_times()[:2]) - cpu0
        found = len({t.speaker for t in turns})
        print(
            f"{length:6.0f} m {len(emb.windows):8d} {t1 - t0:8.1f} {t2 - t1:9.1f} {t2 - t0:8.1f} "
            f"{length * 60 / (t2 - t0):6.0f} {cpu:6.1f} {memory.extra_mb:8.0f} {found:>5d}/{recording.speakers}"
        )
        del recording, emb, turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--minutes", type=float, nargs="*", default=[10.0, 60.0])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    accuracy_table()
    if not args.no_timing:
        timing_table(args.minutes, args.threads)


if __name__ == "__main__":
    main()
