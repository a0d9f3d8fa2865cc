"""scanned documents: files stored once, uploads that resume, references from records

Revision ID: 0013_documents
Revises: 0012_encryption_keys
Create Date: 2026-12-05 17:00:00

``hub_file`` (each file once, encrypted with the data key), ``node_file`` (per node and
file: bytes arrived, completion), ``file_part`` (chunks of uploads not yet complete,
encrypted), ``file_ref`` (each stored ``dossier.document_attached`` record).
"""

import sqlalchemy as sa
from alembic import op

from common_io.sqlite import UTCDateTime

revision = "0013_documents"
down_revision = "0012_encryption_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_file",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("box", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "node_file",
        sa.Column("node_id", sa.String(32), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_node_file_waiting", "node_file", ["node_id", "completed_at"])
    op.create_table(
        "file_part",
        sa.Column("node_id", sa.String(32), primary_key=True),
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("offset", sa.BigInteger(), primary_key=True),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("box", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "file_ref",
        sa.Column("node_id", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("dossier_code", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("document", sa.String(64), nullable=False),
        sa.Column("document_name", sa.String(300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_file_ref_dossier_code", "file_ref", ["dossier_code"])
    op.create_index("ix_file_ref_sha256", "file_ref", ["sha256"])


def downgrade() -> None:
    op.drop_table("file_ref")
    op.drop_table("file_part")
    op.drop_table("node_file")
    op.drop_table("hub_file")
