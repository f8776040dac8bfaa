"""The analysis: decode -> speech activity -> transcribe -> diarize -> assign speakers -> result.

Speech activity (Silero) runs once: the recogniser listens only where there is speech and the
diarizer embeds only the speech. A recording with one person per channel is diarized channel by
channel (``services.analysis.channels``). ``analyze`` reports progress as ``on_progress(stage, fraction)``
where ``fraction`` is the share of the whole analysis done (0..1); it never knows who listens
(a task row, a CLI progress line, a test). Likewise ``on_artifacts(Artifacts)`` receives what a
later re-run can reuse (the transcript before speakers were assigned, and the voice embeddings
when the diarizer computes reusable ones).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from services.analysis.artifacts import Artifacts
from services.analysis.asr.transcribe import Transcriber
from services.analysis.assign import assign_speakers, mark_overlaps
from services.analysis.audio import decode_channels
from services.analysis.channels import channels_are_distinct, embed_channels
from services.analysis.diarization.diarize import SpeechEmbeddings, assign_turns, embed_speech
from services.analysis.diarization.embedder import Embedder, ResemblyzerEmbedder
from services.analysis.diarization.phone_windows import PHONE_WINDOWS, with_phone_windows
from services.analysis.memory import release_freed_memory
from services.analysis.options import AnalysisOptions, SpeakerOptions
from services.analysis.turns import speakers_of
from services.analysis.vad import asr_regions, speech_probabilities
from services.schema import SAMPLE_RATE, AnalysisResult, SpeakerCount, SpeakerTurn, Transcript, Word

ProgressCallback = Callable[[str, float], None]
ArtifactsCallback = Callable[[Artifacts], None]

# The share of the whole run each stage takes, measured on CPU with tiny.en (see docs/BENCHMARKS.md).
STAGE_SHARES = {"decode": 0.02, "vad": 0.08, "transcribe": 0.6, "diarize": 0.25, "cluster": 0.02, "merge": 0.03}


class Diarizer(Protocol):
    """What the pipeline needs from a speaker diarization backend."""

    name: str

    def diarize(
        self,
        audio: np.ndarray,
        options: SpeakerOptions,
        *,
        words: Sequence[Word] = (),
        on_progress: Callable[[float], None] | None = None,
        speech_probs: np.ndarray | None = None,
        channels: np.ndarray | None = None,
    ) -> list[SpeakerTurn]:
        """Speaker turns of 16 kHz mono ``audio``.

        ``speech_probs`` are the Silero frame probabilities the pipeline already computed;
        ``channels`` (shape ``(C, samples)``) is given when each channel holds other voices.
        A backend may ignore both.
        """
        ...


@runtime_checkable
class ReclusteringDiarizer(Diarizer, Protocol):
    """A diarizer in two steps: ``embed`` (expensive, needs the audio) and ``assign`` (cheap).

    The pipeline keeps what ``embed`` returns, so ``assign`` can run again later with other
    speaker options without the audio (``services.jobs.rediarize``).
    """

    def embed(
        self,
        audio: np.ndarray,
        *,
        on_progress: Callable[[float], None] | None = None,
        speech_probs: np.ndarray | None = None,
        channels: np.ndarray | None = None,
    ) -> SpeechEmbeddings: ...

    def assign(
        self, embeddings: SpeechEmbeddings, options: SpeakerOptions, *, words: Sequence[Word] = ()
    ) -> list[SpeakerTurn]: ...


class BuiltinDiarizer:
    """Speech activity + resemblyzer embeddings + spectral clustering (``services.analysis.diarization.diarize``).

    Runs offline. It works in two steps the pipeline times separately: ``embed`` (the expensive
    part, kept so a user can re-run the speaker count without the audio) and ``assign``.
    """

    name = "builtin"

    def __init__(
        self, threads: int | None = 1, embedder: Embedder | None = None, phone_windows: int = PHONE_WINDOWS
    ) -> None:
        """Args:
        embedder: the voice model (``services.analysis.diarization.embedder``); resemblyzer when None.
        phone_windows: windows also embedded as a telephone passes them, for the voice library
            (``services.analysis.diarization.phone_windows``); 0 for none (VOICE_LIBRARY=false).
        """
        self.threads = threads
        self.embedder = embedder
        self.phone_windows = phone_windows
        if embedder is not None:
            self.name = f"builtin ({embedder.name})"

    def embed(
        self,
        audio: np.ndarray,
        *,
        on_progress: Callable[[float], None] | None = None,
        speech_probs: np.ndarray | None = None,
        channels: np.ndarray | None = None,
    ) -> SpeechEmbeddings:
        if channels is not None:
            return embed_channels(channels, on_progress=on_progress, threads=self.threads, embedder=self.embedder)
        embedder = self.embedder or ResemblyzerEmbedder(threads=self.threads)
        emb = embed_speech(audio, on_progress=on_progress, probabilities=speech_probs, embedder=embedder)
        return with_phone_windows(emb, audio, embedder, self.phone_windows)

    def assign(
        self, emb: SpeechEmbeddings, options: SpeakerOptions, *, words: Sequence[Word] = ()
    ) -> list[SpeakerTurn]:
        return assign_turns(emb, options, words=words)

    def diarize(
        self,
        audio: np.ndarray,
        options: SpeakerOptions,
        *,
        words: Sequence[Word] = (),
        on_progress: Callable[[float], None] | None = None,
        speech_probs: np.ndarray | None = None,
        channels: np.ndarray | None = None,
    ) -> list[SpeakerTurn]:
        emb = self.embed(audio, on_progress=on_progress, speech_probs=speech_probs, channels=channels)
        return self.assign(emb, options, words=words)


class _Stages:
    """Turns a stage's own 0..1 progress into the share of the whole run and passes it on."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.on_progress = on_progress
        self.timings: dict[str, float] = {}

    def reporter(self, stage: str) -> Callable[[float], None]:
        names = list(STAGE_SHARES)
        before = sum(STAGE_SHARES[n] for n in names[: names.index(stage)])

        def report(fraction: float) -> None:
            if self.on_progress:
                self.on_progress(stage, before + STAGE_SHARES[stage] * max(0.0, min(1.0, fraction)))

        return report

    def run(self, stage: str, work: Callable[[Callable[[float], None]], Any]) -> Any:
        report = self.reporter(stage)
        report(0.0)
        started = time.perf_counter()
        value = work(report)
        self.timings[stage] = time.perf_counter() - started
        report(1.0)
        return value


class _Abandoned(Exception):
    """Stops a background stage whose result is no longer wanted."""


class _Alongside:
    """Run one stage in a background thread while the caller runs another.

    The background stage's progress is held back until the caller asks for its result (so the
    page never sees the stage flip back and forth); from then on it is reported live. If the
    caller's own stage fails (or is cancelled), the background stage stops at its next progress
    report.
    """

    def __init__(self, stages: _Stages, stage: str, work: Callable[[Callable[[float], None]], Any]) -> None:
        self._report = stages.reporter(stage)
        self._latest = 0.0
        self._live = threading.Event()
        self._abandoned = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fastaudio-{stage}")

        def relay(fraction: float) -> None:
            if self._abandoned.is_set():
                raise _Abandoned
            self._latest = fraction
            if self._live.is_set():
                self._report(fraction)

        def timed() -> Any:
            started = time.perf_counter()
            value = work(relay)
            stages.timings[stage] = time.perf_counter() - started
            release_freed_memory()  # this stage's buffers, before the other stage grows into new pages
            return value

        self._future = self._pool.submit(timed)

    def result(self) -> Any:
        self._live.set()
        self._report(self._latest)
        value = self._future.result()
        self._report(1.0)
        return value

    def __enter__(self) -> _Alongside:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_rest: object) -> None:
        if exc_type is not None:
            self._abandoned.set()
        self._pool.shutdown(wait=True)
        if exc_type is not None and not self._future.cancelled():
            self._future.exception()  # retrieved, so a failed background stage is not reported twice


def analyze_file(
    path: str | os.PathLike[str],
    transcriber: Transcriber,
    options: AnalysisOptions = AnalysisOptions(),
    on_progress: ProgressCallback | None = None,
    *,
    diarizer: Diarizer | None = None,
    on_artifacts: ArtifactsCallback | None = None,
    max_seconds: float | None = None,
) -> AnalysisResult:
    """Decode a file and analyse it; a recording with one voice per channel keeps its channels.

    ``max_seconds``: decoding stops with ``RecordingTooLong`` past this length (MAX_DURATION_MINUTES),
    whatever the file's header claims.
    """
    stages = _Stages(on_progress)
    decoded = stages.run("decode", lambda _report: decode_channels(path, max_seconds=max_seconds))
    audio = decoded[0] if len(decoded) == 1 else decoded.mean(axis=0)
    separate = decoded if len(decoded) > 1 and channels_are_distinct(decoded) else None
    del decoded  # with shared channels only the downmix is kept
    return analyze(
        audio, transcriber, options, on_progress,
        diarizer=diarizer, channels=separate, on_artifacts=on_artifacts, _stages=stages,
    )  # fmt: skip


def analyze(
    audio: np.ndarray,
    transcriber: Transcriber,
    options: AnalysisOptions = AnalysisOptions(),
    on_progress: ProgressCallback | None = None,
    *,
    diarizer: Diarizer | None = None,
    channels: np.ndarray | None = None,
    on_artifacts: ArtifactsCallback | None = None,
    _stages: _Stages | None = None,
) -> AnalysisResult:
    """Who said what, when, in 16 kHz mono float32 ``audio``.

    Args:
        channels: ``(C, samples)`` when each channel holds other voices (see ``Diarizer``).
        on_artifacts: called once, before returning, with the transcript and (for a
            ``ReclusteringDiarizer``) the voice embeddings, for re-runs that skip the expensive steps.
    """
    diarizer = diarizer or BuiltinDiarizer()
    stages = _stages or _Stages(on_progress)
    duration = len(audio) / SAMPLE_RATE
    probs = stages.run("vad", lambda report: speech_probabilities(audio, on_progress=report))
    speech = asr_regions(probs, duration)
    transcript: Transcript
    speakers = options.speaker_options()
    embeddings: SpeechEmbeddings | None = None
    if isinstance(diarizer, ReclusteringDiarizer):
        # The voice embeddings need only the speech regions, not the words: they are computed while
        # Whisper transcribes, which leaves part of the CPU idle (measured: 2 threads decode only
        # 1.3x faster than 1).
        with _Alongside(stages, "diarize", lambda report: diarizer.embed(
            audio, on_progress=report, speech_probs=probs, channels=channels
        )) as embedding:  # fmt: skip
            transcript = stages.run(
                "transcribe",
                lambda report: transcriber.transcribe(audio, report, speech=speech, language=options.language),
            )
            embeddings = embedding.result()
        turns = stages.run("cluster", lambda _report: diarizer.assign(embeddings, speakers, words=transcript.words))
    else:
        transcript = stages.run(
            "transcribe", lambda report: transcriber.transcribe(audio, report, speech=speech, language=options.language)
        )
        turns = stages.run(
            "diarize",
            lambda report: diarizer.diarize(
                audio, speakers, words=transcript.words, on_progress=report, speech_probs=probs, channels=channels
            ),
        )
    result = stages.run(
        "merge", lambda _report: assemble(transcript, turns, duration=duration, diarization=diarizer.name)
    )
    if on_artifacts:
        on_artifacts(Artifacts(transcript=transcript, embeddings=embeddings))
    return replace(result, timings=dict(stages.timings))


def assemble(
    transcript: Transcript,
    turns: Sequence[SpeakerTurn],
    *,
    duration: float,
    diarization: str,
    timings: dict[str, float] | None = None,
) -> AnalysisResult:
    """The result of a transcript and speaker turns: segments split where the speaker changes.

    Segments where another speaker talks too name them in ``overlap``; the speaker count's confidence
    (``turns.speaker_count`` when the diarizer gives one) is kept, its ``chosen`` set to the speakers
    that have turns.
    """
    count: SpeakerCount | None = getattr(turns, "speaker_count", None)
    turns = list(turns)
    segments = assign_speakers(transcript.segments, turns)
    if segments and not turns:
        # Whisper heard words the speech detector missed (very short or quiet audio): one speaker.
        turns = [SpeakerTurn(s.start, s.end, "SPEAKER_00") for s in segments]
        segments = assign_speakers(segments, turns)
    segments = mark_overlaps(segments, turns)
    speakers = tuple(speakers_of(turns))
    count = count.settled(len(speakers)) if count is not None else None
    return AnalysisResult(
        duration=duration,
        language=transcript.language,
        model=transcript.model,
        engine=transcript.engine,
        diarization=diarization,
        speakers=speakers,
        segments=tuple(segments),
        turns=tuple(turns),
        timings=dict(timings or {}),
        speaker_count=count,
        detected_language=transcript.detected_language,
    )
