"""personal data in an erasable, encrypted table

Revision ID: 0011_disclosures
Revises: 0010_privacy
Create Date: 2026-12-05 12:15:00

``disclosure``: the personal values version 2 records commit to, each encrypted with the
hub's data key (``HUB_DATA_KEY`` or ``data.key`` in the instance folder); a dump of the
database alone reveals none of them. ``disclosure_export``: who added a dossier's personal
data to an audit bundle, when and why. ``hub_dossier.applicant_key``: the keyed hash of the
applicant's name, for look-ups; the clear ``applicant_name`` is emptied and no longer
written (the dossier page decrypts the name).
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite  # noqa: F401  (column types used below)

revision = "0011_disclosures"
down_revision = "0010_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosure",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("path", sa.String(64), primary_key=True),
        sa.Column("dossier_code", sa.String(64), nullable=True),
        sa.Column("box", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", common_io.sqlite.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_disclosure_dossier_code", "disclosure", ["dossier_code"])
    op.create_table(
        "disclosure_export",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("values", sa.Integer(), nullable=False),
    )
    op.create_index("ix_disclosure_export_dossier_code", "disclosure_export", ["dossier_code"])
    with op.batch_alter_table("hub_dossier") as batch:
        batch.add_column(sa.Column("applicant_key", sa.String(64), nullable=True))
        batch.create_index("ix_hub_dossier_applicant_key", ["applicant_key"])
    op.execute("UPDATE hub_dossier SET applicant_name = ''")
    with op.batch_alter_table("hub_notification") as batch:  # room for the encrypted address
        batch.alter_column("recipient", type_=sa.String(512), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("hub_notification") as batch:
        batch.alter_column("recipient", type_=sa.String(254), existing_nullable=False)
    with op.batch_alter_table("hub_dossier") as batch:
        batch.drop_index("ix_hub_dossier_applicant_key")
        batch.drop_column("applicant_key")
    op.drop_index("ix_disclosure_export_dossier_code", table_name="disclosure_export")
    op.drop_table("disclosure_export")
    op.drop_index("ix_disclosure_dossier_code", table_name="disclosure")
    op.drop_table("disclosure")
