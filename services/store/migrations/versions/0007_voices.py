"""voices: the voice library (``voices``, ``voice_embeddings``) and each task's prints and suggestions

``voices``: a named person. ``voice_embeddings``: each recording a voice was confirmed in, with the
speaker's print (a 256-float vector, None once the bounded summary dropped it), talk time and share.
``speaker_prints``: each speaker's print in a task (what naming adds to a voice). ``voice_matches``: the
voice suggested for, confirmed for or rejected for a speaker of a task.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "voice_embeddings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("voice_id", sa.String(36), sa.ForeignKey("voices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("speaker_id", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=True),
        sa.Column("talk_seconds", sa.Float, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("heard_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_voice_embeddings_voice_id", "voice_embeddings", ["voice_id"])
    op.create_index("ix_voice_embeddings_task_id", "voice_embeddings", ["task_id"])
    op.create_table(
        "speaker_prints",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("speaker_id", sa.String(64), primary_key=True),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )
    op.create_table(
        "voice_matches",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("speaker_id", sa.String(64), primary_key=True),
        sa.Column("voice_id", sa.String(36), sa.ForeignKey("voices.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("similarity", sa.Float, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_index("ix_voice_matches_voice_id", "voice_matches", ["voice_id"])


def downgrade() -> None:
    op.drop_index("ix_voice_matches_voice_id", "voice_matches")
    op.drop_table("voice_matches")
    op.drop_table("speaker_prints")
    op.drop_index("ix_voice_embeddings_task_id", "voice_embeddings")
    op.drop_index("ix_voice_embeddings_voice_id", "voice_embeddings")
    op.drop_table("voice_embeddings")
    op.drop_table("voices")
