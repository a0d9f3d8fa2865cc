"""the outbox of dossier-sync messages to the national public service portal

Revision ID: 0008_portal_outbox
Revises: 0007_abuse_limits
Create Date: 2026-12-05 07:40:00

``portal_message``: one message per status change the portal must hear about, written in
the transaction of the change, with its delivery state (central_hub/services/portal_outbox.py).
A new table only: nothing that exists is touched.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0008_portal_outbox"
down_revision = "0007_abuse_limits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_message",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("dossier_code", sa.String(length=64), nullable=False),
        sa.Column("leaf", sa.BigInteger(), nullable=False),
        sa.Column("delivery_key", sa.String(length=120), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", common_io.sqlite.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", common_io.sqlite.UTCDateTime(), nullable=True),
        sa.Column("updated_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("portal_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portal_message_dossier_code"), ["dossier_code"], unique=False
        )
        batch_op.create_index(
            "ix_portal_message_state_next", ["state", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_portal_message_dossier_order", ["dossier_code", "leaf", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("portal_message", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_message_dossier_order")
        batch_op.drop_index("ix_portal_message_state_next")
        batch_op.drop_index(batch_op.f("ix_portal_message_dossier_code"))
    op.drop_table("portal_message")
