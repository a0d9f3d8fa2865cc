"""records sent back by the communes after a hub restore, and the roots they witnessed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refill_record",
        sa.Column("writer", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.BigInteger(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("offered_by", sa.String(length=32), nullable=False),
        sa.Column("offered_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("writer", "seq"),
        sa.UniqueConstraint("leaf"),
    )
    op.create_table(
        "refill_root",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("size"),
    )


def downgrade() -> None:
    op.drop_table("refill_root")
    op.drop_table("refill_record")
