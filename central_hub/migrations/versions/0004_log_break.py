"""declared breaks in the log: a log recovery its administrator closed early

Revision ID: 0004_log_break
Revises: 0003
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0004_log_break"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_break",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_size", sa.BigInteger(), nullable=False),
        sa.Column("given_up_size", sa.BigInteger(), nullable=False),
        sa.Column("at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        sa.Column("kept_checkpoint", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("log_break")
