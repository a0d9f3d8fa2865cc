"""processing log, erasure of personal data

Revision ID: 0013_privacy
Revises: 0012_form_numbers
Create Date: 2026-12-05 11:50:00

``processing_log``: who viewed, printed, exported, disclosed or erased a dossier's personal
data (officer, time, dossier, action, purpose), apart from the signed log. ``erasure_run``: the
report of each erasure run. ``dossier.personal_erased_at``: when a dossier's personal columns
were erased (services/privacy.py). New table rows and a NULL column: no row is rewritten.
"""

import sqlalchemy as sa
from alembic import op

import common_io.sqlite

revision = "0013_privacy"
down_revision = "0012_form_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dossier", sa.Column("personal_erased_at", common_io.sqlite.UTCDateTime(), nullable=True)
    )
    op.create_table(
        "processing_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("dossier_code", sa.String(64), nullable=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(300), nullable=False),
    )
    op.create_index("ix_processing_log_at", "processing_log", ["at", "id"])
    op.create_index("ix_processing_log_dossier", "processing_log", ["dossier_code", "at"])
    op.create_index("ix_processing_log_officer", "processing_log", ["officer", "at"])
    op.create_table(
        "erasure_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("started_at", common_io.sqlite.UTCDateTime(), nullable=False),
        sa.Column("finished_at", common_io.sqlite.UTCDateTime(), nullable=True),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("dossiers", sa.Integer(), nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("milliseconds", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasure_run")
    op.drop_index("ix_processing_log_officer", table_name="processing_log")
    op.drop_index("ix_processing_log_dossier", table_name="processing_log")
    op.drop_index("ix_processing_log_at", table_name="processing_log")
    op.drop_table("processing_log")
    with op.batch_alter_table("dossier") as batch:
        batch.drop_column("personal_erased_at")
