"""The task page as an analyst uses it (Streamlit's AppTest), against the session's real database,
queue and worker: names, corrections, merges, statistics, exports, the moment in the URL, re-runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from streamlit.testing.v1 import AppTest

from services.results.charts import moment_of, timeline_figure
from services.runtime.context import AppContext
from services.schema import AnalysisResult
from tests.helpers import app_test, shown, wait_for
from tests.tasks import copy_task


def _page(task_id: str, **query: str) -> AppTest:
    at = app_test("app_pages/task.py", task=task_id, **query)
    at.run()
    assert not at.exception, at.exception
    return at


def _markdown(at: AppTest) -> str:
    """The page's Markdown as read, and its HTML pieces (the transcript's speaker headers)."""
    return shown("\n".join(m.value for m in at.markdown)) + "\n" + "\n".join(h.proto.body for h in at.get("html"))


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture()
def task(ctx: AppContext, data: Path, analysed: str) -> str:
    """A fresh copy of the analysed sample for each test (they change it)."""
    return copy_task(ctx, data, analysed)


def test_renaming_a_speaker_is_stored_and_shown_everywhere(ctx: AppContext, task: str) -> None:
    at = _page(task)
    assert [t.label for t in at.text_input] == ["SPEAKER_00", "SPEAKER_01"]  # one input per speaker, by id
    at.text_input(key="task_name_SPEAKER_00").input("Diane").run()
    assert not at.exception
    assert ctx.edits.load(task).names() == {"SPEAKER_00": "Diane"}  # in the database, not the session
    assert ctx.repo.require(task).result["speakers"][0]["name"] == "SPEAKER_00"  # the machine's result is untouched

    fresh = _page(task)  # another analyst opening the task
    text = _markdown(fresh)
    assert ">Diane</span>" in text and ">SPEAKER_00</span>" not in text  # transcript
    assert fresh.text_input(key="task_name_SPEAKER_00").value == "Diane"
    timeline, stats_chart = fresh.get("plotly_chart")
    assert '"Diane"' in timeline.proto.spec and '"Diane"' in stats_chart.proto.spec
    stats = fresh.dataframe[0].value
    assert list(stats["Speaker"]) == ["Diane", "SPEAKER_01"]

    fresh.text_input(key="task_name_SPEAKER_00").input("").run()  # an empty name: back to the id
    assert ctx.edits.load(task).names() == {} and ">SPEAKER_00</span>" in _markdown(fresh)


def test_a_corrected_segment_is_marked_survives_a_reload_and_can_be_reverted(ctx: AppContext, task: str) -> None:
    machine = ctx.repo.require(task).result
    original = machine["segments"][1]["text"]
    at = _page(task)
    at.button(key="task_edit_1").click().run()
    assert at.text_area(key="task_edit_text_1").value == original
    at.text_area(key="task_edit_text_1").input("This is Diane in New Jersey, and I'm Sheila in Texas.")
    at.button(key="task_edit_save_1").click().run()
    assert not at.exception
    assert "I'm Sheila in Texas.  :orange-badge[✎ edited]" in _markdown(at)

    reloaded = _page(task)
    assert "I'm Sheila in Texas.  :orange-badge[✎ edited]" in _markdown(reloaded)
    assert ctx.repo.require(task).result == machine  # the original stays as the machine made it
    reloaded.button(key="task_edit_1").click().run()
    assert any(original[:40] in shown(c.value) for c in reloaded.caption)  # the original is shown beside the correction
    reloaded.button(key="task_revert_1").click().run()
    assert not reloaded.exception
    text = _markdown(reloaded)
    assert "edited" not in text and original.split(",")[0] in text
    assert ctx.edits.load(task).segments == ()


def test_a_segment_can_be_given_to_another_speaker(ctx: AppContext, task: str) -> None:
    at = _page(task)
    at.button(key="task_edit_0").click().run()
    at.selectbox(key="task_edit_speaker_0").set_value("SPEAKER_01")
    at.button(key="task_edit_save_0").click().run()
    assert not at.exception
    edited = ctx.edits.load(task).segment(0)
    assert edited is not None and (edited.speaker, edited.text) == ("SPEAKER_01", None)
    headers = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<span")]
    assert ">SPEAKER_01</span>" in headers[0]  # the transcript now opens with SPEAKER_01
    assert "✎ edited" in _markdown(at)


def test_two_speakers_merged_into_one_and_separated_again(ctx: AppContext, task: str) -> None:
    at = _page(task)
    assert _metric(at, "Speakers") == "2"
    at.selectbox(key="task_merge_from").set_value("SPEAKER_01")
    at.selectbox(key="task_merge_into").set_value("SPEAKER_00")
    at.button(key="task_merge_submit").click().run()
    assert not at.exception
    assert _metric(at, "Speakers") == "1"
    assert ctx.edits.load(task).merges() == {"SPEAKER_01": "SPEAKER_00"}
    assert "SPEAKER_01 is merged into **SPEAKER_00**" in _markdown(at)
    assert ">SPEAKER_01</span>" not in _markdown(at)
    at.button(key="task_unmerge_SPEAKER_01").click().run()
    assert _metric(at, "Speakers") == "2" and ctx.edits.load(task).merges() == {}


def test_statistics_and_one_download_per_format(task: str) -> None:
    at = _page(task)
    stats = at.dataframe[0].value
    assert list(stats.columns)[:4] == ["Speaker", "Talk time (s)", "Share (%)", "Turns"]
    assert {"Words/min", "Overlaps", "Interruptions"} <= set(stats.columns)
    assert stats["Share (%)"].sum() == pytest.approx(100.0, abs=0.2)
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Statistics CSV", "TXT", "MD", "SRT", "VTT", "JSON", "RTTM", "CSV", "DOCX"]


def _player(at: AppTest) -> dict[str, Any]:
    """The arguments the page gave the follow-along player (ui.follow_along)."""
    (player,) = at.get("component_instance")
    return cast(dict[str, Any], json.loads(player.proto.json_args))


def test_the_moment_in_the_url_sets_the_player_and_highlights_the_segment(ctx: AppContext, task: str) -> None:
    segments = AnalysisResult.from_dict(ctx.repo.require(task).result).segments
    at = _page(task, t="13")
    player = _player(at)
    assert player["start"] == 13 and not player["autoplay"]  # a link opens at its moment, without playing
    assert [s["text"] for s in player["data"]["segments"]] == [" ".join(s.text.split()) for s in segments]
    highlighted = [shown(m.value) for m in at.markdown if m.value.startswith(":blue-background[")]
    at_13 = next(s for s in segments if s.start <= 13 < s.end)
    assert len(highlighted) == 1 and " ".join(at_13.text.split()[:4]) in highlighted[0]
    at.button(key="task_play_2").click().run()  # ▶ beside a segment
    chosen = segments[2]
    start = chosen.start
    assert float(at.query_params["t"]) == pytest.approx(start, abs=0.01)  # the moment is in the URL
    played = _player(at)
    assert played["start"] == pytest.approx(start, abs=0.01) and played["autoplay"]
    assert played["seek"] == player["seek"] + 1  # a new choice: the player seeks
    highlighted = [shown(m.value) for m in at.markdown if m.value.startswith(":blue-background[")]
    assert len(highlighted) == 1 and " ".join(chosen.text.split()[:4]) in highlighted[0]
    at.button(key="task_play_2").click().run()  # the same ▶ again: plays from there again
    assert _player(at)["seek"] == played["seek"] + 1
    at.text_input(key="task_name_SPEAKER_00").input("Diane").run()  # any other rerun: playback goes on
    renamed = _player(at)
    assert renamed["seek"] == played["seek"] + 1 and renamed["data"]["speakers"][0]["name"] == "Diane"


def test_a_click_on_the_timeline_names_the_moment_of_the_bar(ctx: AppContext, analysed: str) -> None:
    result = AnalysisResult.from_dict(ctx.repo.require(analysed).result)
    figure = timeline_figure(result)
    segments = next(t for t in figure.data if t.name == "SPEAKER_00")
    point = {"curve_number": 1, "point_index": 1, "customdata": list(segments.customdata[1])}
    second_of_speaker_00 = [s for s in result.segments if s.speaker == "SPEAKER_00"][1]
    assert moment_of([point]) == pytest.approx(second_of_speaker_00.start)
    assert moment_of([{"x": 3.0}]) is None


def test_re_running_the_speakers_with_a_real_worker(ctx: AppContext, task: str, worker) -> None:  # type: ignore[no-untyped-def]
    ctx.edits.rename(task, "SPEAKER_00", "Diane")
    at = _page(task)
    at.radio(key="task_rerun_mode").set_value("Exactly").run()
    at.number_input(key="task_rerun_num").set_value(3).run()
    at.button(key="task_rerun_start").click().run()
    warning = at.warning[0].value
    assert "these are cleared: 1 speaker name." in warning  # said before anything happens
    assert ctx.repo.require(task).status == "completed"
    at.button(key="task_rerun_confirm").click().run()
    assert not at.exception
    assert ctx.repo.require(task).rerun == "diarize"
    done = wait_for(lambda: (t := ctx.repo.require(task)).is_final and t, timeout=120, message="the re-run to finish")
    assert (done.status, done.num_speakers, done.options) == ("completed", 3, {"num_speakers": 3}), done.error

    after = _page(task)
    assert _metric(after, "Speakers") == "3"
    assert ctx.edits.load(task).names() == {} and ">Diane</span>" not in _markdown(after)


def test_a_failed_task_runs_again_from_the_page(ctx: AppContext, data: Path, worker) -> None:  # type: ignore[no-untyped-def]
    stored = ctx.storage.save("jfk.flac", (data / "jfk.flac").read_bytes())
    task = ctx.repo.create(filename="jfk.flac", stored_path=stored.key, size_bytes=stored.size_bytes, duration=11.0)
    ctx.repo.claim(task.id, "test", stale_before=task.created_at)
    ctx.repo.fail(task.id, "The worker ran out of memory.")
    at = _page(task.id)
    assert shown(at.error[0].value) == "The worker ran out of memory."
    at.button(key="task_retry").click().run()
    assert not at.exception
    done = wait_for(
        lambda: (t := ctx.repo.require(task.id)).is_final and t, timeout=180, message="the task to run again"
    )
    assert (done.status, done.attempts) == ("completed", 1), done.error
    assert "ask not what your country" in done.result["text"].lower()
