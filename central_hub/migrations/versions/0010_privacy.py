"""processing log, erasure of personal data, ID look-up by keyed hash

Revision ID: 0010_privacy
Revises: 0009_node_replace
Create Date: 2026-12-05 11:50:00

``processing_log``: who viewed, exported, disclosed or erased a dossier's personal data at the
hub (officer, time, dossier, action, purpose). ``erasure_run``: the report of each erasure run.
``hub_dossier.personal_erased_at``: when the applicant's data was erased here;
``hub_dossier.id_digest``: a keyed hash of the applicant's ID number for the citizen's rights
look-up (filled for dossiers taken in from this revision on). New tables and NULL columns.
"""

import secrets

import sqlalchemy as sa
from alembic import op

import common_io.sqlite

revision = "0010_privacy"
down_revision = "0009_node_replace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The key of the ID look-up's keyed hash (services/privacy.py), made once here.
    op.execute(
        sa.text("INSERT INTO hub_setting (key, value) VALUES ('lookup_key', :v)").bindparams(
            v=secrets.token_hex(32)
        )
    )
    op.add_column("hub_dossier", sa.Column("id_digest", sa.String(64), nullable=True))
    op.create_index("ix_hub_dossier_id_digest", "hub_dossier", ["id_digest"])
    op.add_column(
        "hub_dossier",
        sa.Column("personal_erased_at", common_io.sqlite.UTCDateTime(), nullable=True),
    )
    op.create_table(
        "processing_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
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
    op.execute("DELETE FROM hub_setting WHERE key = 'lookup_key'")
    op.drop_table("erasure_run")
    op.drop_index("ix_processing_log_officer", table_name="processing_log")
    op.drop_index("ix_processing_log_dossier", table_name="processing_log")
    op.drop_index("ix_processing_log_at", table_name="processing_log")
    op.drop_table("processing_log")
    op.drop_index("ix_hub_dossier_id_digest", table_name="hub_dossier")
    with op.batch_alter_table("hub_dossier") as batch_op:
        batch_op.drop_column("personal_erased_at")
        batch_op.drop_column("id_digest")
