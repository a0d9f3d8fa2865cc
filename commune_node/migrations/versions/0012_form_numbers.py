"""yearly register numbers of printed forms

Revision ID: 0012_form_numbers
Revises: 0011_limit_hours
Create Date: 2026-12-05 08:50:00

``form_number``: the number a printed form carries in its header, per form and year (form 02,
the request to supplement, is numbered 1, 2, 3 … from each 1 January). The number is given in
the transaction that appends the record the form prints. A new table and an index on
``event(type, at)``; records written before it (or restored from the hub) are numbered by
their place among that year's records of the same type, and new numbers go on after them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_form_numbers"
down_revision = "0011_limit_hours"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_number",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(2), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.UniqueConstraint("kind", "year", "number"),
    )
    # Counting a year's records of one type (the numbers the chain implies) without a scan.
    op.create_index("ix_event_type_at", "event", ["type", "at"])


def downgrade() -> None:
    op.drop_index("ix_event_type_at", table_name="event")
    op.drop_table("form_number")
