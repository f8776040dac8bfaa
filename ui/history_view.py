"""Streamlit pieces of the History page: the filter form, the task table with delete, and search hits."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

from services.errors import TaskNotFound
from services.jobs.deletion import delete_task
from services.results.exports import short_clock
from services.storage.files import Storage
from services.store.models import STATUSES
from services.store.task_queries import TaskQueries
from services.store.task_query import SORTS, TaskFilter
from services.store.task_views import SEARCH_COUNT_CAP, SearchPage, TaskView
from services.store.tasks_repo import TaskRepo
from services.store.transcript_index import snippet_pieces
from ui.format import ago, duration_label, highlighted, plain, seconds_param, status_label

TASK_PAGE = "app_pages/task.py"
PAGE_KEY = "history_page"
TABLE_KEY = "history_table"
NOTICE_KEY = "history_notice"


@dataclass(frozen=True)
class Controls:
    """What the person asked for: a search (may be empty), the filters and the order."""

    query: str
    filters: TaskFilter
    sort: str


MAX_SPEAKERS_FILTER = 99
"""The speaker-count filter's upper bound: any count a stored result can have (a re-run may exceed SPEAKER_LIMIT)."""
NO_SELECTION: dict[str, dict[str, list[int]]] = {"selection": {"rows": [], "columns": [], "cells": []}}


def _first_page() -> None:
    # A new search or filter starts at page 1 (and forgets a selection made on the old list).
    # Dropping the key resets the widget to its default page; assigning 1 would make Streamlit warn
    # that the widget has both a default and a value set through session state.
    st.session_state.pop(PAGE_KEY, None)
    st.session_state[TABLE_KEY] = NO_SELECTION


def render_controls(voices: dict[str, str] | None = None) -> Controls:
    """The search box, sort order and filters. Raises ``InvalidOptions`` for an empty range.

    Args:
        voices: the voice library's voices (id -> name) to filter by; None when the library is off.
    """
    search, order = st.columns([3, 1], vertical_alignment="bottom")
    query = search.text_input(
        "Search transcripts",
        key="history_search",
        placeholder='Words, or "an exact phrase"',
        on_change=_first_page,
    )
    sort = order.selectbox(
        "Sort by", list(SORTS), format_func=SORTS.__getitem__, key="history_sort", on_change=_first_page
    )
    with st.expander("Filters"):
        status_col, dates_col = st.columns(2)
        statuses = status_col.multiselect(
            "Status", STATUSES, format_func=status_label, key="history_status", on_change=_first_page, placeholder="Any"
        )
        dates = dates_col.date_input("Uploaded between", value=[], key="history_dates", on_change=_first_page)
        cols = st.columns(4)
        speakers = (
            cols[0].number_input(
                "Speakers, at least", 0, MAX_SPEAKERS_FILTER, None, 1, key="history_min_speakers", on_change=_first_page
            ),
            cols[1].number_input(
                "Speakers, at most", 0, MAX_SPEAKERS_FILTER, None, 1, key="history_max_speakers", on_change=_first_page
            ),
        )
        minutes = (
            cols[2].number_input(
                "Minutes, at least", 0.0, None, None, 1.0, key="history_min_minutes", on_change=_first_page
            ),
            cols[3].number_input(
                "Minutes, at most", 0.0, None, None, 1.0, key="history_max_minutes", on_change=_first_page
            ),
        )
        voice = _voice_choice(voices) if voices else None
    filters = task_filter(statuses, dates, *speakers, *minutes, zone=_browser_zone())
    return Controls(query.strip(), replace(filters, voice_id=voice), sort)


def _voice_choice(voices: dict[str, str]) -> str | None:
    """The voice to filter by (``?voice=<id>`` from the Voices page preselects one)."""
    wanted = st.query_params.get("voice")
    if wanted in voices and "history_voice" not in st.session_state:
        st.session_state["history_voice"] = wanted
    return st.selectbox(
        "Voice (recordings where this person speaks; a search finds only what they said)",
        [None, *voices], format_func=lambda v: "Anyone" if v is None else voices[v], key="history_voice",
        on_change=_first_page,
    )  # fmt: skip


def task_filter(
    statuses: Sequence[str],
    dates: Sequence[date] | date | None,
    min_speakers: int | None,
    max_speakers: int | None,
    min_minutes: float | None,
    max_minutes: float | None,
    *,
    zone: tzinfo,
) -> TaskFilter:
    """The ``TaskFilter`` for the form's values; the days are whole days in the person's time zone."""
    days = [dates] if isinstance(dates, date) else list(dates or ())
    start = datetime.combine(days[0], time(), zone) if days else None
    end = datetime.combine(days[-1] + timedelta(days=1), time(), zone) if days else None
    return TaskFilter(
        statuses=tuple(statuses),
        created_from=start,
        created_before=end,
        min_speakers=int(min_speakers) if min_speakers is not None else None,
        max_speakers=int(max_speakers) if max_speakers is not None else None,
        min_duration=min_minutes * 60 if min_minutes is not None else None,
        max_duration=max_minutes * 60 if max_minutes is not None else None,
    )


def _browser_zone() -> tzinfo:
    try:
        name = st.context.timezone
        if name:
            return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, AttributeError):
        pass
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def render_tasks(repo: TaskRepo, storage: Storage, controls: Controls, page_size: int) -> None:
    """A page of the tasks that pass the filters, in the chosen order, and the pagination below."""
    total = repo.count(filters=controls.filters)
    pages = max(1, -(-total // page_size))
    page = current_page(pages)
    tasks = repo.list_tasks(
        filters=controls.filters, sort=controls.sort, limit=page_size, offset=(page - 1) * page_size
    )
    if not tasks:
        st.info("No task matches these filters.")
        return
    st.caption(f"{total} task{'s' if total != 1 else ''}. Open one from its row; select rows to delete them.")
    render_table(tasks, repo, storage)
    render_pagination(pages)


def render_search(repo: TaskQueries, controls: Controls, page_size: int) -> None:
    """A page of the transcript segments that match the search (within the filters), and the pagination."""
    most = -(-(SEARCH_COUNT_CAP + 1) // page_size)
    page = current_page(most)

    def search(page: int) -> SearchPage:
        return repo.search(
            controls.query, filters=controls.filters, sort=controls.sort, limit=page_size, offset=(page - 1) * page_size
        )

    found = search(page)
    if found.query.empty:
        st.info("Type a word (letters or digits) to search for.")
        return
    pages = max(1, -(-min(found.total, SEARCH_COUNT_CAP) // page_size))
    if page > pages:
        page, found = 1, search(1)
    if not found.total:
        st.info(
            "No transcript matches. Words match from their start (“amer” finds “Americans”); "
            "quotes match an exact phrase."
        )
        return
    if found.capped:
        count = (
            f"More than {SEARCH_COUNT_CAP} matching segments, the most recently analysed first "
            "(too many to sort: add words to narrow the search)"
        )
    else:
        count = f"{found.total} matching segment{'s' if found.total != 1 else ''}"
    st.caption(f"{count}. Each link opens the recording at that moment.")
    render_hits(found)
    render_pagination(pages)


def current_page(pages: int) -> int:
    """The page the pagination widget shows (read before the widget is drawn, below the list)."""
    page = st.session_state.get(PAGE_KEY, 1)
    return page if isinstance(page, int) and 1 <= page <= pages else 1


def render_pagination(pages: int) -> None:
    if pages > 1:
        st.pagination(pages, key=PAGE_KEY)


def render_notice() -> None:
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(plain(notice), icon="🗑️")


def render_table(tasks: Sequence[TaskView], repo: TaskRepo, storage: Storage) -> None:
    """The tasks as a table with an Open link per row; selected rows can be deleted."""
    table = pd.DataFrame(
        {
            "Open": [f"task?task={t.id}" for t in tasks],
            "Recording": [t.recording.filename for t in tasks],
            "Status": [status_label(t.status) for t in tasks],
            "Duration": [duration_label(t.recording.duration) for t in tasks],
            "Speakers": pd.array([t.num_speakers for t in tasks], dtype="Int64"),
            "Uploaded": [ago(t.created_at) for t in tasks],
            "Task": [t.id for t in tasks],
        }
    )
    event = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key=TABLE_KEY,
        width="stretch",
        column_config={"Open": st.column_config.LinkColumn("Open", display_text="Open", width="small")},
    )
    selected = [tasks[row] for row in event.selection.rows if row < len(tasks)]
    if selected:
        n = len(selected)
        st.button(
            f"Delete {n} selected task{'s' if n > 1 else ''}",
            key="history_delete",
            icon=":material/delete:",
            on_click=_delete,
            args=([t.id for t in selected], repo, storage),
            help="Removes the tasks, their results and their stored recordings. This cannot be undone.",
        )
        st.caption(plain("Selected: " + ", ".join(t.recording.filename for t in selected)))


def _delete(task_ids: list[str], repo: TaskRepo, storage: Storage) -> None:
    deleted = []
    for task_id in task_ids:
        with contextlib.suppress(TaskNotFound):  # someone else deleted it a moment ago
            deleted.append(delete_task(task_id, repo=repo, storage=storage).recording.filename)
    st.session_state[TABLE_KEY] = NO_SELECTION  # the old row numbers point at other tasks now
    st.session_state[NOTICE_KEY] = (
        f"Deleted {len(deleted)} task{'s' if len(deleted) != 1 else ''}: {', '.join(deleted)}."
    )


def render_hits(page: SearchPage) -> None:
    """Each matching segment: where it is (a link that opens the task there) and the matching words."""
    for hit in page.hits:
        with st.container(border=True):
            st.page_link(
                TASK_PAGE,
                label=plain(f"{hit.task.recording.filename} · {short_clock(hit.start)}"),
                query_params={"task": hit.task.id, "t": seconds_param(hit.start)},
                icon=":material/play_circle:",
            )
            st.markdown(highlighted(snippet_pieces(hit.snippet)))
            speaker = f"{hit.speaker} · " if hit.speaker else ""
            st.caption(plain(f"{speaker}uploaded {ago(hit.task.created_at)}"))
