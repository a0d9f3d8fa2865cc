"""records set aside when a restored node takes its chain back from the hub

Revision ID: 0010_node_restore
Revises: 0009_damaged_records
Create Date: 2026-12-05 07:30:00

A node put back from an older copy may have signed records offline at seq numbers the hub
already holds under other records (the lost copy's). When it takes its chain back from the
hub, those records leave the ``event`` table (the chain is the hub's from there) and are
kept here, byte for byte, with the seq of the record that carries their content again
after the hub's head (``resigned_seq``), or why it could not (``note``). New table only.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0010_node_restore"
down_revision = "0009_damaged_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "superseded_event",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("record", sa.LargeBinary(), nullable=False),
        sa.Column("superseded_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("resigned_seq", sa.Integer(), nullable=True),
        sa.Column("new_code", sa.String(length=64), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("record_id"),
    )


def downgrade() -> None:
    op.drop_table("superseded_event")
