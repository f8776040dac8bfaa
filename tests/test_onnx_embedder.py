"""SPEAKER_EMBEDDING_MODEL: an ONNX speaker model in the WeSpeaker / 3D-Speaker contract, on real audio.

The models are built by the tests (``tests.onnx_models``): real ONNX files that onnxruntime loads and
runs; accuracy figures of real models are for users to reproduce (``bench.accuracy --embedding-model``).
The filterbank is checked against a slow reference written from Kaldi's definition, frame by frame.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import numpy as np
import pytest

from bench.der import score
from services.analysis.diarization.diarize import SpeakerOptions, assign_turns, embed_speech
from services.analysis.diarization.fbank import fbank, frame_count
from services.analysis.diarization.onnx_embedder import OnnxEmbedder
from services.analysis.engines import make_diarizer
from services.analysis.pipeline import BuiltinDiarizer
from services.config import Settings
from services.errors import SpeakerModelError
from services.jobs.runner import Outcome, run_analysis
from services.runtime.context import AppContext
from tests.helpers import child_env, decode_reference, start_worker, stop_process, wait_for
from tests.onnx_models import pooling_model


def kaldi_fbank_reference(wave: np.ndarray, bins: int = 80, hamming: bool = False) -> np.ndarray:
    """Kaldi's fbank with its defaults, one frame and one filter at a time (slow, for checking only)."""
    x = [float(v) * 32768.0 for v in wave]
    length, shift, nfft, rate = 400, 160, 512, 16000.0

    def mel(f: float) -> float:
        return 1127.0 * math.log(1.0 + f / 700.0)

    lo, hi = mel(20.0), mel(rate / 2)
    delta = (hi - lo) / (bins + 1)
    banks = []
    for b in range(bins):
        left, centre, right = lo + b * delta, lo + (b + 1) * delta, lo + (b + 2) * delta
        row = []
        for i in range(nfft // 2 + 1):
            m = mel(i * rate / nfft)
            if i < nfft // 2 and left < m < right:
                row.append((m - left) / (centre - left) if m <= centre else (right - m) / (right - centre))
            else:
                row.append(0.0)
        banks.append(row)
    out = []
    for f in range(1 + (len(x) - length) // shift):
        frame = x[f * shift : f * shift + length]
        mean = sum(frame) / length
        frame = [v - mean for v in frame]
        frame = [frame[0] - 0.97 * frame[0]] + [frame[i] - 0.97 * frame[i - 1] for i in range(1, length)]
        if hamming:
            frame = [v * (0.54 - 0.46 * math.cos(2 * math.pi * i / (length - 1))) for i, v in enumerate(frame)]
        else:
            frame = [v * (0.5 - 0.5 * math.cos(2 * math.pi * i / (length - 1))) ** 0.85 for i, v in enumerate(frame)]
        spectrum = np.fft.rfft(np.array(frame + [0.0] * (nfft - length)))
        power = [abs(c) ** 2 for c in spectrum]
        eps = float(np.finfo(np.float32).eps)
        out.append([math.log(max(sum(w * p for w, p in zip(row, power, strict=False)), eps)) for row in banks])
    feats = np.array(out)
    return feats - feats.mean(axis=0)


def test_the_filterbank_is_kaldis() -> None:
    audio = decode_reference("sample.wav")
    for piece in (audio[16000:24000], audio[16000:24000] * 10 ** (-40 / 20)):  # half a second, and 40 dB quieter
        ours, reference = fbank(piece), kaldi_fbank_reference(piece)
        assert ours.shape == reference.shape == (frame_count(8000), 80) == (48, 80)
        assert np.abs(ours - reference).max() < 1e-4  # measured: 2.3e-7
    hamming = fbank(audio[16000:24000], window="hamming")
    assert np.abs(hamming - kaldi_fbank_reference(audio[16000:24000], hamming=True)).max() < 1e-4
    assert fbank(audio[:399]).shape == (0, 80) and fbank(audio[:400]).shape == (1, 80)
    assert np.abs(fbank(audio[:16000]).mean(axis=0)).max() < 1e-4  # mean-normalised per utterance


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pooling_model(tmp_path_factory.mktemp("onnx") / "speaker.onnx")


def _reference_speaker(windows: np.ndarray, data: Path) -> np.ndarray:
    """The sample.rttm speaker who talks most of each window (None when nobody clearly does)."""
    from pyannote.core import Segment
    from pyannote.database.util import load_rttm

    reference = load_rttm(str(data / "sample.rttm"))["sample"]
    who = []
    for start, end in windows:
        crop = reference.crop(Segment(start, end))
        talk = {label: crop.label_duration(label) for label in crop.labels()}
        best = max(talk, key=talk.get) if talk else None  # type: ignore[arg-type]
        who.append(best if best and talk[best] > 0.75 * (end - start) else None)
    return np.array(who, dtype=object)


def test_an_onnx_model_built_by_the_test_loads_and_embeds_real_speech(model: Path, data: Path) -> None:
    embedder = OnnxEmbedder(model)
    assert (embedder.input_name, embedder.output_name, embedder.bands) == ("fbank_frames", "speaker_vector", 80)
    audio = decode_reference("sample.wav")
    emb = embed_speech(audio, embedder=embedder)
    assert emb.vectors.shape == (len(emb.windows), 32) and len(emb.windows) > 40
    assert np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-5)

    # Two voices of the call get different vectors: each is closer to itself than to the other.
    who = _reference_speaker(emb.windows, data)
    a, b = emb.vectors[who == "speaker90"], emb.vectors[who == "speaker91"]
    assert len(a) > 10 and len(b) > 10
    within, across = min((a @ a.T).mean(), (b @ b.T).mean()), (a @ b.T).mean()
    assert within > across
    one = score(data / "sample.rttm", "sample", assign_turns(emb, SpeakerOptions(num_speakers=1)))
    two = score(data / "sample.rttm", "sample", assign_turns(emb, SpeakerOptions(num_speakers=2)))
    assert two < one - 0.1, (one, two)  # the vectors separate the two people

    # Names and sizes come from the file: other names, 64 bands, a batch of one at a time.
    other = OnnxEmbedder(pooling_model(model.with_name("other.onnx"), dimension=48, bands=64, batch=1,
                                       input_name="feats", output_name="embs"))  # fmt: skip
    assert (other.input_name, other.output_name, other.bands, other.batch) == ("feats", "embs", 64, 1)
    assert other.embed(audio, emb.windows[:5], emb.speech).shape == (5, 48)


def test_the_setting_picks_the_onnx_model(model: Path, tmp_path: Path) -> None:
    diarizer = make_diarizer(Settings(speaker_embedding_model=model))
    assert isinstance(diarizer, BuiltinDiarizer) and isinstance(diarizer.embedder, OnnxEmbedder)
    assert diarizer.name == "builtin (onnx:speaker.onnx)"
    assert make_diarizer(Settings()).embedder is None  # resemblyzer by default
    assert (
        make_diarizer(Settings(speaker_embedding_model=model, speaker_embedding_window="hamming")).embedder.window
        == "hamming"
    )

    missing = tmp_path / "models" / "wespeaker_resnet34.onnx"
    with pytest.raises(SpeakerModelError, match=f"{missing} .*does not exist.*nothing is downloaded"):
        make_diarizer(Settings(speaker_embedding_model=missing))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07not a protobuf at all" * 50)
    with pytest.raises(SpeakerModelError, match=f"{broken} .*cannot be loaded as an ONNX model"):
        OnnxEmbedder(broken)
    frames_out = tmp_path / "per-frame.onnx"
    _per_frame_model(frames_out)
    with pytest.raises(SpeakerModelError, match=f"{frames_out} .*one vector per item"):
        OnnxEmbedder(frames_out).embed(decode_reference("jfk.flac"), np.array([[0.5, 2.1], [3.0, 4.6]]), [(0.0, 11.0)])


def _per_frame_model(path: Path) -> None:
    """A model that breaks the contract: it returns a vector per frame, [frames, 80], not per item."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[0], keepdims=0)],
        "per_frame",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "frames", 80])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["frames", 80])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def _task(ctx: AppContext, data: Path) -> str:
    stored = ctx.storage.save("jfk.flac", (data / "jfk.flac").read_bytes())
    return ctx.repo.create(filename="jfk.flac", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0).id


def test_a_real_task_runs_with_the_onnx_model_and_keeps_its_vectors(
    ctx: AppContext, data: Path, model: Path, transcriber
) -> None:  # type: ignore[no-untyped-def]
    task_id = _task(ctx, data)
    settings = Settings(speaker_embedding_model=model)
    run = run_analysis(task_id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: transcriber,
                       diarizer=lambda: make_diarizer(settings), artifacts=ctx.artifacts)  # fmt: skip
    assert run.outcome is Outcome.COMPLETED, run
    result = ctx.repo.require(task_id).result
    # the test's model is no real voice model, so its count means nothing (the count leans toward
    # two when one and two are close, issue 10): the task completes with speakers and words
    assert result["diarization"] == "builtin (onnx:speaker.onnx)" and 1 <= len(result["speakers"]) <= 2
    assert all(s["speaker"] for s in result["segments"])
    from services.analysis.artifacts import Artifacts

    assert Artifacts.from_files(ctx.artifacts.load(task_id)).embeddings.vectors.shape[1] == 32  # re-runs use them


def test_a_missing_model_fails_the_task_once_naming_the_path(
    ctx: AppContext, data: Path, tmp_path: Path, transcriber
) -> None:  # type: ignore[no-untyped-def]
    task_id = _task(ctx, data)
    missing = tmp_path / "campplus.onnx"
    run = run_analysis(task_id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: transcriber,
                       diarizer=lambda: make_diarizer(Settings(speaker_embedding_model=missing)))  # fmt: skip
    task = ctx.repo.require(task_id)
    assert run.outcome is Outcome.FAILED and (task.status, task.attempts) == ("failed", 1)
    assert str(missing) in task.error and "SPEAKER_EMBEDDING_MODEL" in task.error


def test_a_worker_with_a_malformed_model_fails_the_task_once(
    ctx: AppContext, data: Path, environment: dict[str, str], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from services.analysis.options import AnalysisOptions
    from services.jobs.submissions import submit
    from worker.celery_app import ANALYZE_TASK, app

    broken = tmp_path / "wespeaker resnet34.onnx"  # a space in the path, as users' folders have
    broken.write_bytes(b"<html>404 Not Found</html>")  # what a failed download leaves
    queue = f"{environment['CELERY_QUEUE']}-{uuid.uuid4().hex[:6]}"
    env = {**environment, "SPEAKER_EMBEDDING_MODEL": str(broken), "CELERY_QUEUE": queue}
    proc = start_worker(child_env(**env), tmp_path / "worker.log")
    try:
        with open(data / "jfk.flac", "rb") as f:
            submission = submit(
                filename="jfk.flac", data=f, options=AnalysisOptions(), repo=ctx.repo, storage=ctx.storage,
                settings=ctx.settings, enqueue=lambda task_id: app.send_task(ANALYZE_TASK, args=[task_id], queue=queue),
            )  # fmt: skip
        task = wait_for(
            lambda: (t := ctx.repo.require(submission.task.id)).is_final and t, timeout=120, message="a final state"
        )
        assert (task.status, task.attempts) == ("failed", 1), task
        assert str(broken) in task.error and "cannot be loaded as an ONNX model" in task.error
        assert proc.poll() is None  # the worker stays up
    finally:
        stop_process(proc)
