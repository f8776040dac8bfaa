"""pyannote.audio's speaker-diarization pipeline as FastAudio's diarizer (``DIARIZATION_BACKEND=pyannote``).

For users who have the pipeline's weights: ``PYANNOTE_PIPELINE`` names a local pipeline directory (or
its ``config.yaml``), or a pipeline in the local Hugging Face cache (default
``pyannote/speaker-diarization-community-1``, whose folder holds every model it uses). Nothing is
downloaded, and pyannote's usage telemetry is switched off before the pipeline is built.

pyannote.audio needs torchaudio, which has no release for the torch FastAudio installs by default,
so it is optional (``requirements-pyannote.txt``) and imported only here, only when chosen.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from services.analysis.options import SpeakerOptions
from services.errors import EngineNotInstalled, ModelNotAvailable
from services.schema import SAMPLE_RATE, SpeakerTurn, Word

INSTALL_HINT = "pip install -r requirements-pyannote.txt"

# The share of the pipeline's time each of its steps takes (measured shape: embeddings dominate).
STEP_SPANS = {
    "segmentation": (0.0, 0.30),
    "speaker_counting": (0.30, 0.35),
    "embeddings": (0.35, 0.95),
    "discrete_diarization": (0.95, 1.0),
}


@dataclass(frozen=True)
class PyannoteConfig:
    """Which pyannote pipeline to load and where to run it."""

    pipeline: str = "pyannote/speaker-diarization-community-1"
    token: str | None = None
    device: str = "cpu"


def require_pyannote() -> None:
    """Raise a clear error when ``pyannote.audio`` is not installed.

    Raises:
        EngineNotInstalled: ``import pyannote.audio`` would fail.
    """
    try:
        found = importlib.util.find_spec("pyannote.audio") is not None
    except ImportError:  # no ``pyannote`` namespace at all
        found = False
    if not found:
        raise EngineNotInstalled(
            "DIARIZATION_BACKEND=pyannote needs pyannote.audio, which is not installed here. Install it with "
            f"`{INSTALL_HINT}` (it brings the torch and torchaudio it needs, so use an environment of its own; "
            'see the README, "Optional engines"), or set DIARIZATION_BACKEND=builtin.'
        )


def resolve_pipeline(pipeline: str, token: str | None = None) -> Path:
    """The local directory or ``config.yaml`` of the pipeline. Never downloads.

    Args:
        pipeline: ``PYANNOTE_PIPELINE``: a path, or a Hugging Face name looked up in the local cache.
        token: ``HF_TOKEN`` (gated pipelines are cached under the same name; the token is not sent anywhere).

    Raises:
        ModelNotAvailable: no such directory or file, or the name is not in the local cache.
    """
    path = Path(pipeline).expanduser()
    if path.exists():
        return path
    if path.is_absolute() or pipeline.startswith((".", "~")) or pipeline.count("/") != 1:
        raise ModelNotAvailable(
            f"PYANNOTE_PIPELINE={pipeline} does not exist. Point it at a pyannote pipeline directory (the folder "
            "with its config.yaml) or name a pipeline in the local Hugging Face cache."
        )
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(pipeline, local_files_only=True, token=token))
    except Exception as exc:  # huggingface_hub raises several types for "not in the cache"
        raise ModelNotAvailable(
            f"The pyannote pipeline {pipeline!r} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}). "
            "FastAudio never downloads models while it runs: download it once there (it may need HF_TOKEN and "
            "accepting its conditions on the hub), or set PYANNOTE_PIPELINE to a local pipeline directory."
        ) from exc


@contextmanager
def _hub_offline() -> Iterator[None]:
    """While open, huggingface_hub serves only what is in its cache and never goes online.

    A pipeline's ``config.yaml`` may name models on the hub (pyannote.audio 4 adds a PLDA from
    ``pyannote/speaker-diarization-community-1`` to configs that name none); those must come from the cache.
    """
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved


@lru_cache(maxsize=1)
def _load_pipeline(location: str, token: str | None, device: str) -> Any:  # a pyannote.audio Pipeline
    try:
        with warnings.catch_warnings():
            # pyannote warns when torchcodec cannot find FFmpeg; we hand it decoded audio, never files.
            warnings.filterwarnings("ignore", message=r"\s*torchcodec is not installed correctly")
            import torch
            from pyannote.audio import Pipeline
            from pyannote.audio.telemetry import set_telemetry_metrics
    except ImportError as exc:  # installed, but not importable (e.g. a torch/torchaudio mismatch)
        raise EngineNotInstalled(
            f"pyannote.audio is installed but cannot be imported ({exc}). Reinstall it with `{INSTALL_HINT}`."
        ) from exc
    set_telemetry_metrics(False)
    try:
        with _hub_offline():
            pipeline = Pipeline.from_pretrained(location, token=token)
    except Exception as exc:  # a model file missing, a config for another version...
        raise ModelNotAvailable(
            f"The pyannote pipeline at {location} could not be loaded ({type(exc).__name__}: {exc}). Every model its "
            "config.yaml names must be in that folder or in the Hugging Face cache: FastAudio never downloads "
            "models while it runs."
        ) from exc
    if pipeline is None:
        raise ModelNotAvailable(f"The pyannote pipeline at {location} could not be loaded.")
    return pipeline.to(torch.device(device))


class PipelineProgress:
    """Turns pyannote's progress hook into one 0..1 fraction for ``on_progress`` (never going back).

    pyannote calls ``hook(step, artefact, file=..., completed=..., total=...)``: with ``completed`` and
    ``total`` while a long step runs, and once more with the step's result when it ends.
    """

    def __init__(self, on_progress: Callable[[float], None] | None) -> None:
        self.on_progress = on_progress
        self.fraction = 0.0

    def __call__(
        self, step: str, _artefact: Any = None, *, completed: int | None = None, total: int | None = None, **_: Any
    ) -> None:
        if step not in STEP_SPANS:
            return
        start, end = STEP_SPANS[step]
        share = 1.0 if completed is None or not total else min(1.0, completed / total)
        fraction = start + (end - start) * share
        if fraction > self.fraction:
            self.fraction = fraction
            if self.on_progress:
                self.on_progress(fraction)


def clip(turns: Sequence[SpeakerTurn], duration: float) -> list[SpeakerTurn]:
    """Turns cut to ``[0, duration]`` (the pipeline's last window reaches past the end of the audio)."""
    cut = (SpeakerTurn(max(0.0, t.start), min(duration, t.end), t.speaker) for t in turns)
    return [t for t in cut if t.end > t.start]


def relabel(turns: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
    """Turns in time order with speakers renamed ``SPEAKER_00``, ``SPEAKER_01``... by first appearance."""
    ordered = sorted(turns, key=lambda t: (t.start, t.end))
    names: dict[str, str] = {}
    for turn in ordered:
        names.setdefault(turn.speaker, f"SPEAKER_{len(names):02d}")
    return [SpeakerTurn(t.start, t.end, names[t.speaker]) for t in ordered]


class PyannoteDiarizer:
    """pyannote.audio's speaker-diarization pipeline, loaded once per process."""

    name = "pyannote"

    def __init__(self, config: PyannoteConfig = PyannoteConfig()) -> None:
        require_pyannote()
        self.config = config
        self.location = resolve_pipeline(config.pipeline, config.token)

    @property
    def pipeline(self) -> Any:
        return _load_pipeline(str(self.location), self.config.token, self.config.device)

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
        """pyannote runs its own segmentation on the mono audio (``speech_probs``/``channels`` unused)."""
        import torch

        pipeline = self.pipeline
        waveform = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).unsqueeze(0)
        speakers = {
            key: value
            for key, value in (
                ("num_speakers", options.num_speakers),
                ("min_speakers", options.min_speakers),
                ("max_speakers", options.max_speakers),
            )
            if value is not None
        }
        output = pipeline(
            {"waveform": waveform, "sample_rate": SAMPLE_RATE, "uri": "recording"},
            hook=PipelineProgress(on_progress),
            **speakers,
        )
        # pyannote.audio 4 returns a DiarizeOutput; older pipelines (and legacy mode) an Annotation.
        annotation = getattr(output, "speaker_diarization", output)
        turns = [
            SpeakerTurn(float(segment.start), float(segment.end), str(label))
            for segment, _track, label in annotation.itertracks(yield_label=True)
        ]
        return relabel(clip(turns, len(audio) / SAMPLE_RATE))
