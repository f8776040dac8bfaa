"""The pyannote.audio backend: the clear error without it, and the parts of it that need no weights.

pyannote.audio is an optional install (requirements-pyannote.txt, its own torch), so the default test
environment checks what a user without it sees, and the plain functions that map pyannote's progress
hook and output. No pipeline weights exist on the test machines: in an environment with pyannote.audio
the last tests build a pipeline folder of the real shape with random weights (meaningless speakers) and
run it the way a worker would: loaded offline from a local folder, telemetry off, progress reported.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

from services.analysis.diarization.pyannote import PipelineProgress, clip, relabel, require_pyannote, resolve_pipeline
from services.analysis.engines import make_diarizer
from services.config import Settings
from services.errors import EngineNotInstalled, ModelNotAvailable
from services.schema import SpeakerTurn

PYANNOTE_INSTALLED = importlib.util.find_spec("pyannote.audio") is not None


@pytest.mark.skipif(PYANNOTE_INSTALLED, reason="pyannote.audio is installed in this environment")
def test_choosing_pyannote_without_it_says_what_to_install() -> None:
    with pytest.raises(EngineNotInstalled) as caught:
        make_diarizer(Settings(diarization_backend="pyannote"))
    message = str(caught.value)
    assert "pip install -r requirements-pyannote.txt" in message and "DIARIZATION_BACKEND=builtin" in message
    assert isinstance(caught.value, ModelNotAvailable) and not caught.value.retryable


@pytest.mark.skipif(not PYANNOTE_INSTALLED, reason="pyannote.audio is not installed")
def test_with_pyannote_installed_a_missing_pipeline_is_a_clear_error(tmp_path: Path) -> None:
    require_pyannote()
    with pytest.raises(ModelNotAvailable, match=r"PYANNOTE_PIPELINE=.*does not exist"):
        make_diarizer(Settings(diarization_backend="pyannote", pyannote_pipeline=str(tmp_path / "nothing")))


def test_a_pipeline_path_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match=f"PYANNOTE_PIPELINE={tmp_path / 'pipeline'} does not exist"):
        resolve_pipeline(str(tmp_path / "pipeline"))


def test_a_local_pipeline_directory_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("pipeline: {name: pyannote.audio.pipelines.SpeakerDiarization}\n")
    assert resolve_pipeline(str(tmp_path)) == tmp_path
    assert resolve_pipeline(str(tmp_path / "config.yaml")) == tmp_path / "config.yaml"


def test_a_pipeline_name_is_looked_up_in_the_local_cache_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotAvailable) as caught:
        resolve_pipeline("pyannote/speaker-diarization-community-1", token="hf_not_used")
    assert str(tmp_path) in str(caught.value) and "never downloads" in str(caught.value)
    assert list(tmp_path.iterdir()) == []

    snapshot = tmp_path / "models--pyannote--speaker-diarization-community-1" / "snapshots" / ("1" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.yaml").write_text("pipeline: {}\n")
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("1" * 40)
    assert resolve_pipeline("pyannote/speaker-diarization-community-1") == snapshot


def test_pipeline_hook_becomes_one_rising_fraction() -> None:
    seen: list[float] = []
    hook = PipelineProgress(seen.append)
    # The calls pyannote.audio 4's SpeakerDiarization makes, in order.
    hook("segmentation", None, completed=0, total=4)
    hook("segmentation", None, completed=2, total=4)
    hook("segmentation", None, completed=4, total=4)
    hook("segmentation", object())
    hook("speaker_counting", object())
    hook("embeddings", None, total=10, completed=0)
    hook("embeddings", None, total=10, completed=5)
    hook("embeddings", object(), total=10, completed=10)
    hook("embeddings", object())
    hook("some_future_step", object())
    hook("discrete_diarization", object())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[0] == pytest.approx(0.15) and seen[-1] == pytest.approx(1.0)
    assert pytest.approx(0.65) in seen  # half of the embeddings


def test_turns_are_cut_to_the_recording() -> None:
    turns = [SpeakerTurn(-0.1, 2.0, "A"), SpeakerTurn(9.0, 12.5, "B"), SpeakerTurn(11.0, 12.0, "A")]
    assert clip(turns, 11.0) == [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(9.0, 11.0, "B")]


def test_speakers_are_renamed_by_first_appearance() -> None:
    turns = [
        SpeakerTurn(5.0, 7.0, "SPEAKER_00"),
        SpeakerTurn(0.0, 4.0, "SPEAKER_01"),
        SpeakerTurn(8.0, 9.0, "SPEAKER_01"),
    ]
    assert relabel(turns) == [
        SpeakerTurn(0.0, 4.0, "SPEAKER_00"),
        SpeakerTurn(5.0, 7.0, "SPEAKER_01"),
        SpeakerTurn(8.0, 9.0, "SPEAKER_00"),
    ]


# --- with pyannote.audio installed: a real pipeline of random weights ---------------------------------

needs_pyannote = pytest.mark.skipif(not PYANNOTE_INSTALLED, reason="pyannote.audio is not installed")

PIPELINE_CONFIG = """\
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    embedding: $model/embedding
    embedding_batch_size: 32
    embedding_exclude_overlap: true
{plda}    segmentation: $model/segmentation
    segmentation_batch_size: 32
    segmentation_step: 0.5
params:
  clustering: {{Fa: 0.07, Fb: 0.8, threshold: 0.6}}
  segmentation: {{min_duration_off: 0.0}}
"""


def _random_pipeline(root: Path, *, with_plda: bool = True) -> Path:
    """A pipeline folder laid out like pyannote/speaker-diarization-community-1, with random weights."""
    import lightning
    import numpy as np
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    def save(model, specifications, folder: Path) -> None:  # type: ignore[no-untyped-def]
        model.specifications = specifications
        model.setup()
        folder.mkdir(parents=True)
        checkpoint = {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": lightning.__version__,
        }
        model.on_save_checkpoint(checkpoint)
        torch.save(checkpoint, folder / "pytorch_model.bin")

    torch.manual_seed(0)
    frames = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2, permutation_invariant=True,
    )  # fmt: skip
    save(PyanNet(), frames, root / "segmentation")
    save(
        WeSpeakerResNet34(),
        Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0),
        root / "embedding",
    )
    rng = np.random.default_rng(0)
    (root / "plda").mkdir()
    np.savez(
        root / "plda" / "xvec_transform.npz",
        mean1=rng.normal(size=256),
        mean2=rng.normal(size=128),
        lda=rng.normal(size=(256, 128)),
    )
    np.savez(
        root / "plda" / "plda.npz",
        mu=rng.normal(size=128),
        tr=np.eye(128) + 0.01 * rng.normal(size=(128, 128)),
        psi=rng.uniform(0.5, 2.0, 128),
    )
    (root / "config.yaml").write_text(PIPELINE_CONFIG.format(plda="    plda: $model/plda\n" if with_plda else ""))
    return root


@needs_pyannote
def test_a_local_pipeline_runs_offline_with_telemetry_off(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyannote.audio.telemetry.metrics import is_metrics_enabled

    from services.analysis.audio import decode
    from services.analysis.options import SpeakerOptions
    from services.analysis.pipeline import analyze

    monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", "true")  # as pyannote's own default config would have it
    folder = _random_pipeline(tmp_path / "pipeline")
    diarizer = make_diarizer(Settings(diarization_backend="pyannote", pyannote_pipeline=str(folder)))
    audio = decode(data / "jfk.flac")
    seen: list[float] = []
    turns = diarizer.diarize(audio, SpeakerOptions(num_speakers=2), on_progress=seen.append)
    assert not is_metrics_enabled()
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) >= 3
    assert turns and all(0.0 <= t.start < t.end <= len(audio) / 16_000 for t in turns)
    assert {t.speaker for t in turns} <= {"SPEAKER_00", "SPEAKER_01"}

    class Heard:  # a transcriber stand-in: this test is about the diarizer
        name, model_name = "faster-whisper", "tiny.en"

        def transcribe(self, audio, on_progress=None):  # type: ignore[no-untyped-def]
            from services.schema import Segment, Transcript

            return Transcript(
                language="en", segments=(Segment(0.3, 10.5, "And so, my fellow Americans..."),), duration=11.0
            )

    result = analyze(audio, Heard(), diarizer=diarizer)  # type: ignore[arg-type]
    assert result.diarization == "pyannote" and result.to_dict()["diarization"] == "pyannote"


@needs_pyannote
def test_a_pipeline_that_names_models_on_the_hub_is_not_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path
) -> None:
    from huggingface_hub import constants

    from services.analysis.audio import decode
    from services.analysis.options import SpeakerOptions

    looked_up: list[str] = []

    def no_network(host, *_args, **_kwargs):  # type: ignore[no-untyped-def]
        looked_up.append(host)
        raise OSError(f"the test allows no network ({host})")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    # Without a plda entry, pyannote.audio 4 fetches one from pyannote/speaker-diarization-community-1.
    folder = _random_pipeline(tmp_path / "pipeline", with_plda=False)
    diarizer = make_diarizer(Settings(diarization_backend="pyannote", pyannote_pipeline=str(folder)))
    with pytest.raises(ModelNotAvailable, match="never downloads"):
        diarizer.diarize(decode(data / "jfk.flac"), SpeakerOptions())
    assert looked_up == []  # not even tried: the hub is offline while the pipeline loads
