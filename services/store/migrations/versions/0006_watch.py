"""watch: completion callbacks (``webhook_deliveries``) and the watch folder's files (``watched_files``)

``webhook_deliveries``: one row per task submitted with a ``callback_url``: where to POST its status
when it ends, the attempts so far, when to try next, the last error, and a lease (``claimed_until``)
so that several API processes never post the same end twice at once.

``watched_files``: one row per audio file content (SHA-256) the watch folder has submitted, so a
renamed or moved file is not analysed again, with its task and where its exports went.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(36), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_status", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_done_at", "webhook_deliveries", ["done_at"])
    op.create_table(
        "watched_files",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("task_id", sa.String(36), sa.ForeignKey("processing_tasks.id", ondelete="SET NULL"), nullable=True),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_watched_files_state", "watched_files", ["state"])


def downgrade() -> None:
    op.drop_index("ix_watched_files_state", "watched_files")
    op.drop_table("watched_files")
    op.drop_index("ix_webhook_deliveries_done_at", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
