"""cosignatures by a key the hub does not know yet, kept until its rotation record arrives

Revision ID: 0005_key_succession
Revises: 0004_log_break
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0005_key_succession"
down_revision = "0004_log_break"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignature_aside",
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["node_id"], ["node.node_id"]),
        sa.PrimaryKeyConstraint("node_id", "key_id", "size"),
    )


def downgrade() -> None:
    op.drop_table("cosignature_aside")
