"""Build the speech recogniser and the diarizer the settings ask for."""

from __future__ import annotations

from services.config import Settings
from services.pipeline import BuiltinDiarizer, Diarizer
from services.transcribe import FasterWhisperEngine, Transcriber, WhisperConfig, pick_device


def make_transcriber(settings: Settings) -> Transcriber:
    """The Whisper engine configured by ``WHISPER_*`` and ``ENABLE_GPU``."""
    device, compute_type = pick_device(settings.enable_gpu)
    return FasterWhisperEngine(
        WhisperConfig(
            model_size=settings.whisper_model_size,
            model_path=settings.whisper_model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=settings.cpu_threads,
            beam_size=settings.whisper_beam_size,
        )
    )


def make_diarizer(settings: Settings) -> Diarizer:
    """The diarization backend configured by the settings (the built-in one for now)."""
    return BuiltinDiarizer()
