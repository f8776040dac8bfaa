"""History's queries on a real SQLite file and a real PostgreSQL database: search, filters, sorting,
paging, cancelling, and what the reaper and the queue estimate read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from services.errors import InvalidOptions, TaskAlreadyFinished, TaskNotFound
from services.jobs.cancellation import cancel_task
from services.jobs.reaper import reap
from services.results.edits import SegmentEdit
from services.store.db import alembic_config, create_db_engine, migrate
from services.store.edits_repo import EditsRepo
from services.store.models import utcnow
from services.store.task_query import TaskFilter
from services.store.tasks_repo import TaskRepo
from services.store.transcript_index import snippet_pieces
from tests.postgres import temporary_database

LONG_AGO = utcnow() - timedelta(days=1)
JFK = "And so, my fellow Americans, ask not what your country can do for you,"
JFK_2 = "ask what you can do for your country."
JERSEY = "I grew up in New Jersey, near the shore."


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with temporary_database() as url:
        migrate(url)
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TaskRepo]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'history.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    yield TaskRepo(engine)
    with engine.begin() as conn:  # the PostgreSQL database is shared by the module's tests
        conn.execute(text("DELETE FROM processing_tasks"))
        conn.execute(text("DELETE FROM recordings"))
    engine.dispose()


def _result(*texts: str, start: float = 0.0, speakers: int = 1) -> dict[str, Any]:
    segments, t = [], start
    for i, line in enumerate(texts):
        segments.append(
            {"start": t, "end": t + 4.0, "speaker": f"SPEAKER_{i % speakers:02d}", "text": line, "words": []}
        )
        t += 5.0
    return {
        "duration": t,
        "speakers": [{"id": f"SPEAKER_{i:02d}", "name": f"SPEAKER_{i:02d}", "talk_time": 1.0} for i in range(speakers)],
        "segments": segments,
        "text": " ".join(texts),
    }


def _task(repo: TaskRepo, name: str, *, duration: float | None = 30.0, result: dict[str, Any] | None = None) -> str:
    task_id = repo.create(filename=name, stored_path=None, size_bytes=1, duration=duration).id
    if result is not None:
        if duration is not None:  # a completed analysis's duration is the decoded length (TaskRepo.complete)
            result = {**result, "duration": duration}
        repo.claim(task_id, "w", stale_before=LONG_AGO)
        assert repo.complete(task_id, result)
    return task_id


def _set_created(repo: TaskRepo, task_id: str, when: datetime) -> None:
    with repo.engine.begin() as conn:
        conn.execute(text("UPDATE processing_tasks SET created_at = :t WHERE id = :id"), {"t": when, "id": task_id})


# --- search ---------------------------------------------------------------------------------------


def test_search_finds_a_phrase_and_returns_the_task_and_segment_start(repo: TaskRepo) -> None:
    jfk = _task(repo, "jfk.flac", result=_result("Good evening.", JFK, JFK_2, start=2.0))
    jersey = _task(repo, "interview.wav", result=_result("Hello.", JERSEY, speakers=2))
    _task(repo, "waiting.wav")  # queued: nothing to find

    page = repo.search('"ask not what your country"')
    assert page.total == 1
    hit = page.hits[0]
    assert (hit.task.id, hit.start, hit.end, hit.speaker) == (jfk, 7.0, 11.0, "SPEAKER_00")
    assert hit.task.recording.filename == "jfk.flac" and hit.task.result is None  # no payload in a list
    marked = [piece for piece, matched in snippet_pieces(hit.snippet) if matched]
    assert " ".join(marked).lower().split() == ["ask", "not", "what", "your", "country"]  # as one span or word by word
    assert "fellow Americans" in "".join(piece for piece, _ in snippet_pieces(hit.snippet))

    # words in another order are not that phrase; as separate words they all must be in one segment
    assert repo.search('"country your"').total == 0
    assert [h.start for h in repo.search("country ask").hits] == [7.0, 12.0]
    # a bare word is a prefix, case and punctuation do not matter, and the hit says where it is
    assert [(h.task.id, h.start) for h in repo.search("JERS").hits] == [(jersey, 5.0)]
    assert repo.search("new jersey shore").hits[0].task.id == jersey
    assert repo.search('"new jersey" nowhere').total == 0


def test_search_takes_any_input_without_syntax_errors(repo: TaskRepo) -> None:
    _task(repo, "jfk.flac", result=_result(JFK))
    for query in [
        '"',
        "AND OR NOT",
        "ask*",
        "ask:",
        "(ask",
        "-ask",
        "ask -- not",
        "'; DROP TABLE x; --",
        "\x00ask",
        "NEAR(ask not)",
    ]:
        page = repo.search(query)
        assert page.total in (0, 1), query
    assert repo.search("   ").total == 0 and repo.search("").hits == ()
    assert repo.search("ask*").total == 1


def test_search_pages_filters_and_sorts_by_task(repo: TaskRepo) -> None:
    older = _task(repo, "older.wav", duration=600.0, result=_result(*(["the country calls"] * 3), speakers=2))
    newer = _task(repo, "newer.wav", duration=60.0, result=_result("my country", "our country"))
    _set_created(repo, older, utcnow() - timedelta(days=3))

    page = repo.search("country", limit=3)
    assert page.total == 5 and not page.capped
    assert [(h.task.id, h.start) for h in page.hits] == [(newer, 0.0), (newer, 5.0), (older, 0.0)]
    assert [(h.task.id, h.start) for h in repo.search("country", limit=3, offset=3).hits] == [
        (older, 5.0),
        (older, 10.0),
    ]
    assert repo.search("country", sort="oldest", limit=1).hits[0].task.id == older
    assert repo.search("country", sort="shortest", limit=1).hits[0].task.id == newer
    assert {h.task.id for h in repo.search("country", filters=TaskFilter(min_speakers=2)).hits} == {older}
    assert {h.task.id for h in repo.search("country", filters=TaskFilter(max_duration=120)).hits} == {newer}
    recent = TaskFilter(created_from=utcnow() - timedelta(days=1))
    assert repo.search("country", filters=recent).total == 2


def test_the_index_follows_edits_and_deletion(repo: TaskRepo) -> None:
    task_id = _task(repo, "call.wav", result=_result(JFK, JERSEY, speakers=2))
    edits = EditsRepo(repo.engine)
    assert repo.search("jersey").total == 1 and repo.search("jersey").hits[0].speaker == "SPEAKER_01"

    edits.save_segment(task_id, 1, SegmentEdit(1, text="I grew up in Newark."))  # an analyst's correction
    assert repo.search("jersey").total == 0
    assert repo.search("newark").hits[0].task.id == task_id
    edits.rename(task_id, "SPEAKER_01", "Diane")  # hits name the speaker as the task page does
    assert repo.search("newark").hits[0].speaker == "Diane"
    edits.merge(task_id, "SPEAKER_00", "SPEAKER_01", known=["SPEAKER_00", "SPEAKER_01"])
    assert repo.search("country").hits[0].speaker == "Diane"
    edits.revert_segment(task_id, 1)
    assert repo.search("jersey").total == 1 and repo.search("newark").total == 0

    assert repo.delete(task_id) is not None
    assert repo.search("newark").total == 0
    with repo.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transcript_segments")).scalar() == 0


def test_a_late_or_foreign_completion_indexes_nothing(repo: TaskRepo) -> None:
    task_id = _task(repo, "call.wav")
    repo.claim(task_id, "a", stale_before=LONG_AGO)
    assert not repo.complete(task_id, _result(JERSEY), worker="someone-else")
    assert repo.search("jersey").total == 0
    assert repo.complete(task_id, _result(JERSEY), worker="a")
    assert repo.search("jersey").total == 1


# --- filters, sorting, paging ----------------------------------------------------------------------


@pytest.fixture()
def library(repo: TaskRepo) -> dict[str, str]:
    """Six tasks with known names, durations, speakers, statuses and upload days."""
    now = utcnow()
    spec = [  # name, duration, speakers (None: not completed), status, days ago
        ("Board meeting.m4a", 3600.0, 4, "completed", 0),
        ("alpha.wav", 30.0, 1, "completed", 1),
        ("Call 2.mp3", 300.0, 2, "completed", 2),
        ("broken.wav", None, None, "failed", 3),
        ("later.wav", 90.0, None, "queued", 4),
        ("stopped.wav", 600.0, None, "cancelled", 5),
    ]
    ids = {}
    for name, duration, speakers, status, days in spec:
        if speakers is not None:
            task_id = _task(repo, name, duration=duration, result=_result("hello", speakers=speakers))
        else:
            task_id = _task(repo, name, duration=duration)
            if status == "failed":
                repo.fail(task_id, "not audio")
            if status == "cancelled":
                repo.cancel(task_id)
        _set_created(repo, task_id, now - timedelta(days=days, minutes=1))
        ids[name] = task_id
    return ids


def _names(repo: TaskRepo, **kwargs: Any) -> list[str]:
    return [t.recording.filename for t in repo.list_tasks(**kwargs)]


def test_sorting(repo: TaskRepo, library: dict[str, str]) -> None:
    newest = ["Board meeting.m4a", "alpha.wav", "Call 2.mp3", "broken.wav", "later.wav", "stopped.wav"]
    assert _names(repo) == newest == _names(repo, sort="newest")
    assert _names(repo, sort="oldest") == newest[::-1] == _names(repo, oldest_first=True)
    assert _names(repo, sort="longest") == [
        "Board meeting.m4a",
        "stopped.wav",
        "Call 2.mp3",
        "later.wav",
        "alpha.wav",
        "broken.wav",
    ]
    assert _names(repo, sort="shortest") == [
        "alpha.wav",
        "later.wav",
        "Call 2.mp3",
        "stopped.wav",
        "Board meeting.m4a",
        "broken.wav",
    ]
    assert _names(repo, sort="name") == [
        "alpha.wav",
        "Board meeting.m4a",
        "broken.wav",
        "Call 2.mp3",
        "later.wav",
        "stopped.wav",
    ]
    with pytest.raises(InvalidOptions, match="Unknown sort"):
        repo.list_tasks(sort="loudest")


def test_filters_and_counts(repo: TaskRepo, library: dict[str, str]) -> None:
    def both(f: TaskFilter, **kwargs: Any) -> tuple[list[str], int]:
        return _names(repo, filters=f, **kwargs), repo.count(filters=f)

    assert both(TaskFilter(statuses=("failed", "cancelled"))) == (["broken.wav", "stopped.wav"], 2)
    assert both(TaskFilter(min_speakers=2)) == (["Board meeting.m4a", "Call 2.mp3"], 2)
    assert both(TaskFilter(min_speakers=1, max_speakers=2)) == (["alpha.wav", "Call 2.mp3"], 2)
    assert both(TaskFilter(min_duration=60, max_duration=600)) == (["Call 2.mp3", "later.wav", "stopped.wav"], 3)
    now = utcnow()
    window = TaskFilter(created_from=now - timedelta(days=3), created_before=now - timedelta(days=1))
    assert both(window) == (["alpha.wav", "Call 2.mp3"], 2)  # uploaded 1 and 2 days ago (and a minute)
    combined = TaskFilter(statuses=("completed",), max_duration=400, created_from=now - timedelta(days=2, hours=1))
    assert both(combined, sort="name") == (["alpha.wav", "Call 2.mp3"], 2)
    assert repo.count() == 6 and repo.count("cancelled") == 1
    with pytest.raises(InvalidOptions, match="speakers range is empty"):
        TaskFilter(min_speakers=3, max_speakers=2)
    with pytest.raises(InvalidOptions, match="timezone"):
        TaskFilter(created_from=datetime(2026, 1, 1)).clauses()


def test_paging_is_stable_and_complete(repo: TaskRepo, library: dict[str, str]) -> None:
    for sort in ("newest", "oldest", "longest", "shortest", "name"):
        pages = [_names(repo, sort=sort, limit=4, offset=offset) for offset in (0, 4)]
        assert [len(p) for p in pages] == [4, 2]
        assert pages[0] + pages[1] == _names(repo, sort=sort), sort


# --- cancelling ---------------------------------------------------------------------------------


def test_a_cancelled_queued_task_is_never_claimed(repo: TaskRepo) -> None:
    task_id = _task(repo, "later.wav")
    assert cancel_task(task_id, repo=repo).status == "cancelled"
    assert repo.claim(task_id, "w", stale_before=utcnow() + timedelta(hours=1)) is None
    task = repo.require(task_id)
    assert (task.status, task.attempts, task.is_final) == ("cancelled", 0, True)
    assert [e for e, _, _ in repo.events(task_id)] == ["cancelled"]
    with pytest.raises(TaskAlreadyFinished, match=r"later\.wav has already been cancelled"):
        cancel_task(task_id, repo=repo)
    with pytest.raises(TaskNotFound):
        cancel_task("no-such-task", repo=repo)


def test_a_cancelled_running_task_refuses_the_workers_writes(repo: TaskRepo) -> None:
    task_id = _task(repo, "running.wav")
    repo.claim(task_id, "w", stale_before=LONG_AGO)
    repo.report_progress(task_id, "transcribe", 40)
    assert repo.cancel(task_id)
    assert not repo.report_progress(task_id, "transcribe", 50)
    assert not repo.heartbeat(task_id, "w")
    assert not repo.complete(task_id, _result(JFK), worker="w")
    assert not repo.fail(task_id, "late", worker="w")
    task = repo.require(task_id)
    assert (task.status, task.progress, task.result, task.error) == ("cancelled", 40, None, None)
    assert repo.search("country").total == 0
    done = _task(repo, "done.wav", result=_result(JFK))
    assert not repo.cancel(done) and repo.require(done).status == "completed"


def test_the_reaper_leaves_cancelled_tasks_alone(repo: TaskRepo) -> None:
    queued = _task(repo, "queued.wav")
    running = _task(repo, "running.wav")
    repo.claim(running, "dead-worker", stale_before=LONG_AGO)
    with repo.engine.begin() as conn:  # its worker died long ago: the heartbeat is stale
        conn.execute(
            text("UPDATE processing_tasks SET heartbeat_at = :t WHERE id = :id"), {"t": LONG_AGO, "id": running}
        )
    assert repo.cancel(queued) and repo.cancel(running)
    sent: list[str] = []
    report = reap(
        repo, enqueue=lambda task_id, kind: sent.append(task_id), in_broker=set(),
        max_attempts=3, stale_after_s=60, requeue_after_s=0, now=utcnow() + timedelta(hours=1),
    )  # fmt: skip
    assert (report.requeued_stale, report.failed_exhausted, report.resent) == (0, 0, 0) and sent == []
    assert {repo.require(t).status for t in (queued, running)} == {"cancelled"}


# --- what the wait estimate reads ---------------------------------------------------------------


def test_queue_ahead_counts_earlier_queued_tasks_and_their_audio(repo: TaskRepo) -> None:
    first = _task(repo, "a.wav", duration=60.0)
    second = _task(repo, "b.wav", duration=30.0)
    running = _task(repo, "c.wav", duration=500.0)
    third = _task(repo, "d.wav", duration=None)
    mine = _task(repo, "e.wav", duration=10.0)
    repo.claim(running, "w", stale_before=LONG_AGO)
    assert repo.queue_ahead(first).tasks == 0
    ahead = repo.queue_ahead(mine)
    assert (ahead.tasks, ahead.audio_seconds) == (3, 90.0)
    repo.cancel(second)
    assert (repo.queue_ahead(mine).tasks, repo.queue_ahead(mine).audio_seconds) == (2, 60.0)
    assert repo.queue_ahead(third).tasks == 1


def test_recent_runs_measure_audio_and_processing_seconds(repo: TaskRepo) -> None:
    assert repo.recent_runs() == []
    for i, (audio, took) in enumerate([(60.0, 30.0), (30.0, 12.0), (0.0, 5.0)]):
        task_id = _task(repo, f"r{i}.wav", duration=audio, result=_result("x"))
        started = datetime(2026, 1, 1, 12, i, 0, tzinfo=UTC)  # a minute apart
        with repo.engine.begin() as conn:
            conn.execute(
                text("UPDATE processing_tasks SET started_at = :s, completed_at = :c WHERE id = :id"),
                {"s": started, "c": started + timedelta(seconds=took), "id": task_id},
            )
    assert repo.recent_runs() == [(30.0, 12.0), (60.0, 30.0)]  # newest first; a 0 s recording tells nothing
    assert repo.recent_runs(limit=1) == [(30.0, 12.0)]


# --- the migration ---------------------------------------------------------------------------------


def test_migration_indexes_tasks_completed_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _backfill_check(url)


def test_migration_indexes_tasks_completed_before_it_on_postgres() -> None:
    with temporary_database() as url:
        _backfill_check(url)


def _backfill_check(url: str) -> None:
    command.upgrade(alembic_config(url), "0003")  # the schema before search existed
    engine = create_db_engine(url)
    repo = TaskRepo(engine)
    done = repo.create(filename="old.wav", stored_path=None, size_bytes=1, duration=10.0).id
    failed = repo.create(filename="bad.wav", stored_path=None, size_bytes=1, duration=10.0).id
    import json

    with engine.begin() as conn:  # what a worker of that version stored
        conn.execute(
            text("UPDATE processing_tasks SET status = 'completed', result = :r WHERE id = :id"),
            {"r": json.dumps(_result("Good evening.", JERSEY, start=1.5)), "id": done},
        )
        conn.execute(
            text("UPDATE processing_tasks SET status = 'failed', result = :r WHERE id = :id"),
            {"r": json.dumps({"segments": "not a list"}), "id": failed},
        )
    engine.dispose()
    migrate(url)
    repo = TaskRepo(create_db_engine(url))
    hits = repo.search('"new jersey"').hits
    assert [(h.task.id, h.start) for h in hits] == [(done, 6.5)]
    assert repo.search("evening").hits[0].start == 1.5
    repo.engine.dispose()


def test_migration_0004_goes_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cycle.db'}"
    migrate(url)
    command.downgrade(alembic_config(url), "0002")
    engine = create_db_engine(url)
    with engine.connect() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    assert not {n for n in names if "transcript" in n or n == "ix_processing_tasks_listing"}
    engine.dispose()
    migrate(url)
    repo = TaskRepo(create_db_engine(url))
    _task(repo, "again.wav", result=_result(JERSEY))
    assert repo.search("jersey").total == 1


def test_a_very_common_word_comes_most_recently_indexed_first(repo: TaskRepo) -> None:
    from services.store.task_views import SEARCH_COUNT_CAP

    older = _task(repo, "older.wav", result=_result(*(["we said hello"] * (SEARCH_COUNT_CAP // 2 + 1))))
    newer = _task(repo, "newer.wav", result=_result(*(["hello again"] * (SEARCH_COUNT_CAP // 2 + 1))))
    _set_created(repo, newer, utcnow() - timedelta(days=9))  # uploaded first, analysed last
    page = repo.search("hello", sort="newest", limit=3)
    assert page.capped and page.total == SEARCH_COUNT_CAP + 1
    assert [h.task.id for h in page.hits] == [newer] * 3  # its segments were indexed last
    assert page.hits[0].start > page.hits[1].start
    assert not repo.search('"said hello"').capped and repo.search('"said hello"').hits[0].task.id == older
