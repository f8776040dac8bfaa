"""Speaker names given at upload: parsed as hostile input, applied by first appearance when the real
analysis completes (API with the session's worker, the CLI, the worker's job in-process), shown like
typed names, and given again by a re-run of the speaker separation unless the analyst renamed since."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.analysis.options import AnalysisOptions
from services.errors import InvalidOptions
from services.jobs.rediarize import run_rediarization
from services.jobs.reruns import request_rediarization
from services.jobs.runner import Outcome, run_analysis
from services.results.edits import apply_edits
from services.results.exports import render
from services.results.names import (
    MAX_FIELD_LENGTH,
    OPTION_KEY,
    first_appearance,
    names_by_appearance,
    names_option,
    parse_speaker_names,
    stored_names,
)
from services.results.stats import conversation_stats
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from tests.helpers import ROOT, api_client, app_test, child_env, final_task
from ui.rerun import names_given_again, what_resets


def _first_heard(result: dict) -> list[str]:  # type: ignore[type-arg]
    """Speaker ids by their earliest turn, read straight from the stored JSON (independent of the service)."""
    starts: dict[str, float] = {}
    for turn in result["turns"]:
        starts[turn["speaker"]] = min(turn["start"], starts.get(turn["speaker"], turn["start"]))
    return sorted(starts, key=lambda s: starts[s])


def test_the_field_is_parsed_as_hostile_input() -> None:
    assert parse_speaker_names(" Alice ,  Bob  Smith ,") == ("Alice", "Bob Smith")
    assert parse_speaker_names("Alice,, Carol") == ("Alice", None, "Carol")  # an empty place: that speaker unnamed
    assert parse_speaker_names("") == () and parse_speaker_names(None) == () and parse_speaker_names(" , ,") == ()
    assert parse_speaker_names("A\x00li\nce\u2028x, <b>Bob</b>") == ("A li ce x", "<b>Bob</b>")  # kept as text
    with pytest.raises(InvalidOptions, match="at most 80 characters"):
        parse_speaker_names("Alice, " + "x" * 81)
    with pytest.raises(InvalidOptions, match="at most 20 names"):
        parse_speaker_names(",".join(f"P{i}" for i in range(21)))
    with pytest.raises(InvalidOptions, match=f"at most {MAX_FIELD_LENGTH} characters"):
        parse_speaker_names("a" * (MAX_FIELD_LENGTH + 1))
    assert stored_names({OPTION_KEY: ["Alice", None, 7, "B" * 500]}) == ("Alice", None, None, "B" * 80)
    assert stored_names({OPTION_KEY: "Alice"}) == () and stored_names(None) == ()


def _analyse(ctx: AppContext, data: Path, transcriber, names: tuple[str | None, ...]) -> str:  # type: ignore[no-untyped-def]
    """sample.wav analysed by the worker's own job, with ``names`` given at upload."""
    stored = ctx.storage.save("call.wav", (data / "sample.wav").read_bytes())
    task = ctx.repo.create(
        filename="call.wav", stored_path=stored.key, size_bytes=stored.size_bytes, duration=30.0,
        options=names_option(names),
    )  # fmt: skip
    run = run_analysis(
        task.id, repo=ctx.repo, storage=ctx.storage, transcriber=lambda: transcriber, artifacts=ctx.artifacts,
        edits=ctx.edits,
    )  # fmt: skip
    assert run.outcome is Outcome.COMPLETED, run
    return task.id


def _rediarize(ctx: AppContext, task_id: str, speakers: int) -> AnalysisResult:
    request_rediarization(
        task_id, AnalysisOptions(num_speakers=speakers), repo=ctx.repo, artifacts=ctx.artifacts,
        enqueue=lambda *_: None,
    )  # fmt: skip
    run = run_rediarization(task_id, repo=ctx.repo, artifacts=ctx.artifacts, edits=ctx.edits)
    assert run.outcome is Outcome.COMPLETED
    return AnalysisResult.from_dict(ctx.repo.require(task_id).result)


def test_names_are_the_analysts_names_and_a_re_run_gives_them_again(ctx: AppContext, data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    task_id = _analyse(ctx, data, transcriber, ("Alice", "Bob", "Carol"))
    task = ctx.repo.require(task_id)
    first, second = _first_heard(task.result)
    assert ctx.edits.load(task_id).names() == {first: "Alice", second: "Bob"}  # Carol: no third speaker
    assert {s["name"] for s in task.result["speakers"]} == {"SPEAKER_00", "SPEAKER_01"}  # the machine's, untouched
    edited = apply_edits(AnalysisResult.from_dict(task.result), ctx.edits.load(task_id))
    assert [s.name for s in edited.speakers if s.id == first] == ["Alice"]
    assert {row.name for row in conversation_stats(edited).speakers} == {"Alice", "Bob"}
    assert {line.split()[7] for line in render(edited, "rttm").splitlines()} == {"Alice", "Bob"}  # type: ignore[union-attr]
    hits = ctx.repo.search("New Jersey", limit=200).hits  # search sees the names in the same transaction
    assert {h.speaker for h in hits if h.task.id == task_id} <= {"Alice", "Bob"}
    assert [h for h in hits if h.task.id == task_id]

    # Separated again into three: the names follow first appearance among the new speakers.
    three = _rediarize(ctx, task_id, 3)
    assert stored_names(ctx.repo.require(task_id).options) == ("Alice", "Bob", "Carol")  # kept through the re-run
    heard = first_appearance(three)
    assert len(heard) == 3 and heard == _first_heard(three.to_dict())
    assert ctx.edits.load(task_id).names() == dict(zip(heard, ("Alice", "Bob", "Carol"), strict=True))

    # Once the analyst renames, a re-run leaves naming to them.
    ctx.edits.rename(task_id, heard[1], "Robert")
    _rediarize(ctx, task_id, 2)
    assert ctx.edits.load(task_id).names() == {}


def test_missing_names_leave_speaker_ids(ctx: AppContext, data: Path, analysed: str) -> None:
    result = AnalysisResult.from_dict(ctx.repo.require(analysed).result)
    first, second = _first_heard(result.to_dict())
    assert names_by_appearance(result, ("Alice",)) == {first: "Alice"}
    assert names_by_appearance(result, (None, "Bob")) == {second: "Bob"}
    assert names_by_appearance(result, (first,)) == {}  # a speaker's own id is no name


def test_a_name_given_at_upload_shows_on_the_page_and_can_be_changed(ctx: AppContext, data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    task_id = _analyse(ctx, data, transcriber, ("<i>Alice</i> [x](http://evil)",))
    first = _first_heard(ctx.repo.require(task_id).result)[0]
    at = app_test("app_pages/task.py", task=task_id)
    at.run()
    assert not at.exception, at.exception
    assert at.text_input(key=f"task_name_{first}").value == "<i>Alice</i> [x](http://evil)"
    headers = "\n".join(h.proto.body for h in at.get("html"))
    assert "&lt;i&gt;Alice&lt;/i&gt; [x](http://evil)" in headers and "<i>" not in headers  # text, not markup
    at.text_input(key=f"task_name_{first}").input("Alicia").run()
    assert ctx.edits.load(task_id).names() == {first: "Alicia"}


@pytest.fixture(scope="module")
def api(environment: dict[str, str], worker, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with api_client(child_env(**environment), tmp_path_factory.mktemp("api") / "api.log", timeout=30) as (client, _):
        yield client


def test_the_api_names_speakers_in_order_of_first_appearance(api: httpx.Client, data: Path) -> None:
    with open(data / "sample.wav", "rb") as f:
        answer = api.post(
            "/analyze", files={"file": ("sample.wav", f, "audio/wav")}, data={"speaker_names": "Alice, Bob, Carol"}
        )
    assert answer.status_code == 202, answer.text
    task = final_task(api, answer.json()["poll_url"])
    assert task["status"] == "completed", task["error"]
    first, second = _first_heard(task["result"])
    names = {s["id"]: s["name"] for s in task["edited_result"]["speakers"]}
    assert names == {first: "Alice", second: "Bob"}
    assert {s["name"] for s in task["result"]["speakers"]} == {"SPEAKER_00", "SPEAKER_01"}
    txt = api.get(f"/api/tasks/{task['task_id']}/export", params={"format": "txt"}).text
    assert "Alice: " in txt and "Bob: " in txt and "SPEAKER_0" not in txt

    with open(data / "jfk.flac", "rb") as f:
        refused = api.post("/analyze", files={"file": ("jfk.flac", f)}, data={"speaker_names": "Alice, " + "x" * 81})
    assert refused.status_code == 422 and "at most 80 characters" in refused.text


def test_the_cli_names_the_speakers(worker, data: Path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "cli", "submit", str(data / "jfk.flac"), "--speaker-names", "John F. Kennedy, Nobody",
         "--wait", "--format", "txt"],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[0:00] John F. Kennedy: And so") and "Nobody" not in done.stdout


def test_the_re_run_warning_says_the_upload_names_come_back(ctx: AppContext, data: Path, transcriber) -> None:  # type: ignore[no-untyped-def]
    task_id = _analyse(ctx, data, transcriber, ("Alice", "Bob"))
    task, edits = ctx.repo.require(task_id), ctx.edits.load(task_id)
    assert names_given_again(task, edits)
    warning = what_resets(edits, names_again=True)
    assert "speaker name" not in warning and "names given at upload are given again" in warning
    ctx.edits.rename(task_id, _first_heard(task.result)[0], "Alicia")
    renamed = ctx.edits.load(task_id)
    assert not names_given_again(task, renamed)
    assert "2 speaker names" in what_resets(renamed, names_again=names_given_again(task, renamed))


def test_the_cli_analyze_names_and_marks_in_process(data: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "analyze", str(data / "jfk.flac"), "--speaker-names", "JFK", "--mark-unsure"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("[0:00] JFK: ") and "?]" in done.stdout  # tiny.en is unsure of some words here
    assert done.stdout.replace("[", "").replace("?]", "").startswith("0:00] JFK: And so my fellow Americans")
    refused = subprocess.run(
        [sys.executable, "-m", "cli", "analyze", str(data / "jfk.flac"), "--speaker-names", "x" * 81],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2 and "at most 80 characters" in refused.stderr
