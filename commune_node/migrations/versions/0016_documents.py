"""scanned documents of dossiers

Revision ID: 0016_documents
Revises: 0015_list_keyset
Create Date: 2026-12-05 17:00:00

``stored_file``: each scanned document's PDF once, by its SHA-256, inside the (SQLCipher)
database, with the state of its upload to the hub and the hub's file receipt.
``dossier_document``: which dossier and catalogue document a file is, and the
``dossier.document_attached`` record that says so (docs/records.md).
"""

import sqlalchemy as sa
from alembic import op

from common_io.sqlite import UTCDateTime

revision = "0016_documents"
down_revision = "0015_list_keyset"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.Column("receipted_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_stored_file_waiting", "stored_file", ["receipted_at", "created_at"])
    op.create_table(
        "dossier_document",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("document", sa.String(64), nullable=False),
        sa.Column("document_name", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("attached_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ix_dossier_document_dossier_code", "dossier_document", ["dossier_code"])
    op.create_index("ix_dossier_document_sha256", "dossier_document", ["sha256"])


def downgrade() -> None:
    op.drop_table("dossier_document")
    op.drop_table("stored_file")
