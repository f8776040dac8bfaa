"""edits: speaker names and merges, corrected segments, artifacts for re-runs, the re-run marker

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _task_id() -> sa.Column:
    return sa.Column(
        "task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True
    )


def upgrade() -> None:
    with op.batch_alter_table("processing_tasks") as batch:
        batch.add_column(sa.Column("rerun", sa.String(32), nullable=True))
    op.create_table(
        "speaker_labels",
        _task_id(),
        sa.Column("speaker_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("merged_into", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "segment_edits",
        _task_id(),
        sa.Column("segment_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("speaker", sa.String(64), nullable=True),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "task_artifacts",
        _task_id(),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("task_artifacts")
    op.drop_table("segment_edits")
    op.drop_table("speaker_labels")
    with op.batch_alter_table("processing_tasks") as batch:
        batch.drop_column("rerun")
