"""The voice library on the pages: the task page's suggestion, the Voices page, History by voice.

Real analyses of dev00.wav and dev01.wav (one meeting, the same two people) through the worker's job;
the pages run in Streamlit's AppTest on the session's database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.jobs.voice_naming import name_speaker
from services.runtime.context import AppContext
from services.store.task_query import TaskFilter
from tests.helpers import app_test, shown
from tests.tasks import RECURRING_SPEAKER, analysed_with_voices


@pytest.fixture()
def recognised(ctx: AppContext, data: Path, transcriber) -> tuple[str, str, str, str]:  # type: ignore[no-untyped-def]
    """dev00's RECURRING_SPEAKER named Alice (remembered), then dev01 analysed: (first, later, speaker, voice)."""
    for voice in ctx.voices.list_voices():
        ctx.voices.delete(voice.voice_id)
    first = analysed_with_voices(ctx, data, transcriber, "dev00.wav")
    named = name_speaker(
        first, RECURRING_SPEAKER, "Alice", remember=True, repo=ctx.repo, edits=ctx.edits, voices=ctx.voices
    )
    assert named.voice_id
    later = analysed_with_voices(ctx, data, transcriber, "dev01.wav")
    (speaker,) = ctx.voices.links(later)
    return first, later, speaker, named.voice_id


def _markdown(at) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(shown(m.value) for m in at.markdown)


def test_the_task_page_suggests_the_voice_and_confirm_names_the_speaker(
    ctx: AppContext, recognised: tuple[str, str, str, str]
) -> None:
    _first, later, speaker, alice = recognised
    at = app_test("app_pages/task.py", task=later).run()
    assert not at.exception
    assert "**Alice?** (similar voice, similarity 0.9" in _markdown(at)
    assert at.checkbox(key=f"task_remember_{speaker}").value is True  # "Remember this voice" is on by default
    at.button(key=f"task_voice_yes_{speaker}").click().run()
    assert not at.exception
    assert ctx.edits.load(later).names() == {speaker: "Alice"}
    link = ctx.voices.links(later)[speaker]
    assert (link.voice_id, link.state) == (alice, "confirmed")
    assert at.text_input(key=f"task_name_{speaker}").value == "Alice"
    assert "Alice?" not in _markdown(at)


def test_not_her_is_remembered_on_the_task_page(ctx: AppContext, recognised: tuple[str, str, str, str]) -> None:
    _first, later, speaker, _alice = recognised
    at = app_test("app_pages/task.py", task=later).run()
    button = at.button(key=f"task_voice_no_{speaker}")
    assert button.label == "Not Alice"
    button.click().run()
    assert not at.exception
    assert ctx.voices.links(later) == {} and ctx.edits.load(later).names() == {}
    assert "Alice?" not in _markdown(app_test("app_pages/task.py", task=later).run())


def test_the_voices_page_lists_renames_and_deletes(ctx: AppContext, recognised: tuple[str, str, str, str]) -> None:
    first, _later, _speaker, alice = recognised
    at = app_test("app_pages/voices.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Name"]) == ["Alice"] and list(table["Recordings"]) == [1]
    assert '"talk time (min)"' in at.get("plotly_chart")[0].proto.spec and first in at.get("plotly_chart")[0].proto.spec
    assert list(at.dataframe[1].value["Open"]) == [f"/task?task={first}"]
    assert any(shown(c.value).startswith("Sample: dev00.wav, ") for c in at.caption)  # a sample to listen to
    assert len(at.get("audio")) == 1

    at.text_input(key=f"voices_rename_{alice}").input("Alice <b>Baker</b>").run()
    at.button(key="voices_rename").click().run()
    assert not at.exception and ctx.voices.require(alice).name == "Alice <b>Baker</b>"
    assert "<b>" not in at.get("plotly_chart")[0].proto.spec  # typed text is escaped in the chart

    at.button(key="voices_delete").click().run()  # not ticked: nothing happens
    assert ctx.voices.list_voices()
    at.checkbox(key="voices_sure").check().run()
    at.button(key="voices_delete").click().run()
    assert not at.exception and ctx.voices.list_voices() == []


def test_history_filters_by_voice_and_search_finds_only_what_they_said(
    ctx: AppContext, recognised: tuple[str, str, str, str]
) -> None:
    first, later, speaker, alice = recognised
    heard = {t.id for t in ctx.repo.list_tasks(filters=TaskFilter(voice_id=alice), limit=500)}
    assert heard == {first, later}  # confirmed in one, suggested in the other
    assert ctx.repo.count(filters=TaskFilter(voice_id=alice)) == 2

    everyone = ctx.repo.search("the", filters=TaskFilter(voice_id=None))
    hers = ctx.repo.search("the", filters=TaskFilter(voice_id=alice), limit=500)
    assert 0 < hers.total < everyone.total
    assert {h.task.id for h in hers.hits} <= {first, later}
    assert {(h.task.id, h.speaker) for h in hers.hits} <= {(first, "Alice"), (later, speaker)}

    at = app_test("app_pages/history.py", voice=alice).run()
    assert not at.exception and at.selectbox(key="history_voice").value == alice
