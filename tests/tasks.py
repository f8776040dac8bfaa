"""Completed tasks made the way a worker makes them, for tests of what comes after an analysis."""

from __future__ import annotations

from pathlib import Path

from services.jobs.runner import Outcome, run_analysis
from services.runtime.context import AppContext


def analysed_task(ctx: AppContext, data: Path, transcriber, name: str = "sample.wav") -> str:  # type: ignore[no-untyped-def]
    """A task analysed in-process by the worker's own job (so its artifacts are stored too)."""
    stored = ctx.storage.save(name, (data / "sample.wav").read_bytes())
    task = ctx.repo.create(filename=name, stored_path=stored.key, size_bytes=stored.size_bytes, duration=30.0)
    run = run_analysis(
        task.id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: transcriber, artifacts=ctx.artifacts
    )
    assert run.outcome is Outcome.COMPLETED, run
    return task.id


def copy_task(ctx: AppContext, data: Path, source: str, name: str = "copy.wav") -> str:
    """Another completed task with the result and artifacts of ``source`` and its own stored recording."""
    original = ctx.repo.require(source)
    stored = ctx.storage.save(name, (data / "sample.wav").read_bytes())
    task = ctx.repo.create(filename=name, stored_path=stored.key, size_bytes=stored.size_bytes, duration=30.0)
    ctx.repo.claim(task.id, "test", stale_before=task.created_at)
    files = ctx.artifacts.load(source)
    ctx.repo.complete(
        task.id, original.result or {}, also=lambda session: ctx.artifacts.replace_in(session, task.id, files)
    )
    return task.id


RECURRING_SPEAKER = "SPEAKER_01"
"""The speaker of dev00.wav the voice tests name, and expect to be recognised in dev01.wav: the person who
speaks second. Her print scores 0.95-0.96 against her turns in dev01; the first speaker's scores 0.934-0.94,
right at ``SUGGEST_THRESHOLD``, where the CPU's numerics decide (it was suggested on one machine, not on
another). A test of the flow needs the recognition that holds on any machine; bench.voices measures how often
it holds."""


def analysed_with_voices(ctx: AppContext, data: Path, transcriber, source: str, voices=None) -> str:  # type: ignore[no-untyped-def]
    """``source`` analysed in-process as a worker does it, names and voice library included (``ctx.voices``)."""
    stored = ctx.storage.save(source, (data / source).read_bytes())
    task = ctx.repo.create(filename=source, stored_path=stored.key, size_bytes=stored.size_bytes, duration=30.0)
    run = run_analysis(
        task.id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: transcriber, artifacts=ctx.artifacts,
        edits=ctx.edits, voices=ctx.voices if voices is None else voices,
    )  # fmt: skip
    assert run.outcome is Outcome.COMPLETED, run
    return task.id
