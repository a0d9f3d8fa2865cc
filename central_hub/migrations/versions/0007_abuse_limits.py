"""limits on what one commune can make the hub store and send

Revision ID: 0007_abuse_limits
Revises: 0006_web_sessions
Create Date: 2026-12-05 07:40:00

``alert.count`` and ``alert.last_seen``: alerts of one kind about one node are coalesced
into one open row (how many times, and when last). ``node.dead_window_start`` and
``node.dead_window_count``: the dead letters a node had stored in the current hour
(``DEAD_LETTERS_PER_NODE_HOUR``). ``hub_notification.record_id``: the record whose event
the notice tells the citizen about — one notice per event (docs/notifications.md).
Columns only, with defaults: existing rows keep their meaning.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0007_abuse_limits"
down_revision = "0006_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("last_seen", common_io.sqlite.UTCDateTime(), nullable=True))
    with op.batch_alter_table("node") as batch:
        batch.add_column(
            sa.Column("dead_window_start", common_io.sqlite.UTCDateTime(), nullable=True)
        )
        batch.add_column(
            sa.Column("dead_window_count", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("hub_notification") as batch:
        batch.add_column(sa.Column("record_id", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_hub_notification_record_id", "hub_notification", ["record_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_hub_notification_record_id", table_name="hub_notification")
    with op.batch_alter_table("hub_notification") as batch:
        batch.drop_column("record_id")
    with op.batch_alter_table("node") as batch:
        batch.drop_column("dead_window_count")
        batch.drop_column("dead_window_start")
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("last_seen")
        batch.drop_column("count")
