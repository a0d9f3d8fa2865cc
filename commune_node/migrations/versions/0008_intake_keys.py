"""a repeated intake request gives the dossier the first one made

Revision ID: 0008_intake_keys
Revises: 0007_search_indexes
Create Date: 2026-12-05 07:50:00

``intake_key``: the SHA-256 of each intake request's idempotency key, with a digest of the
request and the dossier it made (services/idempotency.py). A new table only.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0008_intake_keys"
down_revision = "0007_search_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_key",
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("created_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_digest"),
    )


def downgrade() -> None:
    op.drop_table("intake_key")
