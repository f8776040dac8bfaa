"""openai-whisper as FastAudio's speech recogniser (``WHISPER_ENGINE=openai-whisper``).

The reference PyTorch implementation of Whisper: slower than faster-whisper on a CPU, but it runs
the ``.pt`` checkpoints people already have. It never downloads: the checkpoint comes from
``WHISPER_MODEL_PATH`` (a file, or a folder holding ``<name>.pt``) or from openai-whisper's own cache
(``~/.cache/whisper/<name>.pt``, where ``whisper.load_model(name)`` would have saved it), and a missing
one is a clear error naming where we looked. The library itself is optional
(``requirements-openai-whisper.txt``) and imported only here, only when this engine is chosen.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from services.analysis.asr.chunks import Region
from services.analysis.asr.transcribe import BUNDLED_MODEL, ProgressFn
from services.errors import EngineNotInstalled, ModelNotAvailable
from services.schema import SAMPLE_RATE, Segment, Transcript, Word

INSTALL_HINT = "pip install -r requirements-openai-whisper.txt"


@dataclass(frozen=True)
class OpenAIWhisperConfig:
    """How to find and run an openai-whisper checkpoint."""

    model_size: str = BUNDLED_MODEL
    model_path: Path | None = None
    cache_dir: Path = Path("~/.cache/whisper")
    device: str = "cpu"
    cpu_threads: int = 0
    beam_size: int = 5


def require_openai_whisper() -> None:
    """Raise a clear error when the ``openai-whisper`` package is not installed.

    Raises:
        EngineNotInstalled: ``import whisper`` would fail.
    """
    if importlib.util.find_spec("whisper") is None:
        raise EngineNotInstalled(
            "WHISPER_ENGINE=openai-whisper needs the openai-whisper package, which is not installed here. "
            f"Install it with `{INSTALL_HINT}`, or set WHISPER_ENGINE=faster-whisper."
        )


def checkpoint_file_name(model_size: str) -> str:
    """The file name openai-whisper gives a model it downloads (``turbo`` is ``large-v3-turbo.pt``)."""
    urls: dict[str, str] = getattr(importlib.import_module("whisper"), "_MODELS", {})
    return os.path.basename(urls[model_size]) if model_size in urls else f"{model_size}.pt"


def resolve_checkpoint(model_size: str, model_path: Path | None, cache_dir: Path) -> Path:
    """The local ``.pt`` checkpoint to load. Never downloads.

    Args:
        model_size: the model's name (``tiny.en``, ``large-v3``, ``turbo``...).
        model_path: ``WHISPER_MODEL_PATH``: a checkpoint file, or a folder holding one by name.
        cache_dir: openai-whisper's download folder, used when ``model_path`` is not set.

    Raises:
        ModelNotAvailable: there is no such checkpoint on this machine.
    """
    name = checkpoint_file_name(model_size)
    if model_path is not None:
        path = Path(model_path).expanduser()
        candidate = path / name if path.is_dir() else path
        if candidate.is_file():
            return candidate
        raise ModelNotAvailable(
            f"WHISPER_MODEL_PATH={model_path} holds no openai-whisper checkpoint: {candidate} does not exist. "
            "Point WHISPER_MODEL_PATH at a .pt file, or at the folder that holds "
            f"{name}. FastAudio never downloads models while it runs."
        )
    candidate = Path(cache_dir).expanduser() / name
    if candidate.is_file():
        return candidate
    raise ModelNotAvailable(
        f"The openai-whisper model {model_size!r} is not on this machine: {candidate} does not exist. "
        "FastAudio never downloads models while it runs: copy the checkpoint there, or set "
        "WHISPER_MODEL_PATH to a .pt file."
    )


@lru_cache(maxsize=2)
def _load_model(checkpoint: str, model_size: str, device: str) -> Any:  # a whisper.model.Whisper
    """The checkpoint as a ``whisper.model.Whisper`` with alignment heads for word timestamps."""
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    try:
        # What whisper.load_model does, reading the file once so its alignment heads come along.
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model = Whisper(ModelDimensions(**saved["dims"]))
        model.load_state_dict(saved["model_state_dict"])
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise ModelNotAvailable(
            f"{checkpoint} is not a readable openai-whisper checkpoint ({type(exc).__name__}: {exc})."
        ) from exc
    # Checkpoints made from other formats carry their heads; OpenAI's own files rely on the name.
    heads = saved.get("alignment_heads") or getattr(whisper, "_ALIGNMENT_HEADS", {}).get(model_size)
    if heads is not None:
        model.set_alignment_heads(heads)
    return model.to(device).eval()


class _ProgressBar:
    """Stands in for the tqdm bar ``whisper.transcribe`` keeps: passes on frames done / frames total."""

    def __init__(self, report: ProgressFn, total: int = 0, **_ignored: Any) -> None:
        self.report, self.total, self.done = report, total, 0

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.total > 0:
            self.report(min(1.0, self.done / self.total))


_HOOK_LOCK = threading.Lock()


@contextmanager
def _progress_hook(on_progress: ProgressFn | None) -> Iterator[None]:
    """While open, whisper's own progress bar reports to ``on_progress`` instead of a terminal.

    openai-whisper takes no progress callback; it advances a ``tqdm`` bar by the frames it has
    decoded, 30 s window by window. We swap in a bar that forwards that fraction (one transcription
    at a time per process, which is how workers run anyway).
    """
    module: Any = importlib.import_module("whisper.transcribe")  # the module, not the function of that name
    with _HOOK_LOCK:
        original = module.tqdm
        module.tqdm = SimpleNamespace(tqdm=lambda *a, **kw: _ProgressBar(on_progress or (lambda _f: None), **kw))
        try:
            yield
        finally:
            module.tqdm = original


class OpenAIWhisperEngine:
    """openai-whisper (PyTorch; fp32 on the CPU) with word timestamps."""

    name = "openai-whisper"

    def __init__(self, config: OpenAIWhisperConfig = OpenAIWhisperConfig()) -> None:
        require_openai_whisper()
        self.config = config
        self.model_name = config.model_size
        self.checkpoint = resolve_checkpoint(config.model_size, config.model_path, config.cache_dir)

    @property
    def model(self) -> Any:
        return _load_model(str(self.checkpoint), self.config.model_size, self.config.device)

    def transcribe(
        self,
        audio: np.ndarray,
        on_progress: ProgressFn | None = None,
        *,
        speech: Sequence[Region] | None = None,
        language: str | None = None,
    ) -> Transcript:
        """Transcribe the whole recording (openai-whisper finds speech itself; ``speech`` is not used).

        ``language`` None: openai-whisper detects one language for the whole recording.
        """
        import torch
        import whisper

        model = self.model
        torch.set_num_threads(self.config.cpu_threads or os.cpu_count() or 1)
        with _progress_hook(on_progress):
            out = whisper.transcribe(
                model,
                np.ascontiguousarray(audio, dtype=np.float32),
                verbose=None,  # print nothing; progress goes through the hook
                fp16=self.config.device != "cpu",
                beam_size=self.config.beam_size,
                word_timestamps=True,
                condition_on_previous_text=True,
                language=language,
            )
        segments = tuple(
            _segment(piece, str(out["language"])) for piece in out["segments"] if str(piece["text"]).strip()
        )
        return Transcript(
            language=str(out["language"]),
            segments=segments,
            duration=len(audio) / SAMPLE_RATE,
            model=self.model_name,
            engine=self.name,
        )


def _segment(piece: dict[str, Any], language: str) -> Segment:
    words = tuple(
        Word(
            start=float(w["start"]),
            end=float(w["end"]),
            word=str(w["word"]).strip(),
            probability=float(w["probability"]),
        )
        for w in piece.get("words") or ()
        if str(w["word"]).strip()
    )
    text = str(piece["text"]).strip()
    return Segment(start=float(piece["start"]), end=float(piece["end"]), text=text, words=words, language=language)
