"""The engines the settings select: openai-whisper beside faster-whisper, and where each finds its model.

openai-whisper runs the tiny.en weights faster-whisper ships, converted to its checkpoint format by
``bench.whisper_checkpoint`` (cached under ``.cache/``); the missing-model cases point the engines
at empty folders and read the error a user gets.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bench.whisper_checkpoint import tiny_en_checkpoint
from services.analysis.asr.transcribe import FasterWhisperEngine, WhisperConfig, resolve_model_dir
from services.analysis.asr.transcribe_openai import OpenAIWhisperEngine
from services.analysis.audio import decode
from services.analysis.engines import make_diarizer, make_transcriber
from services.analysis.pipeline import BuiltinDiarizer, analyze
from services.config import Settings
from services.errors import ModelNotAvailable
from services.schema import Transcript
from tests.helpers import normalize

JFK = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


def _openai_settings(**values: Any) -> Settings:
    return Settings(whisper_engine="openai-whisper", **values)


@pytest.fixture(scope="module")
def jfk_audio(data: Path):  # type: ignore[no-untyped-def]
    return decode(data / "jfk.flac")


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """openai-whisper's tiny.en.pt, converted from the bundled CTranslate2 weights (once, then cached)."""
    return tiny_en_checkpoint()


@pytest.fixture(scope="module")
def openai_engine(checkpoint: Path) -> OpenAIWhisperEngine:
    engine = make_transcriber(_openai_settings(whisper_model_path=checkpoint))
    assert isinstance(engine, OpenAIWhisperEngine)
    return engine


@pytest.fixture(scope="module")
def openai_jfk(openai_engine: OpenAIWhisperEngine, jfk_audio):  # type: ignore[no-untyped-def]
    progress: list[float] = []
    return openai_engine.transcribe(jfk_audio, progress.append), progress


def test_openai_whisper_transcribes_jfk_with_word_timestamps(openai_jfk) -> None:  # type: ignore[no-untyped-def]
    transcript, progress = openai_jfk
    assert normalize(transcript.text) == JFK
    assert (transcript.engine, transcript.model, transcript.language) == ("openai-whisper", "tiny.en", "en")
    words = transcript.words
    assert [normalize(w.word) for w in words] == JFK.split()
    assert all(0.0 <= w.start <= w.end <= transcript.duration for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)
    assert words[-1].end > 9.0  # the timestamps follow the speech, not one lump at the start
    assert all(0.0 <= w.probability <= 1.0 for w in words)
    assert progress and progress == sorted(progress) and progress[-1] == pytest.approx(1.0)


def _shape(value: Any) -> Any:
    """The structure of a value: field names and types all the way down, not the values."""
    if dataclasses.is_dataclass(value):
        return (type(value).__name__, {f.name: _shape(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_both_engines_give_the_same_schema(openai_jfk, transcriber: FasterWhisperEngine, jfk_audio) -> None:  # type: ignore[no-untyped-def]
    ours, _ = openai_jfk
    theirs = transcriber.transcribe(jfk_audio)
    assert isinstance(ours, Transcript) and isinstance(theirs, Transcript)
    assert _shape(ours) == _shape(theirs)
    assert normalize(ours.text) == normalize(theirs.text) == JFK  # the same weights hear the same words


def test_result_records_the_engine_and_backend(openai_engine: OpenAIWhisperEngine, transcriber, jfk_audio) -> None:  # type: ignore[no-untyped-def]
    stages: list[str] = []
    ours = analyze(jfk_audio, openai_engine, on_progress=lambda s, _f: stages.append(s), diarizer=BuiltinDiarizer())
    theirs = analyze(jfk_audio, transcriber, diarizer=BuiltinDiarizer())
    assert (ours.engine, ours.model, ours.diarization) == ("openai-whisper", "tiny.en", "builtin")
    assert (theirs.engine, theirs.diarization) == ("faster-whisper", "builtin")
    assert _shape(ours.to_dict()) == _shape(theirs.to_dict())
    assert ours.to_dict()["engine"] == "openai-whisper" and ours.to_dict()["diarization"] == "builtin"
    assert list(dict.fromkeys(stages)) == ["vad", "transcribe", "diarize", "cluster", "merge"]


# --- where the openai-whisper checkpoint is looked for --------------------------------------------


def test_openai_whisper_finds_a_checkpoint_in_its_cache_by_name(tmp_path: Path, checkpoint: Path) -> None:
    (tmp_path / "whisper").mkdir()
    (tmp_path / "whisper" / "tiny.en.pt").symlink_to(checkpoint)
    engine = make_transcriber(_openai_settings(xdg_cache_home=tmp_path))
    assert engine.checkpoint == tmp_path / "whisper" / "tiny.en.pt"  # type: ignore[attr-defined]


def test_openai_whisper_finds_a_checkpoint_in_a_model_folder(tmp_path: Path, checkpoint: Path) -> None:
    (tmp_path / "tiny.en.pt").symlink_to(checkpoint)
    engine = make_transcriber(_openai_settings(whisper_model_path=tmp_path))
    assert engine.checkpoint == tmp_path / "tiny.en.pt"  # type: ignore[attr-defined]


def test_openai_whisper_missing_from_the_cache_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        make_transcriber(_openai_settings(whisper_model_size="small.en", xdg_cache_home=tmp_path))
    message = str(caught.value)
    assert str(tmp_path / "whisper" / "small.en.pt") in message and "never downloads" in message
    assert not (tmp_path / "whisper").exists()  # nothing was downloaded or created


def test_openai_whisper_uses_the_file_names_openai_whisper_downloads(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match=r"large-v3-turbo\.pt"):
        make_transcriber(_openai_settings(whisper_model_size="turbo", xdg_cache_home=tmp_path))


def test_openai_whisper_missing_model_path_names_it() -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        make_transcriber(_openai_settings(whisper_model_path=Path("/nonexistent/tiny.en.pt")))
    assert "WHISPER_MODEL_PATH=/nonexistent/tiny.en.pt" in str(caught.value)


def test_openai_whisper_unreadable_checkpoint_is_a_clear_error(tmp_path: Path, jfk_audio) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "tiny.en.pt"
    broken.write_bytes(b"not a checkpoint")
    engine = make_transcriber(_openai_settings(whisper_model_path=broken))
    with pytest.raises(ModelNotAvailable, match="not a readable openai-whisper checkpoint"):
        engine.transcribe(jfk_audio)


# --- where faster-whisper looks for sizes other than the bundled one -------------------------------


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache of our own, in place of the user's."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_faster_whisper_other_size_missing_from_the_cache_is_a_clear_error(hf_cache: Path) -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        make_transcriber(Settings(whisper_model_size="small.en"))
    message = str(caught.value)
    assert "'small.en'" in message and str(hf_cache) in message and "never downloads" in message
    assert list(hf_cache.iterdir()) == []  # nothing was downloaded


def test_faster_whisper_other_size_loads_from_the_cache(hf_cache: Path) -> None:
    # A cache entry laid out the way huggingface_hub stores Systran/faster-whisper-small.en
    # (holding the bundled tiny.en files: this checks where we look, not what we load).
    bundled = Path(resolve_model_dir("tiny.en"))
    repo = hf_cache / "models--Systran--faster-whisper-small.en"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    for item in bundled.iterdir():
        (snapshot / item.name).symlink_to(item)
    engine = make_transcriber(Settings(whisper_model_size="small.en"))
    assert isinstance(engine, FasterWhisperEngine)
    assert Path(engine._model_dir) == snapshot and engine.model_name == "small.en"


def test_faster_whisper_model_path_wins_and_must_hold_a_model(tmp_path: Path) -> None:
    bundled = resolve_model_dir("tiny.en")
    assert resolve_model_dir("base.en", Path(bundled)) == bundled
    with pytest.raises(ModelNotAvailable, match=f"WHISPER_MODEL_PATH={tmp_path} does not hold"):
        FasterWhisperEngine(WhisperConfig(model_size="base.en", model_path=tmp_path))


# --- settings ------------------------------------------------------------------------------------


def test_engines_are_chosen_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WHISPER_ENGINE", "openai-whisper")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("DIARIZATION_BACKEND", "pyannote")
    monkeypatch.setenv("PYANNOTE_PIPELINE", "/models/pyannote")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    settings = Settings()
    assert (settings.whisper_engine, settings.diarization_backend) == ("openai-whisper", "pyannote")
    assert settings.openai_whisper_cache_dir == tmp_path / "whisper"
    assert settings.pyannote_pipeline == "/models/pyannote"
    assert settings.hf_token is not None and settings.hf_token.get_secret_value() == "hf_secret"
    assert "hf_secret" not in repr(settings)


def test_defaults_run_offline_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WHISPER_ENGINE", "DIARIZATION_BACKEND", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.whisper_engine, settings.diarization_backend) == ("faster-whisper", "builtin")
    assert settings.openai_whisper_cache_dir == Path(os.path.expanduser("~/.cache/whisper"))
    assert isinstance(make_diarizer(settings), BuiltinDiarizer)


def test_an_unknown_engine_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHISPER_ENGINE", "whisperx")
    with pytest.raises(ValidationError, match="faster-whisper"):
        Settings()
