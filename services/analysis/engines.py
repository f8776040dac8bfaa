"""Build the speech recogniser and the diarizer the settings ask for.

``WHISPER_ENGINE`` picks faster-whisper (the default, offline everywhere) or openai-whisper;
``DIARIZATION_BACKEND`` picks the built-in diarizer (the default) or pyannote.audio. The optional
engines live in their own modules, imported only when chosen, so the default install never needs them.
A model or package that is missing raises ``ModelNotAvailable`` (or its ``EngineNotInstalled``) here,
when the worker builds the engine for a task, so that task fails with the reason.
"""

from __future__ import annotations

from services.analysis.asr.transcribe import (
    CPU_BATCH_SIZE,
    FasterWhisperEngine,
    Transcriber,
    WhisperConfig,
    pick_device,
)
from services.analysis.diarization.phone_windows import PHONE_WINDOWS
from services.analysis.pipeline import BuiltinDiarizer, Diarizer
from services.config import Settings


def make_transcriber(settings: Settings) -> Transcriber:
    """The Whisper engine configured by ``WHISPER_*``, ``ENABLE_GPU`` and ``CPU_THREADS``.

    Raises:
        ModelNotAvailable: the model (or, for openai-whisper, the package) is not on this machine.
    """
    if settings.whisper_engine == "openai-whisper":
        from services.analysis.asr.transcribe_openai import (
            OpenAIWhisperConfig,
            OpenAIWhisperEngine,
            require_openai_whisper,
        )

        require_openai_whisper()
        return OpenAIWhisperEngine(
            OpenAIWhisperConfig(
                model_size=settings.whisper_model_size,
                model_path=settings.whisper_model_path,
                cache_dir=settings.openai_whisper_cache_dir,
                device=_torch_device(settings.enable_gpu),
                cpu_threads=settings.cpu_threads,
                beam_size=settings.whisper_beam_size,
            )
        )
    device, compute_type = pick_device(settings.enable_gpu)
    return FasterWhisperEngine(
        WhisperConfig(
            model_size=settings.whisper_model_size,
            model_path=settings.whisper_model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=settings.cpu_threads,
            beam_size=settings.whisper_beam_size,
            mode=settings.whisper_mode,
            batch_size=settings.whisper_batch_size or (16 if device == "cuda" else CPU_BATCH_SIZE),
            models_dir=settings.models_dir,
        )
    )


def make_diarizer(settings: Settings) -> Diarizer:
    """The diarization backend configured by ``DIARIZATION_BACKEND`` (and ``PYANNOTE_PIPELINE``, ``HF_TOKEN``).

    The built-in one uses the ONNX speaker model at ``SPEAKER_EMBEDDING_MODEL`` when that is set.

    Raises:
        ModelNotAvailable: pyannote.audio or its pipeline is not on this machine.
        SpeakerModelError: the ONNX speaker model is missing or cannot be used.
    """
    if settings.diarization_backend == "pyannote":
        from services.analysis.diarization.pyannote import PyannoteConfig, PyannoteDiarizer

        token = settings.hf_token.get_secret_value() if settings.hf_token else None
        return PyannoteDiarizer(
            PyannoteConfig(pipeline=settings.pyannote_pipeline, token=token, device=_torch_device(settings.enable_gpu))
        )
    phone = PHONE_WINDOWS if settings.voice_library else 0  # telephone prints only serve the voice library
    if settings.speaker_embedding_model is not None:
        from services.analysis.diarization.onnx_embedder import OnnxEmbedder

        model = OnnxEmbedder(settings.speaker_embedding_model, window=settings.speaker_embedding_window)
        return BuiltinDiarizer(embedder=model, phone_windows=phone)
    return BuiltinDiarizer(phone_windows=phone)


def _torch_device(enable_gpu: bool) -> str:
    """``cuda`` when asked for and present, else ``cpu`` (for the PyTorch engines)."""
    if enable_gpu:
        import torch

        if torch.cuda.is_available():
            return "cuda"
    return "cpu"
