"""The searchable copy of transcripts: one ``transcript_segments`` row per segment, and full-text
search over it in the database's own dialect.

SQLite: the FTS5 table ``transcript_fts`` indexes ``transcript_segments.text`` (external content;
triggers keep it in step, see migration ``0004_search``). PostgreSQL: a GIN index over
``to_tsvector('simple', text)``. Both use word tokens without stemming, so a query finds the same
segments on either. ``TaskLifecycle`` and ``TaskQueries`` call these inside its own transactions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    TextClause,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from services.store.models import TranscriptSegment
from services.store.search_query import SearchQuery

MARK_START, MARK_END = "\ue000", "\ue001"
"""Private-use characters around each matched word in a snippet (never in a transcript)."""
SNIPPET_WORDS = 16
TS_CONFIG = "'simple'"  # a literal, so queries match the GIN index expression exactly

_FTS = table("transcript_fts", column("rowid"))


def segment_rows(task_id: str, segments: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``transcript_segments`` rows for a result's ``segments`` (dicts of the one result schema)."""
    rows = []
    for position, segment in enumerate(segments):
        rows.append(
            {
                "task_id": task_id,
                "position": position,
                "start": float(segment.get("start") or 0.0),
                "end": float(segment.get("end") or 0.0),
                "speaker": segment.get("speaker"),
                "text": str(segment.get("text") or ""),
            }
        )
    return rows


def replace_segments(session: Session, task_id: str, segments: Iterable[Mapping[str, Any]]) -> int:
    """Make the task's searchable segments exactly ``segments``; returns how many there are now."""
    session.execute(delete(TranscriptSegment).where(TranscriptSegment.task_id == task_id))
    rows = segment_rows(task_id, segments)
    if rows:
        session.execute(insert(TranscriptSegment), rows)
    return len(rows)


@dataclass(frozen=True)
class Matcher:
    """The dialect's pieces of a search: where matching segments come from, and the match itself."""

    source: FromClause
    condition: ColumnElement[bool] | TextClause
    recency: ColumnElement[int]
    """The segment's row id: higher means indexed later (completed or edited more recently). The
    full-text index can walk matches in this order and stop after a page."""
    materialize_tasks: bool
    """Whether the filtered tasks should be computed once up front (SQLite: reading a task row walks
    past its large result, so a search reads tasks from the covering listing index instead)."""


def matcher(dialect: str, query: SearchQuery) -> Matcher:
    """The full-text match of ``query`` for ``dialect`` (``sqlite`` or ``postgresql``)."""
    segments = TranscriptSegment.__table__
    if dialect == "sqlite":
        return Matcher(
            source=_FTS.join(segments, segments.c.id == _FTS.c.rowid),
            condition=text("transcript_fts MATCH :fts_query").bindparams(fts_query=query.fts5()),
            recency=_FTS.c.rowid,
            materialize_tasks=True,
        )
    if dialect == "postgresql":
        return Matcher(
            source=segments,
            condition=func.to_tsvector(literal_column(TS_CONFIG), segments.c.text).op("@@")(_tsquery(query)),
            recency=segments.c.id,
            materialize_tasks=False,
        )
    raise NotImplementedError(f"Transcript search supports SQLite and PostgreSQL, not {dialect}.")


def snippets(session: Session, dialect: str, query: SearchQuery, segment_ids: Iterable[int]) -> dict[int, str]:
    """Marked snippets (``MARK_START``/``MARK_END`` around matches) of a page of matching segments.

    Computed only for the segments shown, after the page was chosen: making one is far dearer
    than finding a match.
    """
    ids = list(segment_ids)
    if not ids:
        return {}
    segments = TranscriptSegment.__table__
    if dialect == "sqlite":
        snippet = func.snippet(literal_column("transcript_fts"), 0, MARK_START, MARK_END, "…", SNIPPET_WORDS)
        rows = session.execute(
            select(_FTS.c.rowid, snippet)
            .where(text("transcript_fts MATCH :fts_query").bindparams(fts_query=query.fts5()))
            # FTS5 narrows a match by a rowid range in one pass; it cannot by a list of rowids
            .where(_FTS.c.rowid.between(min(ids), max(ids)), _FTS.c.rowid.in_(ids))
        )
    else:
        options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxFragments=1, MaxWords={SNIPPET_WORDS}, MinWords=10"
        headline = func.ts_headline(literal_column(TS_CONFIG), segments.c.text, _tsquery(query), options)
        rows = session.execute(select(segments.c.id, headline).where(segments.c.id.in_(ids)))
    return {int(row[0]): str(row[1] or "") for row in rows}


def _tsquery(query: SearchQuery) -> ColumnElement[Any]:
    return func.to_tsquery(literal_column(TS_CONFIG), query.tsquery())


def snippet_pieces(snippet: str) -> list[tuple[str, bool]]:
    """``(text, matched)`` pieces of a marked snippet, in order; empty pieces are left out."""
    pieces: list[tuple[str, bool]] = []
    for i, part in enumerate(snippet.split(MARK_START)):
        matched, _, rest = part.partition(MARK_END) if i else ("", "", part)
        if matched:
            pieces.append((matched, True))
        if rest:
            pieces.append((rest, False))
    return pieces
