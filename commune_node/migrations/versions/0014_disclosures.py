"""personal data kept apart from the signed log

Revision ID: 0014_disclosures
Revises: 0013_privacy
Create Date: 2026-12-05 12:00:00

``disclosure``: the personal values (with their salts) that version 2 records commit to
under ``data.pd`` instead of carrying them (docs/records.md, "Personal data"). One row per
record and path; erasing a dossier's rows leaves its records verifiable. Records written
before (version 1) keep their values in clear and have no rows here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_disclosures"
down_revision = "0013_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(64), primary_key=True),
        sa.Column("dossier_code", sa.String(64), nullable=True),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
    )
    op.create_index("ix_disclosure_dossier_code", "disclosure", ["dossier_code"])


def downgrade() -> None:
    op.drop_index("ix_disclosure_dossier_code", table_name="disclosure")
    op.drop_table("disclosure")
