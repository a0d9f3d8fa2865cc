"""procedures limited in working hours

Revision ID: 0011_limit_hours
Revises: 0010_node_restore
Create Date: 2026-12-05 08:10:00

``procedure.limit_hours``: the legal limit of a procedure limited in working hours
("4 giờ làm việc"), NULL for one limited in working days. Such a procedure keeps 0 in
``limit_days`` (the column stays NOT NULL: loosening it would mean rebuilding the table that
dossiers point to); the procedure's ``definition`` is what the node reads. A new column only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_limit_hours"
down_revision = "0010_node_restore"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("procedure", sa.Column("limit_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("procedure", "limit_hours")
