"""replacing a commune laptop, and dossier codes flagged when two citizens' collide

Revision ID: 0009_node_replace
Revises: 0008_portal_outbox
Create Date: 2026-12-05 07:40:00

``enrol_code.replaces``: an enrolment code issued by ``central-hub node replace`` names the
node whose chain the new laptop continues (with a new key). ``node_key.replaced_by``: a key
retired that way names the key of the laptop that replaced it, so the old laptop is told
which one. ``hub_dossier.flag``: a dossier whose code another record tried to create again
(two citizens, one code) is flagged for the officer and the administrator. Plain ADD
COLUMNs: every row stays as it is.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_node_replace"
down_revision = "0008_portal_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("enrol_code", sa.Column("replaces", sa.String(length=32), nullable=True))
    op.add_column("node_key", sa.Column("replaced_by", sa.String(length=32), nullable=True))
    op.add_column("hub_dossier", sa.Column("flag", sa.String(length=300), nullable=True))


def downgrade() -> None:
    for table, column in (
        ("hub_dossier", "flag"),
        ("node_key", "replaced_by"),
        ("enrol_code", "replaces"),
    ):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(column)
