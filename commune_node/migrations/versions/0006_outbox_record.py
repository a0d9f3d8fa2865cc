"""each notice names the record of the event it tells the citizen about

Revision ID: 0006_outbox_record
Revises: 0005_web_sessions
Create Date: 2026-12-05 07:40:00

``outbox_message.record_id``: the id of the dossier record whose event called for the
notice. Version 2 of ``notify`` sends it, and the hub builds the notice from that record
(docs/notifications.md). Messages queued before have none: the hub then takes the dossier's
newest event of the notice's kind not told yet.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox_record"
down_revision = "0005_web_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("record_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("record_id")
