"""which encryption key each box was sealed to, and each node seals to

Revision ID: 0012_encryption_keys
Revises: 0011_disclosures
Create Date: 2026-12-05 16:30:00

``encryption_key``: the hub's encryption keys (X25519, nodes seal personal data to them),
when each was made, until when it was current, and when its private half was destroyed
(``central-hub encryption-key retire``: by whom, why, forced or not). ``node.sealing_kid``:
the key a node says it seals to, at each request (``sealing=`` in the query), with the time
it said so. ``disclosure.sealed_kid``: the key the box a kept value came in was sealed to
(empty for values kept before this revision and for the hub's own records).
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0012_encryption_keys"
down_revision = "0011_disclosures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "encryption_key",
        sa.Column("kid", sa.String(32), primary_key=True),
        sa.Column("made_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("current_until", common_io.sqlite.UTCDateTime(), nullable=True),
        sa.Column("retired_at", common_io.sqlite.UTCDateTime(), nullable=True),
        sa.Column("retired_by", sa.String(64), nullable=True),
        sa.Column("retire_reason", sa.String(500), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    with op.batch_alter_table("node") as batch:
        batch.add_column(sa.Column("sealing_kid", sa.String(32), nullable=True))
        batch.add_column(sa.Column("sealing_seen_at", common_io.sqlite.UTCDateTime(), nullable=True))
    with op.batch_alter_table("disclosure") as batch:
        batch.add_column(sa.Column("sealed_kid", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disclosure") as batch:
        batch.drop_column("sealed_kid")
    with op.batch_alter_table("node") as batch:
        batch.drop_column("sealing_seen_at")
        batch.drop_column("sealing_kid")
    op.drop_table("encryption_key")
