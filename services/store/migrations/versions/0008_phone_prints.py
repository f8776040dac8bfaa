"""phone prints: each speaker's and each voice exemplar's telephone print beside the plain one

``speaker_prints.phone_vector`` and ``voice_embeddings.phone_vector``: the print of the same speech
band-limited as a telephone line passes it (``services.analysis.phone_band``), so a voice learnt from a
room recording is recognised when the person later calls in. None for prints made before this revision,
for speakers with too little speech in the sampled windows, and for diarizers without embeddings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("speaker_prints", sa.Column("phone_vector", sa.LargeBinary, nullable=True))
    op.add_column("voice_embeddings", sa.Column("phone_vector", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("voice_embeddings") as batch:
        batch.drop_column("phone_vector")
    with op.batch_alter_table("speaker_prints") as batch:
        batch.drop_column("phone_vector")
