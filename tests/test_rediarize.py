"""Re-running the speaker separation on a real analysis of sample.wav, without transcribing again.

The analysis runs once, through the worker's own job (``run_analysis``), so its artifacts are
stored the way a worker stores them: in the session's real SQLite database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.analysis.artifacts import EMBEDDINGS, TRANSCRIPT, Artifacts
from services.analysis.options import AnalysisOptions
from services.analysis.trim import analyze_trimmed_file
from services.errors import RerunNotPossible
from services.jobs.rediarize import NO_EMBEDDINGS, rediarize, run_rediarization
from services.jobs.reruns import request_rediarization, retry_failed
from services.jobs.runner import Outcome
from services.results.edits import SegmentEdit
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from tests.tasks import copy_task


def _without_timings(result: AnalysisResult) -> dict:  # type: ignore[type-arg]
    data = result.to_dict()
    data.pop("timings")
    return data


def test_the_analysis_stores_its_transcript_and_voice_embeddings(ctx: AppContext, analysed: str) -> None:
    assert ctx.artifacts.names(analysed) == {TRANSCRIPT, EMBEDDINGS}
    stored = Artifacts.from_files(ctx.artifacts.load(analysed))
    machine = AnalysisResult.from_dict(ctx.repo.require(analysed).result)
    assert [w.word for w in stored.transcript.words] == [w.word for s in machine.segments for w in s.words]
    assert len(stored.transcript.segments) < len(machine.segments) or stored.transcript.segments[0].speaker is None
    emb = stored.embeddings
    assert emb is not None and emb.vectors.shape == (len(emb.windows), 256) and emb.duration == pytest.approx(30.0)


def test_reclustering_with_the_same_options_reproduces_the_analysis(ctx: AppContext, analysed: str) -> None:
    stored = Artifacts.from_files(ctx.artifacts.load(analysed))
    machine = AnalysisResult.from_dict(ctx.repo.require(analysed).result)
    again = rediarize(stored, AnalysisOptions())
    assert _without_timings(again) == _without_timings(machine)
    assert again.timings["rediarize"] < 1.0


def test_two_to_three_speakers_without_the_audio_or_the_recogniser(ctx: AppContext, data: Path, analysed: str) -> None:
    task_id = copy_task(ctx, data, analysed)
    before = AnalysisResult.from_dict(ctx.repo.require(task_id).result)
    assert len(before.speakers) == 2
    # Corrections made on the two-speaker result: a name, a merge, a speaker change and two text fixes.
    ctx.edits.rename(task_id, "SPEAKER_00", "Diane")
    ctx.edits.merge(task_id, "SPEAKER_01", "SPEAKER_00", known=["SPEAKER_00", "SPEAKER_01"])
    ctx.edits.save_segment(task_id, 1, SegmentEdit(1, text="This is Diane in New Jersey (corrected)."))
    ctx.edits.save_segment(task_id, 0, SegmentEdit(0, text="Hello? Hello!", speaker="SPEAKER_01"))

    # Proof that nothing is transcribed or embedded again: the recording is gone, and the re-run
    # cannot reach a recogniser (the job takes none; a worker's would raise).
    ctx.storage.delete(ctx.repo.require(task_id).recording.stored_path)
    rerun = request_rediarization(
        task_id, AnalysisOptions(num_speakers=3), repo=ctx.repo, artifacts=ctx.artifacts, enqueue=lambda *_: None
    )
    assert (rerun.task.status, rerun.task.rerun, rerun.task.job, rerun.task.attempts) == (
        "queued",
        "diarize",
        "rediarize",
        0,
    )
    run = run_rediarization(task_id, repo=ctx.repo, artifacts=ctx.artifacts, edits=ctx.edits)

    assert run.outcome is Outcome.COMPLETED
    task = ctx.repo.require(task_id)
    after = AnalysisResult.from_dict(task.result)
    assert (task.status, task.stage, task.num_speakers, task.rerun, task.options) == (
        "completed",
        "done",
        3,
        None,
        {"num_speakers": 3},
    )
    assert [s.id for s in after.speakers] == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    assert after.text == before.text  # the same words, now split among three speakers
    assert [w for s in after.segments for w in s.words] == [w for s in before.segments for w in s.words]
    assert [e for e, _w, _d in ctx.repo.events(task_id)][-3:] == ["requeued", "claimed", "completed"]

    # Names, merges and speaker changes no longer apply; the text fix of an unchanged segment does.
    kept = ctx.edits.load(task_id)
    assert kept.labels == () and all(e.speaker is None for e in kept.segments)
    # A text fix survives exactly where its segment came back unchanged (same span and words), at the
    # segment's new index; the fixes of segments the new speakers split up are dropped.
    fixes = {0: "Hello? Hello!", 1: "This is Diane in New Jersey (corrected)."}
    expected = tuple(
        SegmentEdit(i, text=fixes[old])
        for old in sorted(fixes)
        for i, seg in enumerate(after.segments)
        if (seg.start, seg.end, seg.words)
        == (before.segments[old].start, before.segments[old].end, before.segments[old].words)
    )
    assert tuple(SegmentEdit(e.index, text=e.text) for e in kept.segments) == tuple(
        sorted(expected, key=lambda e: e.index)
    )
    assert ctx.artifacts.names(task_id) == {TRANSCRIPT, EMBEDDINGS}  # still there for the next re-run


def test_a_trimmed_recording_is_reclustered_on_the_original_time_line(data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    kept: list[Artifacts] = []
    result = analyze_trimmed_file(data / "sample.wav", transcriber, on_artifacts=kept.append)
    artifacts = kept[0]
    assert artifacts.time_base is not None and artifacts.time_base.spans[0][0] > 5.0  # 6 s of silence were cut
    round_trip = Artifacts.from_files(artifacts.to_files())
    assert round_trip.time_base == artifacts.time_base
    assert _without_timings(rediarize(round_trip, AnalysisOptions())) == _without_timings(result)
    three = rediarize(round_trip, AnalysisOptions(num_speakers=3))
    assert len(three.speakers) == 3 and three.duration == pytest.approx(30.0)
    assert min(s.start for s in three.segments) > 6.0  # times are the original recording's


def test_what_cannot_be_re_run_says_why(ctx: AppContext, analysed: str) -> None:
    bare = ctx.repo.create(filename="old.wav", stored_path=None, size_bytes=1, duration=30.0)
    with pytest.raises(RerunNotPossible, match="this task is queued"):
        request_rediarization(
            bare.id, AnalysisOptions(), repo=ctx.repo, artifacts=ctx.artifacts, enqueue=lambda *_: None
        )
    ctx.repo.claim(bare.id, "test", stale_before=bare.created_at)
    ctx.repo.complete(bare.id, ctx.repo.require(analysed).result)  # a result from before artifacts were kept
    with pytest.raises(RerunNotPossible) as refused:
        request_rediarization(
            bare.id, AnalysisOptions(), repo=ctx.repo, artifacts=ctx.artifacts, enqueue=lambda *_: None
        )
    assert str(refused.value) == NO_EMBEDDINGS
    with pytest.raises(RerunNotPossible, match="Only a failed task"):
        retry_failed(bare.id, repo=ctx.repo, storage=ctx.storage, artifacts=ctx.artifacts, enqueue=lambda *_: None)
    assert Artifacts.from_files({TRANSCRIPT: b'{"language": "en", "segments": [], "duration": 1}'}).embeddings is None
    with pytest.raises(RerunNotPossible, match="transcript was not saved"):
        Artifacts.from_files({})


def test_a_failed_task_runs_again_from_zero_attempts(ctx: AppContext, data: Path) -> None:
    stored = ctx.storage.save("retry.wav", (data / "jfk.flac").read_bytes())
    task = ctx.repo.create(filename="retry.wav", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0)
    for attempt in range(3):
        ctx.repo.claim(task.id, f"w{attempt}", stale_before=task.created_at)
        ctx.repo.release(task.id, f"w{attempt}", "MemoryError")
    ctx.repo.claim(task.id, "w3", stale_before=task.created_at)
    ctx.repo.fail(task.id, "Gave up after 4 attempts.")
    sent: list[tuple[str, str]] = []
    rerun = retry_failed(
        task.id, repo=ctx.repo, storage=ctx.storage, artifacts=ctx.artifacts, enqueue=lambda *a: sent.append(a)
    )
    assert sent == [(task.id, "analyze")]
    assert rerun.enqueued and (rerun.task.status, rerun.task.attempts, rerun.task.error) == ("queued", 0, None)
    assert rerun.task.rerun is None

    # a failed task whose recording is gone cannot be analysed again
    ctx.repo.claim(task.id, "w4", stale_before=task.created_at)
    ctx.repo.fail(task.id, "broken")
    ctx.storage.delete(stored.key)
    with pytest.raises(RerunNotPossible, match="no longer stored"):
        retry_failed(
            task.id, repo=ctx.repo, storage=ctx.storage, artifacts=ctx.artifacts, enqueue=lambda *a: sent.append(a)
        )


def test_with_the_queue_down_the_rerun_waits_in_the_table(
    ctx: AppContext, data: Path, analysed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.config import Settings
    from services.jobs.submissions import QUEUE_DOWN_MESSAGE
    from services.runtime.broker import free_port
    from worker.celery_app import TASK_FOR_KIND, enqueue, make_app

    task_id = copy_task(ctx, data, analysed)
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")  # Celery reads it first
    down = make_app(Settings())
    rerun = request_rediarization(
        task_id, AnalysisOptions(num_speakers=3), repo=ctx.repo, artifacts=ctx.artifacts,
        enqueue=lambda tid, job: enqueue(tid, TASK_FOR_KIND[job], via=down),
    )  # fmt: skip
    assert not rerun.enqueued and rerun.message == QUEUE_DOWN_MESSAGE
    waiting = ctx.repo.queued_not_sent_since(ctx.repo.require(task_id).created_at.replace(year=2100))
    assert [t.job for t in waiting if t.id == task_id] == ["rediarize"]  # what the reaper will send
