"""damaged records: what the node's repair found and did

Revision ID: 0009_damaged_records
Revises: 0008_intake_keys
Create Date: 2026-12-05 07:40:00

``damaged_record``: one row per record of the node's own chain whose bytes were found
damaged on disk, the bytes kept as found, and the outcome (``restored`` from the hub's copy,
or ``lost`` with a signed ``chain.break`` in its place). A new table only.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0009_damaged_records"
down_revision = "0008_intake_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "damaged_record",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("problem", sa.String(length=500), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("found_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )


def downgrade() -> None:
    op.drop_table("damaged_record")
