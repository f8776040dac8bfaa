"""search: transcript segments with a full-text index, and indexes for History's filters and sorts

One ``transcript_segments`` row per segment of every completed task (filled here from the stored
results, then by ``TaskLifecycle.complete`` and every correction
(``services.store.edits_repo.reindex``)). The full-text index is
dialect-specific: on SQLite an FTS5 table with external content, kept in step by triggers; on
PostgreSQL a GIN index over ``to_tsvector('simple', text)``. The status ``cancelled`` needs no
change: ``status`` is a plain string column.

SQLite keeps a row's columns in order, and a completed task's result (tens of KB) sits in the
middle, on overflow pages: reading ``created_at`` or ``num_speakers`` of a row walks its whole
result. History's listing therefore reads from ``ix_processing_tasks_listing``, which covers every
column its filters and newest/oldest order need (PostgreSQL keeps large values out of line; it
does not need it). ``ix_processing_tasks_status_completed_at`` finds the latest runs for the
time-left estimate on both.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE transcript_fts USING fts5("
    "text, content='transcript_segments', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER transcript_segments_ai AFTER INSERT ON transcript_segments BEGIN "
    "INSERT INTO transcript_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER transcript_segments_ad AFTER DELETE ON transcript_segments BEGIN "
    "INSERT INTO transcript_fts(transcript_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER transcript_segments_au AFTER UPDATE ON transcript_segments BEGIN "
    "INSERT INTO transcript_fts(transcript_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO transcript_fts(rowid, text) VALUES (new.id, new.text); END",
]

# Existing completed tasks: their stored result's segments, in order (invalid or missing lists skipped).
SQLITE_BACKFILL = """
INSERT INTO transcript_segments (task_id, position, start, "end", speaker, text)
SELECT t.id, CAST(s.key AS INTEGER),
       COALESCE(json_extract(s.value, '$.start'), 0), COALESCE(json_extract(s.value, '$.end'), 0),
       json_extract(s.value, '$.speaker'), COALESCE(json_extract(s.value, '$.text'), '')
FROM processing_tasks AS t,
     json_each(CASE WHEN json_valid(t.result) THEN
                   CASE WHEN json_type(t.result, '$.segments') = 'array' THEN t.result END
               END, '$.segments') AS s
WHERE t.status = 'completed'
ORDER BY t.created_at, t.id, s.key
"""

POSTGRES_BACKFILL = """
INSERT INTO transcript_segments (task_id, position, start, "end", speaker, text)
SELECT t.id, s.ordinality - 1,
       COALESCE((s.value ->> 'start')::float, 0), COALESCE((s.value ->> 'end')::float, 0),
       s.value ->> 'speaker', COALESCE(s.value ->> 'text', '')
FROM processing_tasks AS t
CROSS JOIN LATERAL json_array_elements(
    CASE WHEN json_typeof(t.result -> 'segments') = 'array' THEN t.result -> 'segments' ELSE '[]'::json END
) WITH ORDINALITY AS s(value, ordinality)
WHERE t.status = 'completed'
ORDER BY t.created_at, t.id, s.ordinality
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("speaker", sa.String(255), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_transcript_segments_task_id", "transcript_segments", ["task_id"])
    op.create_index("ix_processing_tasks_status_completed_at", "processing_tasks", ["status", "completed_at"])
    if dialect == "sqlite":
        op.create_index(
            "ix_processing_tasks_listing",
            "processing_tasks",
            ["created_at", "id", "status", "num_speakers", "recording_id"],
        )
        for statement in SQLITE_FTS:
            op.execute(statement)
        op.execute(SQLITE_BACKFILL)  # the insert trigger fills the FTS table
    elif dialect == "postgresql":
        op.execute(POSTGRES_BACKFILL)
        op.execute(
            "CREATE INDEX ix_transcript_segments_fts ON transcript_segments USING GIN (to_tsvector('simple', text))"
        )


def downgrade() -> None:
    op.drop_index("ix_processing_tasks_status_completed_at", "processing_tasks")
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_processing_tasks_listing", "processing_tasks")
        for trigger in ("transcript_segments_ai", "transcript_segments_ad", "transcript_segments_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS transcript_fts")
    op.drop_table("transcript_segments")
